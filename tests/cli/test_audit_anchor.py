"""The audit trail cannot be rewritten quietly (issue 13 item 4), on SQLite and PostgreSQL.

Somebody with write access to the database performs the two rewrites the hash chain alone cannot see — cutting
events off the end and resetting ``audit_head``, and editing an event then re-hashing every later one — with raw
SQL and govflow's own (public) hash function. ``govflow audit verify`` must then fail (exit 1) with a message that
says what happened, in Chinese and with ``--lang en`` in English, because the anchors written by
``govflow audit anchor`` and the nightly run sit outside the database, signed with a key the database never held.
A wrong key, a forged or edited anchor line and a weak key in production mode are caught too.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select, text

from govflow.models import audit
from govflow.models.db import make_engine, unit_of_work
from govflow.models.facts import t
from govflow.models.tables import AuditEvent, FlowRun, OutboxMessage

from .harness import Cli


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "anchor.key"
    path.write_text(secrets.token_hex(32) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def anchored(cli: Cli, tmp_path: Path, key_file: Path) -> Cli:
    """``cli`` with an anchor file and key, and a chain of five events (the first user and four more)."""
    cli.env |= {
        "GOVFLOW_ANCHOR_FILE": str(tmp_path / "anchors.jsonl"),
        "GOVFLOW_ANCHOR_KEY_FILE": str(key_file),
    }
    cli("user", "add", "root", "--role", "admin").expect(0)
    add_users(cli, 4)
    return cli


@pytest.fixture
def db(cli: Cli) -> Iterator[Engine]:
    """The attacker's own connection to the database."""
    engine = make_engine(cli.db_url or "")
    yield engine
    engine.dispose()


def add_users(cli: Cli, n: int) -> None:
    """``n`` more audit events."""
    for _ in range(n):
        cli("user", "add", f"clerk{secrets.token_hex(4)}", "--role", "audit", "--as", "root").expect(0)


def anchor_lines(cli: Cli) -> list[dict[str, Any]]:
    path = Path(str(cli.env["GOVFLOW_ANCHOR_FILE"]))
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def chain_alone(db: Engine) -> audit.ChainReport:
    """What the hash chain says without the anchors (the check the attacks defeat)."""
    with unit_of_work(db, write=False) as s:
        return audit.verify(s)


# ---------------------------------------------------------------------------------------------- the attacks


def cut_the_end(db: Engine, keep: int) -> None:
    """Delete every event after ``keep`` and reset the head to the new last one."""
    with db.begin() as c:
        last = c.execute(text("SELECT hash FROM audit_event WHERE seq = :s"), {"s": keep}).scalar_one()
        c.execute(text("DELETE FROM audit_event WHERE seq > :s"), {"s": keep})
        c.execute(text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1"), {"s": keep, "h": last})


def rewrite_and_rehash(db: Engine, seq: int, note: str) -> None:
    """Change one event's note, then recompute its hash and every later one, and the head."""
    events = t(AuditEvent)
    with db.begin() as c:
        rows = [dict(r._mapping) for r in c.execute(select(events).order_by(events.c.seq))]
        prev = audit.GENESIS
        for r in rows:
            if r["seq"] == seq:
                r["note"] = note
            if r["seq"] >= seq:
                r["prev_hash"] = prev
                r["hash"] = audit.event_hash(r["seq"], prev, r["recorded_at"], r)
                c.execute(
                    text("UPDATE audit_event SET note = :n, prev_hash = :p, hash = :h WHERE seq = :s"),
                    {"n": r["note"], "p": r["prev_hash"], "h": r["hash"], "s": r["seq"]},
                )
            prev = r["hash"]
        c.execute(text("UPDATE audit_head SET hash = :h WHERE id = 1"), {"h": prev})


# ---------------------------------------------------------------------------------------------- honest use


def test_an_honest_chain_verifies_against_every_anchor(anchored: Cli) -> None:
    cli = anchored
    first = cli.json("audit", "anchor")
    assert first["seq"] == 5 and first["configured"] is True
    assert cli.json("audit", "verify") | {"anchor_at": None} == {
        "ok": True,
        "checked": 5,
        "first_bad_seq": None,
        "first_bad_id": None,
        "problem": None,
        "anchored": True,
        "anchors": 1,
        "anchor_seq": 5,
        "anchor_at": None,
    }
    add_users(cli, 3)  # events after the anchor: the chain may grow
    assert cli.json("audit", "verify")["ok"] is True
    assert cli.json("audit", "anchor")["seq"] == 8
    report = cli.json("audit", "verify")
    assert (report["ok"], report["checked"], report["anchors"], report["anchor_seq"]) == (True, 8, 2, 8)
    assert [a["seq"] for a in anchor_lines(cli)] == [5, 8]
    said = cli("audit", "verify").expect(0).stdout
    assert "审计链完整：共 8 条事件" in said and "与 2 个锚点相符" in said


def test_the_nightly_run_writes_an_anchor(anchored: Cli, tmp_path: Path) -> None:
    cli = anchored
    result = cli.json("run", "all", "--no-prefect", "--as-of", "2026-11-26")
    step = result["results"]["anchor"]
    assert list(result["results"])[-1] == "anchor"  # last: it covers what the night wrote
    assert step["configured"] is True and step["seq"] == cli.json("audit", "verify")["checked"]
    assert [a["seq"] for a in anchor_lines(cli)] == [step["seq"]]
    assert cli.json("run", "anchor", "--no-prefect")["seq"] == step["seq"]
    assert len(anchor_lines(cli)) == 2


def test_without_an_anchor_file_nothing_is_anchored_and_verify_says_so(cli: Cli) -> None:
    cli("user", "add", "root", "--role", "admin").expect(0)
    assert cli.json("run", "anchor", "--no-prefect") == {"flow": "anchor", "configured": False}
    said = cli("audit", "verify").expect(0).stdout
    assert "尚无锚点" in said and "GOVFLOW_ANCHOR_FILE" in said
    refused = cli("audit", "anchor").expect(2)
    assert "GOVFLOW_ANCHOR_FILE" in refused.stderr


def test_each_anchor_is_sent_to_audit_through_the_outbox(anchored: Cli, db: Engine, tmp_path: Path) -> None:
    cli = anchored
    made = cli.json("audit", "anchor")
    with unit_of_work(db, write=False) as s:
        rows = s.execute(select(t(OutboxMessage))).all()
    notices = [r._mapping for r in rows if r._mapping["topic"] == "audit.anchor"]
    assert len(notices) == 1 and notices[0]["recipients_role"] == "audit"
    payload = notices[0]["payload"]
    assert (payload["seq"], payload["head"], payload["mac"]) == (
        made["seq"],
        made["head"],
        anchor_lines(cli)[0]["mac"],
    )
    assert "审计链锚点" in payload["message"]
    cli.env["GOVFLOW_ANCHOR_NOTIFY"] = "false"
    cli("audit", "anchor").expect(0)
    with unit_of_work(db, write=False) as s:
        assert (
            s.execute(text("SELECT count(*) FROM outbox_message WHERE topic = 'audit.anchor'")).scalar_one()
            == 1
        )


def test_events_appended_while_the_chain_is_walked_are_no_tampering(
    anchored: Cli, db: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The head is read first; a writer that appends (and moves the head) meanwhile is not a head set back."""
    with unit_of_work(db, write=False) as s:
        stale = (3, audit.hashes_at(s, [3])[3])
    real = audit.current_head
    reads = iter([stale])
    monkeypatch.setattr(audit, "current_head", lambda s: next(reads, None) or real(s))
    with unit_of_work(db, write=False) as s:
        report = audit.verify(s)
    assert (report.ok, report.checked) == (True, 3)
    # a head that still reads the same after events beyond it were seen was set back
    with db.begin() as c:
        c.execute(
            text("UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1"), {"s": stale[0], "h": stale[1]}
        )
    report = chain_alone(db)
    assert (report.ok, report.first_bad_seq) == (False, 3) and "实有 5 条" in str(report.problem)


# ---------------------------------------------------------------------------------------------- attacks


def test_cutting_the_end_and_resetting_the_head_is_caught(anchored: Cli, db: Engine) -> None:
    cli = anchored
    cli("audit", "anchor").expect(0)
    cut_the_end(db, keep=3)
    assert chain_alone(db).ok  # the chain alone is fooled
    zh = cli("audit", "verify").expect(1).stdout
    assert "审计链被篡改" in zh and "只有 3 条事件" in zh and "记录了 5 条" in zh and "被删除" in zh
    en = cli("audit", "verify", lang="en").expect(1).stdout
    assert "chain holds 3 events" in en and "recorded 5" in en and "deleted" in en
    report = cli.json("audit", "verify", code=1)
    assert (report["ok"], report["first_bad_seq"]) == (False, 4)


def test_rewriting_an_event_and_rehashing_the_rest_is_caught(anchored: Cli, db: Engine) -> None:
    cli = anchored
    cli("audit", "anchor").expect(0)
    add_users(cli, 2)
    cli("audit", "anchor").expect(0)
    rewrite_and_rehash(db, 2, "nothing happened here")
    assert chain_alone(db).ok
    zh = cli("audit", "verify").expect(1).stdout
    # the first anchor (#5) already disagrees, and the rewrite lies in 1–5
    assert "第 5 号审计事件的哈希" in zh and "第 1–5 号之间的事件被改写" in zh
    en = cli("audit", "verify", lang="en").expect(1).stdout
    assert "audit event #5 does not match the anchor" in en and "rewritten" in en


def test_a_rewrite_after_the_last_matching_anchor_is_located_between_anchors(
    anchored: Cli, db: Engine
) -> None:
    cli = anchored
    cli("audit", "anchor").expect(0)
    add_users(cli, 3)
    cli("audit", "anchor").expect(0)
    rewrite_and_rehash(db, 7, "edited")
    report = cli.json("audit", "verify", code=1)
    assert report["first_bad_seq"] == 8 and "#6 and #8" in cli("audit", "verify", lang="en").stdout


def test_a_broken_chain_is_never_anchored_and_audit_is_alarmed(anchored: Cli, db: Engine) -> None:
    cli = anchored
    cli("audit", "anchor").expect(0)
    cut_the_end(db, keep=4)
    refused = cli("audit", "anchor").expect(1)
    assert "审计链校验未通过，未写入锚点" in refused.stderr
    assert len(anchor_lines(cli)) == 1
    assert "no anchor written" in cli("run", "anchor", "--no-prefect", lang="en").expect(1).stderr
    with unit_of_work(db, write=False) as s:
        alarms = s.execute(
            text("SELECT recipients_role FROM outbox_message WHERE topic = 'alarm.audit_chain'")
        ).all()
    assert [r[0] for r in alarms] == ["audit"]  # once a day


# ---------------------------------------------------------------------------------------------- keys and forgeries


def test_a_wrong_key_is_caught(anchored: Cli, tmp_path: Path) -> None:
    cli = anchored
    cli("audit", "anchor").expect(0)
    other = tmp_path / "other.key"
    other.write_text(secrets.token_hex(32), encoding="utf-8")
    cli.env["GOVFLOW_ANCHOR_KEY_FILE"] = str(other)
    zh = cli("audit", "verify").expect(1).stdout
    assert "不是由所配置的锚点密钥签名的" in zh
    assert "not signed by a configured anchor key" in cli("audit", "verify", lang="en").stdout


def test_a_forged_or_edited_anchor_is_caught(anchored: Cli, db: Engine) -> None:
    cli = anchored
    cli("audit", "anchor").expect(0)
    path = Path(str(cli.env["GOVFLOW_ANCHOR_FILE"]))
    honest = path.read_text(encoding="utf-8")
    # an attacker who cut the chain writes an anchor that agrees with the cut, reusing a signature
    cut_the_end(db, keep=3)
    line = anchor_lines(cli)[0]
    with unit_of_work(db, write=False) as s:
        line |= {"seq": 3, "head": audit.hashes_at(s, [3])[3]}
    path.write_text(json.dumps(line) + "\n", encoding="utf-8")
    assert "签名不符" in cli("audit", "verify").expect(1).stdout
    path.write_text(honest + "not an anchor\n", encoding="utf-8")
    assert "第 2 行不是有效的锚点" in cli("audit", "verify").expect(1).stdout


def test_key_rotation_keeps_old_anchors_verifiable(anchored: Cli, key_file: Path) -> None:
    cli = anchored
    cli("audit", "anchor").expect(0)
    old = key_file.read_text(encoding="utf-8").strip()
    new = secrets.token_hex(32)
    key_file.write_text(f"# signing key first, retired keys below\n{new}\n{old}\n", encoding="utf-8")
    add_users(cli, 1)
    cli("audit", "anchor").expect(0)
    assert len({a["key_id"] for a in anchor_lines(cli)}) == 2
    assert cli.json("audit", "verify")["anchors"] == 2
    key_file.write_text(
        new + "\n", encoding="utf-8"
    )  # the old key dropped: its anchor can no longer be checked
    assert "轮换密钥后旧密钥须留在密钥文件中" in cli("audit", "verify").expect(1).stdout


def test_configuration_errors_name_the_setting(cli: Cli, tmp_path: Path, key_file: Path) -> None:
    cli("user", "add", "root", "--role", "admin").expect(0)
    cli.env["GOVFLOW_ANCHOR_FILE"] = str(tmp_path / "anchors.jsonl")
    assert "GOVFLOW_ANCHOR_KEY_FILE" in cli("audit", "verify").expect(2).stderr
    cli.env["GOVFLOW_ANCHOR_KEY_FILE"] = str(tmp_path / "missing.key")
    assert "无法读取锚点密钥文件" in cli("audit", "anchor").expect(2).stderr
    cli.env["GOVFLOW_ANCHOR_KEY"] = "x" * 40
    cli.env["GOVFLOW_ANCHOR_KEY_FILE"] = str(key_file)
    assert "只能设置其一" in cli("audit", "anchor").expect(2).stderr
    cli.env["GOVFLOW_ANCHOR_FILE"] = str(tmp_path / "no-such-dir" / "anchors.jsonl")
    cli.env["GOVFLOW_ANCHOR_KEY"] = None
    assert "无法写入锚点文件" in cli("audit", "anchor").expect(2).stderr


def test_production_refuses_a_missing_or_placeholder_anchor_key(
    cli: Cli, db: Engine, tmp_path: Path, key_file: Path
) -> None:
    cli("user", "add", "root", "--role", "admin").expect(0)
    events = cli.json("audit", "verify")["checked"]
    cli.env["GOVFLOW_PRODUCTION"] = "1"
    assert "生产模式" in cli("audit", "anchor").expect(2).stderr
    # the nightly run is refused before its first step: nothing swept, nothing recorded
    assert "production mode" in cli("run", "all", "--no-prefect", lang="en").expect(2).stderr
    assert "production mode" in cli("run", "all", lang="en").expect(2).stderr  # before Prefect starts
    cli.env["GOVFLOW_PRODUCTION"] = None
    assert cli.json("audit", "verify")["checked"] == events
    with unit_of_work(db, write=False) as s:
        assert s.execute(select(t(FlowRun).c.id)).first() is None  # no run was even started
    cli.env["GOVFLOW_PRODUCTION"] = "1"
    cli.env["GOVFLOW_ANCHOR_FILE"] = str(tmp_path / "anchors.jsonl")
    for weak in ("change-me-to-the-output-of-openssl-rand-hex-32", "short", "a" * 64):
        cli.env["GOVFLOW_ANCHOR_KEY"] = weak
        assert "随机的锚点密钥" in cli("audit", "anchor").expect(2).stderr
    cli.env["GOVFLOW_ANCHOR_KEY"] = None
    cli.env["GOVFLOW_ANCHOR_KEY_FILE"] = str(key_file)
    assert cli.json("audit", "anchor")["seq"] == 1
    assert cli.json("audit", "verify")["anchors"] == 1
