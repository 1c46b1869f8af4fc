"""Verdict -> text, JSON and X-Spam-* headers."""

from __future__ import annotations

import json

from .scoring import Verdict

_JSONL = json.JSONEncoder(ensure_ascii=False).encode  # (json.dumps with options: a new encoder per call)

__all__ = ["verdict_text", "verdict_json", "spam_headers"]


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


def spam_headers(v: Verdict, spam_cutoff: float, n_clues: int = 5) -> list[tuple[str, str]]:
    """X-Spam-* headers close to SpamAssassin's conventions."""
    flag = v.label == "spam"
    clues = ",".join(c.feature.replace(",", "_").replace(" ", "_") for c in v.clues[:n_clues])
    out = []
    if flag:
        out.append(("X-Spam-Flag", "YES"))
    out.append(("X-Spam-Score", f"{v.probability:.4f}"))
    out.append(("X-Spam-Status", f"{'Yes' if flag else 'No'}, score={v.probability:.4f} required={spam_cutoff:.4f} "
                                 f"verdict={v.label} clues={clues}"))
    return out
