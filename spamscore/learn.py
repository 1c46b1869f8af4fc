"""Learning from mistakes: update a trained model in place, one message at a time.

``spamscore learn --spam|--ham PATH... --model M [--forget]`` works like
``sa-learn`` or ``bogofilter -s/-n``: each message's features are added to
(or, with ``--forget``, removed from) the model's document counts with
:meth:`spamscore.model.TokenNB.partial_fit`.

* **No double counting.**  The model remembers a compact digest of every
  message it learned: a sorted ``uint64`` array ``learned_digests`` in the
  model file (an optional array; files without it still load).  A digest is
  a 63-bit BLAKE2b hash of the Message-ID and the normalised body (line
  endings unified, trailing white space dropped), so a message re-delivered
  with other Received headers is the same message; the lowest bit holds the
  label it was learned with.  Learning a message again with the same label
  does nothing; with the other label it moves the counts (like ``sa-learn``).
  ``--forget`` removes only messages that were learned with that label.
  Messages of the original training set are not in the digest list.
* **Calibration and cut-offs stay those of training.**  Learning changes the
  counts, not the Platt calibration or the cut-offs; retrain (``spamscore
  train``) to recalibrate after much learning.
* **Safe.**  The read-modify-write runs under an exclusive ``fcntl.flock`` on
  a sidecar ``MODEL.lock``, and the model is written atomically (temporary
  file, then rename), so concurrent learners and scorers never see a
  half-written model and no update is lost.  The lock file is removed when
  the learner is done, which is safe only with care: a learner waiting on
  the old file would otherwise lock a file nobody else sees, while a third
  creates a new one.  So the holder unlinks the file *before* it releases the
  lock, and a learner that gets the lock checks that the file it locked is
  still the one at ``MODEL.lock`` (same device and inode); if not, it
  starts again on the new one (the usual protocol for removable lock files).
  Learners of releases that kept the file for good do not check: do not mix
  them with this one on the same model.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import os
import re
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from .calibration import OVERALL_CLUES, statistics_from_sums
from .errors import InputError, ModelError
from .model import TokenNB, cap_clues, clue_sums, clue_tables
from .scoring import load_model

__all__ = ["message_digest", "learn_messages", "LearnResult", "model_lock", "online_statistics"]

_MID = re.compile(rb"^message-id[ \t]*:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)
_SEP = re.compile(rb"\r?\n\r?\n")
# Trailing white space of a line: only at the start of a run (the look-behind), so a run of n
# blanks not followed by a line end costs O(n) once, not O(n) at each of its n starts.  The
# plain ``[ \t\r]+$`` took 5.6 s on 20 KB of spaces then ``x`` (86 s on 100 KB): anyone who
# could mail us could make ``learn`` burn a core (issue 14).  Same matches, so the same digests.
_TRAIL = re.compile(rb"(?<![ \t\r])[ \t\r]++$", re.MULTILINE)
_MASK = np.uint64(0xFFFF_FFFF_FFFF_FFFE)


def message_digest(raw: bytes) -> int:
    """A 64-bit digest of the Message-ID and the normalised body; its lowest bit is 0."""
    m = _SEP.search(raw)
    head, body = (raw[: m.start()], raw[m.end():]) if m else (raw, b"")
    mid = _MID.search(head)
    msgid = b" ".join(mid.group(1).split()).lower() if mid else b""
    body = _TRAIL.sub(b"", body.replace(b"\r\n", b"\n")).rstrip(b"\n")
    h = hashlib.blake2b(digest_size=8, person=b"spamscore-learn")
    h.update(len(msgid).to_bytes(4, "big") + msgid + body)
    return int.from_bytes(h.digest(), "big") & 0xFFFF_FFFF_FFFF_FFFE


@dataclass
class LearnResult:
    learned: int = 0        # newly counted
    relearned: int = 0      # had been learned with the other label: moved
    forgotten: int = 0      # removed (--forget)
    skipped: int = 0        # already learned with this label (or, with --forget, never learned with it)
    errors: list[tuple[str, str]] = field(default_factory=list)
    n_spam: int = 0
    n_ham: int = 0

    @property
    def changed(self) -> int:
        return self.learned + self.relearned + self.forgotten


@contextmanager
def model_lock(model_path: str | os.PathLike, timeout: float = 120.0):
    """An exclusive ``flock`` on ``MODEL.lock``, waited for at most ``timeout`` seconds; the file is
    removed on the way out (see the module docstring for why that is safe)."""
    lock_path = os.fspath(model_path) + ".lock"
    deadline = time.monotonic() + timeout
    fd = _lock_file(lock_path, deadline, timeout)
    try:
        yield
    finally:
        try:  # unlink while still holding the lock: a waiter on this file will see it is gone
            os.unlink(lock_path)
        except OSError:
            pass  # a read-only folder, or already gone: the lock still works, the file stays
        os.close(fd)   # closing releases the lock


def _lock_file(lock_path: str, deadline: float, timeout: float) -> int:
    """A descriptor of ``lock_path`` holding its exclusive lock, the file still being at that path."""
    while True:
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ModelError(f"{lock_path}: cannot open the lock file ({exc.strerror or exc})") from None
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as exc:
                    if exc.errno not in (errno.EAGAIN, errno.EACCES):
                        raise ModelError(f"{lock_path}: cannot lock ({exc.strerror or exc})") from None
                    if time.monotonic() > deadline:
                        raise ModelError(f"{lock_path}: still locked by another learner after {timeout:.0f}s"
                                         ) from None
                    time.sleep(0.02)
            try:
                st = os.stat(lock_path)
            except FileNotFoundError:
                st = None
            mine = os.fstat(fd)
            if st is not None and (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino):
                return fd
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # the previous holder removed the file we waited on: lock the current one


def _apply(nb: TokenNB, feats_of, items: Iterable[tuple[str, bytes | None, str | None]], spam: bool,
           forget: bool, result: LearnResult) -> None:
    """Update ``nb`` (counts and ``learned_digests_``) with the messages of ``items``."""
    label = 1 if spam else 0
    known = set(np.asarray(getattr(nb, "learned_digests_", np.zeros(0, np.uint64)), dtype=np.uint64).tolist())
    add: list[list[str]] = []         # counted with +1 under `label`
    remove_same: list[list[str]] = []  # -1 under `label`
    remove_other: list[list[str]] = []  # -1 under the other label
    for path, raw, error in items:
        if raw is None:
            result.errors.append((path, error or "unreadable"))
            continue
        d = message_digest(raw)
        same, other = d | label, d | (1 - label)
        if forget:
            if same in known:
                known.discard(same)
                remove_same.append(feats_of(raw))
                result.forgotten += 1
            else:
                result.skipped += 1
            continue
        if same in known:
            result.skipped += 1
            continue
        feats = feats_of(raw)
        if other in known:
            known.discard(other)
            remove_other.append(feats)
            result.relearned += 1
        else:
            result.learned += 1
        known.add(same)
        add.append(feats)
    # removals first: their tokens are in the vocabulary already
    if remove_other:
        nb.partial_fit(remove_other, [1 - label] * len(remove_other), sample_weight=-1)
    if remove_same:
        nb.partial_fit(remove_same, [label] * len(remove_same), sample_weight=-1)
    if add:
        nb.partial_fit(add, [label] * len(add), sample_weight=1)
    nb.learned_digests_ = np.array(sorted(known), dtype=np.uint64)
    result.n_spam, result.n_ham = int(nb.n_spam_), int(nb.n_ham_)


def learn_messages(model_path: str | os.PathLike, items: Iterable[tuple[str, bytes | None, str | None]], *,
                   spam: bool, forget: bool = False, trusted_authserv_ids: Iterable[str] = (),
                   lock_timeout: float = 120.0) -> LearnResult:
    """Learn (or forget) ``items`` = ``(name, raw bytes or None, error)`` as spam or ham, in place.

    The model file is read, updated and written atomically under an exclusive
    lock; it is left untouched when nothing changed.
    """
    if not isinstance(spam, bool):
        raise InputError(f"expected spam=True or False, got {spam!r}")
    result = LearnResult()
    with model_lock(model_path, lock_timeout):
        model = load_model(model_path, trusted_authserv_ids=trusted_authserv_ids)
        _apply(model.nb, model.features, items, spam, forget, result)
        if result.changed:
            model.save(model_path)
    return result


# ----------------------------------------------------------------------------
# scoring a model that changes after every message (online evaluation)


def online_statistics(nb: TokenNB, feats: Iterable[str], overall_clues: float = OVERALL_CLUES) -> tuple[float, float, float]:
    """``(logit I, z, S)`` as :meth:`spamscore.scoring.Model.evidence`, from the counts directly.

    ``Model.statistics`` builds lookup tables over the whole vocabulary once
    and reuses them; after every ``partial_fit`` they would be rebuilt.  This
    computes f(w) for the message's own tokens only, with the same arithmetic,
    so the result is the same to the last bit (tests/test_learn.py checks it).
    """
    vocab = nb.vocabulary_
    toks = [t for t in set(feats) if t in vocab]
    if not toks:
        return 0.0, 0.0, 0.0
    idx = np.fromiter((vocab[t] for t in toks), dtype=np.int64, count=len(toks))
    f = nb.token_probabilities(idx)
    log_f, log_1mf, log_odds = clue_tables(f)
    clues = cap_clues(np.flatnonzero(nb.strong_mask(f, idx)), log_odds, nb.max_clues)
    return statistics_from_sums(clue_sums(clues, log_f, log_1mf, None), 0.0, families=False,
                                overall_clues=overall_clues)[:3]


def iter_raw(items) -> Iterator[tuple[str, bytes | None, str | None]]:
    """``(path, raw, error)`` from :class:`spamscore.corpus.Item` records."""
    for it in items:
        yield it.path, it.raw, it.error
