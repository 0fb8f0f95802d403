"""Configuration enters once, at the entry point, and is passed down (no ``os.environ`` deep inside)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GOVFLOW_", extra="ignore")

    database_url: str = "sqlite:///govflow.db"
    #: local override of the working-day calendar for years the official data does not cover yet
    calendar_file: Path | None = None
    #: notification channels per role (YAML, see govflow/data/notify.example.yaml); None: nothing is sent
    notify_file: Path | None = None
    lang: str = "zh"

    # -- scheduled governance (Prefect; see govflow/scheduling.py and `govflow schedule`) ------------------
    #: the time zone of the cron schedules and of "today" (the ``as_of`` of a scheduled run)
    schedule_tz: str = "Asia/Shanghai"
    #: cron of each deployment in ``schedule_tz``; "" deploys the flow without a schedule (run on demand).
    #: The nightly ``all`` runs sweep → deadlines → cuts → dispatch in that order, so the three middle flows
    #: need no schedule of their own; dispatch also runs every five minutes to deliver daytime messages.
    schedule_all: str = "0 1 * * *"
    schedule_sweep: str = ""
    schedule_deadlines: str = ""
    schedule_cuts: str = ""
    schedule_dispatch: str = "*/5 * * * *"
    #: name of the deployments on the Prefect server (``govflow-sweep/<name>`` …): give each installation
    #: that shares one Prefect server its own
    deployment_name: str = "govflow"
    #: projects per Prefect task of the sweep, deadlines and cuts flows
    flow_chunk_size: int = Field(default=2000, ge=1)
    #: chunks run at the same time (1: one after another; raise it only on PostgreSQL)
    flow_chunk_workers: int = Field(default=1, ge=1, le=64)
