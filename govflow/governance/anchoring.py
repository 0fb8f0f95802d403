"""Anchoring the audit chain outside the database (issue 13 item 4): the keys and the file from the settings,
writing a checkpoint (``govflow audit anchor`` and the ``anchor`` step of the nightly run), and holding the chain
to the checkpoints when it is verified (every surface of ``audit verify`` goes through :func:`verify`).

The key never enters the database: it comes from ``GOVFLOW_ANCHOR_KEY_FILE`` (first line signs, further lines
are retired keys that still verify older anchors) or ``GOVFLOW_ANCHOR_KEY``. Production mode refuses to run
without an anchor file and a random key. The file format and the checks are :mod:`govflow.models.anchor`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine

from govflow.governance.outbox import enqueue
from govflow.models import anchor, audit
from govflow.models.anchor import Anchor
from govflow.models.db import unit_of_work
from govflow.settings import Settings, weak_secret
from govflow.states.errors import ChainBroken, UsageError
from govflow.states.permissions import Role

if TYPE_CHECKING:  # the lifecycle core calls verify(); importing it here would be circular
    from govflow.lifecycle.core import App

TOPIC = "audit.anchor"
ALARM_TOPIC = "alarm.audit_chain"


@dataclass(frozen=True)
class AnchorSetup:
    """Where anchors go and the keys: ``key`` signs, ``keys`` (by key id) verify."""

    file: Path
    key: str
    keys: dict[str, str]
    notify: bool


def setup(settings: Settings) -> AnchorSetup | None:
    """The anchor configuration, or None when none is set (development only). A half or weak configuration is a
    usage error (exit 2) naming the variable to set."""
    key, key_file = settings.anchor_key, settings.anchor_key_file
    if key is not None and key_file is not None:
        raise UsageError(
            "GOVFLOW_ANCHOR_KEY 与 GOVFLOW_ANCHOR_KEY_FILE 只能设置其一",
            "set GOVFLOW_ANCHOR_KEY or GOVFLOW_ANCHOR_KEY_FILE, not both",
        )
    keys = [key.get_secret_value().strip()] if key is not None else _read_keys(key_file) if key_file else []
    keys = [k for k in keys if k]
    if settings.anchor_file is None:
        if settings.production:
            raise UsageError(
                "生产模式（GOVFLOW_PRODUCTION=1）须设置审计链锚点：GOVFLOW_ANCHOR_FILE（数据库之外的锚点文件）"
                "与 GOVFLOW_ANCHOR_KEY_FILE（锚点密钥文件）",
                "production mode (GOVFLOW_PRODUCTION=1) needs the audit anchor: GOVFLOW_ANCHOR_FILE (an anchor "
                "file outside the database) and GOVFLOW_ANCHOR_KEY_FILE (the anchor key)",
            )
        if keys:
            raise UsageError(
                "已设置锚点密钥，但未设置锚点文件 GOVFLOW_ANCHOR_FILE",
                "an anchor key is set but no anchor file: set GOVFLOW_ANCHOR_FILE",
            )
        return None
    if not keys:
        raise UsageError(
            "已设置锚点文件 GOVFLOW_ANCHOR_FILE，但缺少锚点密钥：请设置 GOVFLOW_ANCHOR_KEY_FILE"
            "（或 GOVFLOW_ANCHOR_KEY），密钥不得存入数据库",
            "GOVFLOW_ANCHOR_FILE is set but there is no anchor key: set GOVFLOW_ANCHOR_KEY_FILE (or "
            "GOVFLOW_ANCHOR_KEY); the key must not live in the database",
        )
    if settings.production and weak_secret(keys[0]):
        raise UsageError(
            "生产模式（GOVFLOW_PRODUCTION=1）须使用随机的锚点密钥（至少 32 个字符，如 openssl rand -hex 32 "
            "的输出），不得使用示例或占位密钥",
            "production mode (GOVFLOW_PRODUCTION=1) needs a random anchor key of at least 32 characters (e.g. "
            "the output of openssl rand -hex 32), not an example or placeholder",
        )
    return AnchorSetup(
        settings.anchor_file, keys[0], {anchor.key_id(k): k for k in keys}, settings.anchor_notify
    )


def _read_keys(path: Path) -> list[str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"无法读取锚点密钥文件 {path}（GOVFLOW_ANCHOR_KEY_FILE）：{exc}",
            f"cannot read the anchor key file {path} (GOVFLOW_ANCHOR_KEY_FILE): {exc}",
        ) from exc
    keys = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if not keys:
        raise UsageError(
            f"锚点密钥文件 {path} 中没有密钥（第一行非注释行为签名密钥）",
            f"the anchor key file {path} holds no key (its first non-comment line signs)",
        )
    return keys


def verify(engine: Engine, settings: Settings) -> audit.ChainReport:
    """The chain on its own, then held to every anchor of the anchor file when one is configured."""
    conf = setup(settings)
    with unit_of_work(engine, write=False) as s:
        report = audit.verify(s)
        if conf is not None:
            report = anchor.check(s, report, anchor.read(conf.file), conf.keys)
    return report


def write(app: App, conf: AnchorSetup | None = None, now: datetime | None = None) -> Anchor:
    """Verify the chain against the anchors so far, then append an anchor of it (and, with ``anchor_notify``,
    a copy to the audit role through the outbox). A chain that does not verify is never anchored: the audit role
    is alarmed and :class:`ChainBroken` raised."""
    conf = conf or setup(app.settings)
    if conf is None:
        raise UsageError(
            "未配置审计链锚点：请设置 GOVFLOW_ANCHOR_FILE 与 GOVFLOW_ANCHOR_KEY_FILE",
            "no audit anchor is configured: set GOVFLOW_ANCHOR_FILE and GOVFLOW_ANCHOR_KEY_FILE",
        )
    at = now or app.clock()
    with unit_of_work(app.engine, write=False) as s:
        report = anchor.check(s, audit.verify(s), anchor.read(conf.file), conf.keys)
        # the anchor signs what was verified, not a head that moved on since
        head = audit.hashes_at(s, [report.checked]).get(report.checked, audit.GENESIS)
    if not report.ok:
        with unit_of_work(app.engine) as s:
            enqueue(
                s,
                f"alarm/audit-chain/{at.date().isoformat()}",
                ALARM_TOPIC,
                Role.AUDIT.value,
                alarm(report, at),
            )
        raise ChainBroken(
            f"审计链校验未通过，未写入锚点：{report.problem}",
            f"the audit chain does not verify, no anchor written: {report.problem_en}",
        )
    made = anchor.sign(conf.key, report.checked, head, at)
    anchor.append(conf.file, made)  # first: a notice never announces an anchor that was not written
    if conf.notify:
        with unit_of_work(app.engine) as s:
            enqueue(s, f"audit/anchor/{made.mac[:32]}", TOPIC, Role.AUDIT.value, notice(made, conf.file))
    return made


def notice(made: Anchor, file: Path) -> dict[str, Any]:
    """The anchor as the audit role receives it: enough to compare with the chain later, without the key."""
    return {
        "message": f"审计链锚点：截至 {made.at.isoformat(timespec='seconds')} 共 {made.seq} 条审计事件",
        "message_en": f"audit chain anchor: {made.seq} audit events as of {made.at.isoformat(timespec='seconds')}",
        "seq": made.seq,
        "head": made.head,
        "at": made.at.isoformat(),
        "key_id": made.key_id,
        "mac": made.mac,
        "file": str(file),
    }


def alarm(report: audit.ChainReport, at: datetime) -> dict[str, Any]:
    return {
        "message": f"审计链校验未通过，未写入锚点：{report.problem}",
        "message_en": f"the audit chain does not verify, no anchor written: {report.problem_en}",
        "first_bad_seq": report.first_bad_seq,
        "raised_at": at.isoformat(),
    }


def run_anchor_once(
    settings: Settings,
    now: datetime | None = None,
    limit: int | None = None,
    prefect_flow_run_id: str | None = None,
) -> dict[str, Any]:
    """The ``anchor`` check of the registry (last in the nightly ``all``), recorded as a flow run: anchor the
    chain when an anchor is configured; without one (development) nothing is written and ``configured`` is
    false. ``limit`` is unused (the registry's signature for an unchunked check)."""
    from govflow.governance.flowruns import recorded_run
    from govflow.governance.scheduling import open_app

    conf = setup(settings)
    with open_app(settings) as app, recorded_run(app, "anchor", None, prefect_flow_run_id) as stats:
        result = {"flow": "anchor", "configured": False}
        if conf is not None:
            result = summary(write(app, conf, now), conf.file)
        stats.update(result)
    return result


def summary(made: Anchor, file: Path) -> dict[str, Any]:
    return {
        "flow": "anchor",
        "configured": True,
        "seq": made.seq,
        "head": made.head,
        "at": made.at.isoformat(),
        "key_id": made.key_id,
        "file": str(file),
    }
