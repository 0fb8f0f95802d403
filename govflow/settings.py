"""Configuration enters once, at the entry point, and is passed down (no ``os.environ`` deep inside)."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GOVFLOW_", extra="ignore")

    database_url: str = "sqlite:///govflow.db"
    #: tests only: a calendar file read on top of the packaged and imported years (production imports a year
    #: into the database with `govflow calendar import`)
    calendar_file: Path | None = None
    #: notification channels per role (YAML, see govflow/data/notify.example.yaml); None: nothing is sent
    notify_file: Path | None = None
    lang: str = "zh"
    #: production mode: refuse placeholder secrets (the session key of the web server, the audit anchor key) and
    #: an audit trail without an anchor; send cookies only over HTTPS
    production: bool = False
    #: from this day of each year (``MM-DD``, Beijing date) the administrator and the program office are warned,
    #: once a day and on their pages, until next year's working-day calendar is imported
    calendar_warn_from: str = "11-01"

    # -- scheduled governance (Prefect; see govflow/governance/checks.py and `govflow schedule`) ----------
    #: the time zone of the cron schedules and of "today" (the ``as_of`` of a scheduled run)
    schedule_tz: str = "Asia/Shanghai"
    #: cron of each deployment in ``schedule_tz`` by check name (and ``all``), from ``GOVFLOW_SCHEDULE_<NAME>``;
    #: "" deploys the check without a schedule (run on demand); a check not named here keeps the default of
    #: its registry entry (``all`` nightly at 01:00, dispatch every five minutes, the others on demand).
    schedules: dict[str, str] = Field(default_factory=dict)
    #: name of the deployments on the Prefect server (``govflow-sweep/<name>`` …): give each installation
    #: that shares one Prefect server its own
    deployment_name: str = "govflow"
    #: projects per Prefect task of the sweep, deadlines and cuts flows
    flow_chunk_size: int = Field(default=2000, ge=1)
    #: chunks run at the same time (1: one after another; raise it only on PostgreSQL)
    flow_chunk_workers: int = Field(default=1, ge=1, le=64)
    #: where the chunks of a run run: ``tasks`` — Prefect tasks inside the run's own process (one machine);
    #: ``deployment`` — each chunk its own flow run of the chunk deployment (``govflow-chunk/<deployment_name>``)
    #: on the work pool, so that every worker of the pool takes a share (``govflow schedule --work-pool``).
    #: ``flow_chunk_workers`` chunks are in flight at once either way.
    flow_chunk_runs: Literal["tasks", "deployment"] = "tasks"
    #: a chunk's flow run that has started (pending or running) but not taken its chunk after this many
    #: seconds is given up and the chunk submitted again (its worker died while starting it)
    flow_chunk_claim_seconds: float = Field(default=300.0, gt=0)

    # -- the audit anchor (see govflow/governance/anchoring.py and `govflow audit anchor`) ----------------
    #: the file of keyed checkpoints of the audit chain, one JSON line each, appended and never rewritten; keep
    #: it outside the database's reach (another disk or host, an append-only mount). None: no anchor
    anchor_file: Path | None = None
    #: the anchor key (``openssl rand -hex 32``); never stored in the database. Prefer ``anchor_key_file``
    anchor_key: SecretStr | None = None
    #: a file holding the anchor key on its first line; further lines are retired keys that only verify older
    #: anchors (key rotation). Give either this or ``anchor_key``
    anchor_key_file: Path | None = None
    #: also send each checkpoint to the audit role through the notification outbox (its configured channels)
    anchor_notify: bool = True

    @field_validator("calendar_warn_from", mode="before")
    @classmethod
    def _month_day(cls, value: Any) -> Any:
        try:
            month, day = (int(x) for x in str(value).strip().split("-"))
            date(2001, month, day)  # not a leap year: a day that every year has
        except ValueError as exc:
            raise ValueError(
                f"GOVFLOW_CALENDAR_WARN_FROM 须为 MM-DD（如 11-01），不是 {value!r} / must be MM-DD such as 11-01"
            ) from exc
        return f"{month:02d}-{day:02d}"

    def warn_from(self, year: int) -> date:
        """The day of ``year`` from which next year's missing working-day calendar is warned about."""
        month, day = (int(x) for x in self.calendar_warn_from.split("-"))
        return date(year, month, day)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _Schedules(settings_cls), dotenv_settings, file_secret_settings)


#: the shortest secret accepted in production mode
MIN_SECRET_LENGTH = 32


def weak_secret(secret: str, placeholders: tuple[str, ...] = ()) -> bool:
    """A secret production must refuse: a shipped placeholder, one that says to change it, too short, or too
    uniform to be random (``openssl rand -hex 32`` passes)."""
    return (
        secret in placeholders
        or "change-me" in secret.lower()
        or len(secret) < MIN_SECRET_LENGTH
        or len(set(secret)) < 8
    )


class _Schedules(PydanticBaseSettingsSource):
    """``GOVFLOW_SCHEDULE_<NAME>`` → ``schedules[name]``, for any check name (the registry decides which exist)."""

    PREFIX = "GOVFLOW_SCHEDULE_"

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        found = {
            key[len(self.PREFIX) :].lower(): value
            for key, value in os.environ.items()
            if key.upper().startswith(self.PREFIX) and key.upper() != "GOVFLOW_SCHEDULE_TZ"
        }
        return {"schedules": found} if found else {}
