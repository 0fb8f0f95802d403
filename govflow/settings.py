"""Configuration enters once, at the entry point, and is passed down (no ``os.environ`` deep inside)."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GOVFLOW_", extra="ignore")

    database_url: str = "sqlite:///govflow.db"
    #: local override of the working-day calendar for years the official data does not cover yet
    calendar_file: Path | None = None
    lang: str = "zh"
