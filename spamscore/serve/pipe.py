"""Pipe filter: one raw message in, the same message with X-Spam-* headers out.

The headers are spliced into the message's own bytes (:mod:`spamscore.serve.splice`):
every other byte is copied through unchanged, and our stale markup is cut out.

:func:`filter_message` is the whole fail-safe procedure: whatever goes wrong
(no model, a damaged model, an exception or a timeout while scoring), the
result carries the original bytes unchanged and the reason.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

from ..errors import SpamscoreError
from ..scoring import Model, Verdict
from .headers import spam_headers
from .splice import mark_message

__all__ = ["FilterResult", "EXIT_SPAM", "EXIT_HAM", "EXIT_UNSURE", "EXIT_ERROR", "filter_message",
           "score_with_deadline", "ScoringTimeout"]

# Bogofilter's exit-code convention (used with --exit-code).
EXIT_SPAM, EXIT_HAM, EXIT_UNSURE, EXIT_ERROR = 0, 1, 2, 3
_LABEL_EXIT = {"spam": EXIT_SPAM, "ham": EXIT_HAM, "unsure": EXIT_UNSURE}


class ScoringTimeout(SpamscoreError):
    """Scoring did not finish before its deadline."""


def score_with_deadline(fn: Callable[[], Verdict], timeout: float | None) -> Verdict:
    """Run ``fn`` in a daemon thread; raise ScoringTimeout after ``timeout`` seconds.

    The thread cannot be killed: on a timeout it is abandoned (it is a daemon,
    so it does not keep the process alive).
    """
    if timeout is None or timeout <= 0:
        return fn()
    box: dict = {}

    def run():
        try:
            box["v"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller below
            box["e"] = exc

    t = threading.Thread(target=run, name="spamscore-score", daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise ScoringTimeout(f"scoring took longer than {timeout:g} s")
    if "e" in box:
        raise box["e"]
    return box["v"]


@dataclass(frozen=True)
class FilterResult:
    output: bytes                 # what to write to stdout (the original bytes on any error)
    verdict: Verdict | None       # None on error
    error: str | None = None      # why the message went through unchanged
    timed_out: bool = False

    def exit_code(self, bogofilter: bool = False) -> int:
        """0 for any verdict (or Bogofilter's 0 spam, 1 ham, 2 unsure); 3 on error."""
        if self.error is not None or self.verdict is None:
            return EXIT_ERROR
        return _LABEL_EXIT[self.verdict.label] if bogofilter else 0


def filter_message(raw: bytes, model: Model | Callable[[], Model] | None, *, subject_tag: str | None = None,
                   timeout: float | None = 5.0, n_clues: int = 5) -> FilterResult:
    """Score ``raw`` and mark it; on any failure return it unchanged with the reason.

    ``model`` may be a loaded Model, or a callable that loads one (its errors
    are caught too), or None when loading already failed.
    """
    try:
        if not raw.strip():
            raise SpamscoreError("empty message")
        if model is None:
            raise SpamscoreError("no model")
        m = model if isinstance(model, Model) else model()
        verdict = score_with_deadline(lambda: m.score(raw), timeout)
        headers = spam_headers(verdict, m, n_clues)   # the model: both cut-offs place the points
        tag = subject_tag if verdict.label == "spam" else None
        return FilterResult(mark_message(raw, headers, subject_tag=tag), verdict)
    except ScoringTimeout as exc:
        return FilterResult(raw, None, str(exc), timed_out=True)
    except Exception as exc:  # noqa: BLE001 - mail is never lost: any failure passes it through
        msg = str(exc) if isinstance(exc, SpamscoreError) else f"{type(exc).__name__}: {exc}"
        return FilterResult(raw, None, msg or type(exc).__name__)
