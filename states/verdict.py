"""Explained verdicts: a guard or rule answers with reasons people can read, never a bare bool."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

DOC = "733号文"


def clause(article: str, paragraph: str = "") -> str:
    """Cite a clause of the guidance in the document's own words, e.g. ``733号文 第十条第二款``."""
    return f"{DOC} {article}{paragraph}"


@dataclass(frozen=True)
class Reason:
    """One unmet condition: a stable code, the clause it rests on, and a message in zh-CN and English.

    ``path`` locates the offending input (``projects[3].catalog[2].share_type``) when the reason is about a
    document or file row rather than about the state of a project.
    """

    code: str
    clause: str
    message: str
    message_en: str
    path: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    def text(self, lang: str = "zh") -> str:
        return self.message_en if lang == "en" else self.message

    def to_dict(self, lang: str = "zh") -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "clause": self.clause, "message": self.text(lang)}
        if self.path is not None:
            out["path"] = self.path
        if self.detail:
            out["detail"] = self.detail
        return out


@dataclass(frozen=True)
class Verdict:
    """The answer of a guard: ok when there is no reason to refuse."""

    reasons: tuple[Reason, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.reasons

    @classmethod
    def of(cls, reasons: list[Reason]) -> Verdict:
        return cls(tuple(reasons))
