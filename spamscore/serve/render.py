"""A verdict as ``spamscore score`` writes it: a tab-separated text line, a JSON object, a JSON line.

Clues come from the message, so the text line escapes what a terminal or a
log would act on (:func:`printable`).
"""

from __future__ import annotations

import json

from ..scoring import Verdict

__all__ = ["printable", "verdict_text", "verdict_json", "verdict_jsonl"]

_JSONL = json.JSONEncoder(ensure_ascii=False).encode  # (json.dumps with options: a new encoder per call)


def printable(text: str) -> str:
    """Escape control, bidi-override and other non-printable characters (a
    clue comes from the message: it must not drive a terminal or a log)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def _clue_str(v: Verdict, n: int) -> str:
    return ", ".join(f"{printable(c.feature)}({c.weight:+.2f})" for c in v.clues[:n])


def verdict_text(path: str, v: Verdict, n_clues: int = 5) -> str:
    return f"{printable(path)}\t{v.label}\t{v.probability:.6f}\t{_clue_str(v, n_clues)}"


def verdict_json(path: str | None, v: Verdict, n_clues: int | None = 15) -> dict:
    d = v.to_dict(n_clues)
    return {"path": path, **d} if path is not None else d


def verdict_jsonl(path: str, v: Verdict, n_clues: int | None = 15) -> str:
    return _JSONL(verdict_json(path, v, n_clues))
