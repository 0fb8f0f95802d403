"""Keyed checkpoints of the audit chain, kept outside the database (the anchor file).

The hash chain (:mod:`govflow.models.audit`) shows an edit only to someone who cannot re-hash: whoever can write to
the database can cut events off the end and reset ``audit_head``, or edit an event and re-hash every later one,
and the chain verifies again. An *anchor* is a checkpoint of the chain — its length, its head hash and the time —
signed with HMAC-SHA256 under a key the database never holds, and appended as one JSON line to a file the
database cannot reach. :func:`check` then holds the chain to every anchor: each signature must verify under a
configured key, and the chain must still hold, at each anchored position, the hash the anchor recorded. A cut
leaves the chain shorter than an anchor; a rewrite changes the hash at every later anchored position.

What no anchor can see: events written after the newest anchor and then removed. Anchor as often as that window
matters (the nightly run does, ``govflow audit anchor`` does at any time).
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlmodel import Session

from govflow.models import audit
from govflow.states.errors import UsageError

#: the version of the line format and of the signed message
FORMAT = "govflow-audit-anchor/1"


@dataclass(frozen=True)
class Anchor:
    """One checkpoint: the chain held ``seq`` events and its head hash was ``head`` at ``at``."""

    seq: int
    head: str
    at: datetime
    key_id: str
    mac: str

    def to_line(self) -> str:
        body = {
            "v": FORMAT,
            "seq": self.seq,
            "head": self.head,
            "at": self.at.isoformat(),
            "key_id": self.key_id,
        }
        return json.dumps(body | {"mac": self.mac}, separators=(",", ":"))


def key_id(key: str) -> str:
    """A short name of a key (a hash of it, not the key): tells which key signed an anchor, for key rotation."""
    return hashlib.sha256(b"govflow-anchor-key-id\0" + key.encode()).hexdigest()[:16]


def _mac(key: str, seq: int, head: str, at: str, kid: str) -> str:
    message = f"{FORMAT}\n{seq}\n{head}\n{at}\n{kid}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def sign(key: str, seq: int, head: str, at: datetime) -> Anchor:
    at = at.astimezone(UTC)
    kid = key_id(key)
    return Anchor(seq, head, at, kid, _mac(key, seq, head, at.isoformat(), kid))


def signed_by(anchor: Anchor, key: str) -> bool:
    expected = _mac(key, anchor.seq, anchor.head, anchor.at.isoformat(), anchor.key_id)
    return hmac.compare_digest(expected, anchor.mac)


def append(path: Path, anchor: Anchor) -> None:
    """Add one line to the anchor file (created if missing, never rewritten), flushed to disk before returning.

    ``O_APPEND`` and an exclusive lock keep lines whole when two writers meet; the operator may make the file
    append-only (``chattr +a``) so that this is the only way it can change."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    except OSError as exc:
        raise _unwritable(path, exc) from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, (anchor.to_line() + "\n").encode())
        os.fsync(fd)
    except OSError as exc:
        raise _unwritable(path, exc) from exc
    finally:
        os.close(fd)


def _unwritable(path: Path, exc: OSError) -> UsageError:
    return UsageError(
        f"无法写入锚点文件 {path}（GOVFLOW_ANCHOR_FILE）：{exc.strerror or exc}",
        f"cannot write the anchor file {path} (GOVFLOW_ANCHOR_FILE): {exc.strerror or exc}",
    )


@dataclass(frozen=True)
class Line:
    """One line of the anchor file: its anchor, or why it is not one."""

    number: int
    anchor: Anchor | None
    error: str | None = None


def read(path: Path) -> list[Line]:
    """The anchors of the file in file order (none when the file does not exist yet); blank lines skipped."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"无法读取锚点文件 {path}（GOVFLOW_ANCHOR_FILE）：{exc}",
            f"cannot read the anchor file {path} (GOVFLOW_ANCHOR_FILE): {exc}",
        ) from exc
    return [_parse(n, raw) for n, raw in enumerate(text.splitlines(), start=1) if raw.strip()]


def _parse(number: int, raw: str) -> Line:
    try:
        body: Any = json.loads(raw)
        if not isinstance(body, dict) or body.get("v") != FORMAT:
            return Line(number, None, "unknown format")
        at = datetime.fromisoformat(str(body["at"]))
        seq, head, kid, mac = body["seq"], body["head"], body["key_id"], body["mac"]
        if type(seq) is not int or seq < 0 or at.tzinfo is None:
            return Line(number, None, "bad seq or time")
        if not all(isinstance(v, str) for v in (head, kid, mac)):
            return Line(number, None, "bad field")
        return Line(number, Anchor(seq, head, at.astimezone(UTC), kid, mac))
    except (ValueError, KeyError, TypeError) as exc:
        return Line(number, None, type(exc).__name__)


def check(
    session: Session, chain: audit.ChainReport, lines: Iterable[Line], keys: Mapping[str, str]
) -> audit.ChainReport:
    """Hold a chain that verifies on its own to every anchor of the file (``keys``: key by :func:`key_id`).

    The first anchor that is unreadable, signed by no configured key, wrongly signed, longer than the chain or
    at odds with its hash makes the report fail, naming the anchor's line and what the mismatch means."""
    if not chain.ok:
        return chain
    good: list[tuple[int, Anchor]] = []
    for line in lines:
        a, n = line.anchor, line.number
        if a is None:
            return _broken(
                chain,
                None,
                f"锚点文件第 {n} 行不是有效的锚点：锚点被伪造或锚点文件被改动",
                f"line {n} of the anchor file is not an anchor: it was forged or the file was edited",
            )
        key = keys.get(a.key_id)
        if key is None:
            return _broken(
                chain,
                None,
                f"锚点文件第 {n} 行的锚点不是由所配置的锚点密钥签名的（密钥编号 {a.key_id}）：锚点密钥配置错误，"
                "或锚点被伪造；轮换密钥后旧密钥须留在密钥文件中",
                f"the anchor on line {n} of the anchor file was not signed by a configured anchor key (key id "
                f"{a.key_id}): the anchor key is wrong or the anchor was forged; after a key rotation the old key "
                "must stay in the key file",
            )
        if not signed_by(a, key):
            return _broken(
                chain,
                None,
                f"锚点文件第 {n} 行的锚点签名不符：锚点被伪造或改动",
                f"the signature of the anchor on line {n} of the anchor file does not match: the anchor was "
                "forged or edited",
            )
        good.append((n, a))
    hashes = audit.hashes_at(session, {a.seq for _, a in good if 0 < a.seq <= chain.checked})
    matched = 0  # the longest anchored position the chain still fits: a rewrite lies after it
    for n, a in sorted(good, key=lambda item: item[1].seq):
        when = a.at.isoformat(timespec="seconds")
        if a.seq > chain.checked:
            return _broken(
                chain,
                chain.checked + 1,
                f"审计链只有 {chain.checked} 条事件，而 {when} 的锚点（锚点文件第 {n} 行）记录了 {a.seq} 条："
                f"第 {chain.checked + 1}–{a.seq} 号事件被删除，链首被重置",
                f"the chain holds {chain.checked} events but the anchor of {when} (line {n} of the anchor file) "
                f"recorded {a.seq}: events #{chain.checked + 1}–#{a.seq} were deleted and the head reset",
            )
        if hashes.get(a.seq, audit.GENESIS) != a.head:
            return _broken(
                chain,
                a.seq,
                f"第 {a.seq} 号审计事件的哈希与 {when} 的锚点（锚点文件第 {n} 行）不符：第 {matched + 1}–{a.seq} "
                "号之间的事件被改写，其后的哈希被重新计算",
                f"audit event #{a.seq} does not match the anchor of {when} (line {n} of the anchor file): an "
                f"event between #{matched + 1} and #{a.seq} was rewritten and the hashes after it recomputed",
            )
        matched = a.seq
    latest = max((a for _, a in good), key=lambda a: (a.seq, a.at), default=None)
    return replace(
        chain,
        anchors=len(good),
        anchor_seq=latest.seq if latest else None,
        anchor_at=latest.at if latest else None,
    )


def _broken(chain: audit.ChainReport, seq: int | None, zh: str, en: str) -> audit.ChainReport:
    return replace(chain, ok=False, first_bad_seq=seq, first_bad_id=None, problem=zh, problem_en=en)
