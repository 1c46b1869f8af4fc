"""A model used in place from its format 2 file: the mapped tables, and ``MappedTokenNB``.

:func:`load_mapped` makes the scorer's tables (:class:`~spamscore.model.index.ClueTables`)
views of the file's sections (:mod:`spamscore.model.format2`): loading reads the
JSON header and checks the dense table, and nothing else is read until asked
for.  :class:`ClueTokens` gives a clue's token from the mapped UTF-8, and
:class:`LazyIndex` builds the pure-Python path's :class:`~spamscore.model.index.HashIndex`
only if that path runs.  :class:`MappedTokenNB` reads the vocabulary and
counts from the mapping on first use (learning, evaluation, saving).
"""

from __future__ import annotations

import threading

import numpy as np

from ..errors import ModelFormatError
from . import native
from .format2 import MappedFile, check_dense
from .header import FORMAT_VERSION, check_header, decode_vocab, nb_from_header
from .index import ClueTables, HashIndex
from .nb import TokenNB

__all__ = ["load_mapped", "MappedTokenNB", "ClueTokens", "LazyIndex"]


def load_mapped(path: str, feature_version: str) -> tuple["MappedTokenNB", dict]:
    """A format 2 file (:mod:`spamscore.model.format2`): the scorer's tables are views of the mapping."""
    mf = MappedFile(path)
    header = mf.header()
    check_header(path, header, feature_version, FORMAT_VERSION)
    try:
        nb = nb_from_header(header, MappedTokenNB)
        n = int(header["n_clues"])
        n_tokens = int(header["n_tokens"])
        if n < 0 or n_tokens < n:
            raise ValueError(f"{n} clues of {n_tokens} tokens")
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        raise ModelFormatError(f"{path}: damaged model header ({exc.__class__.__name__}: {exc})") from None
    dense = mf.array("dense")
    check_dense(mf, dense, n)
    bloom = mf.array("bloom", HashIndex.BLOOM_BITS // 64)
    tokens = ClueTokens(mf, mf.array("clueoff", n + 1), mf.array("cluestr"))
    log_f, log_1mf, log_odds = (mf.array(name, n) for name in ("cluelf", "cluel1", "cluelo"))
    mf.array("cluerow", n)
    for name in ("spam", "ham"):
        mf.array(name, n_tokens)
    meta = None
    from ..scoring import META_PREFIXES  # (scoring imports this package: imported when used)

    if header.get("meta_prefixes") == sorted(META_PREFIXES):  # (else stale: Model._meta_mask recomputes them)
        meta = mf.array("cluemeta", n)
        if n and int(meta.max()) > 1:
            raise mf.bad("clue meta flags other than 0 and 1")
        meta = meta.view(np.bool_)
    sp = native.speedups
    by_hash = sp is not None and hasattr(sp, "lookup_sums_h")
    scorer = ClueTables(index=LazyIndex(tokens), tokens=tokens, log_f=log_f, log_1mf=log_1mf, log_odds=log_odds,
                        dense=dense if by_hash else None, dense_bloom=bloom if by_hash else None, meta=meta,
                        by_hash=by_hash)
    nb.__dict__["_mapped"] = (mf, n_tokens)
    nb.__dict__["_mapped_scorer"] = scorer  # (TokenNB.tables's place, taken on first use)
    return nb, header


class MappedTokenNB(TokenNB):
    """A :class:`TokenNB` loaded from a format 2 file: it scores with the mapped tables, and reads
    its vocabulary and counts from the mapping only when something asks for them (learning,
    evaluation, saving).  Once it learns (``partial_fit``) it is an ordinary TokenNB with
    counts in memory; pickling gives an ordinary TokenNB."""

    def _load_counts(self) -> None:
        if "_counts_loaded" in self.__dict__:
            return
        mf, n_tokens = self.__dict__["_mapped"]
        spam, ham = mf.array("spam", n_tokens), mf.array("ham", n_tokens)
        if n_tokens and (int(spam.min()) < 0 or int(ham.min()) < 0):
            raise mf.bad("negative counts")
        self.__dict__.setdefault("spam_counts_", spam.astype(np.int64))
        self.__dict__.setdefault("ham_counts_", ham.astype(np.int64))
        self.__dict__["_counts_loaded"] = True

    def _load_vocab(self) -> None:
        if "_vocab_loaded" in self.__dict__:
            return
        mf, n_tokens = self.__dict__["_mapped"]
        self._load_counts()
        try:
            vocab = decode_vocab(mf.array("vocab"))
        except UnicodeDecodeError:
            raise mf.bad("vocabulary is not UTF-8") from None
        if len(vocab) != n_tokens:
            raise ModelFormatError(f"{mf.path}: vocabulary and counts disagree ({len(vocab)} tokens, {n_tokens} counts)")
        if len(set(vocab)) != len(vocab):
            raise ModelFormatError(f"{mf.path}: duplicate tokens in vocabulary")
        self.__dict__.setdefault("_tokens", vocab)
        self.__dict__["_vocab_loaded"] = True

    def __getattr__(self, name):
        # only called for what is not in __dict__: the counts and the learned digests, read on first use
        if name in ("spam_counts_", "ham_counts_") and "_mapped" in self.__dict__ \
                and "_counts_loaded" not in self.__dict__:
            self._load_counts()
            return self.__dict__[name]
        if name == "learned_digests_" and "_mapped" in self.__dict__ and "_digests_loaded" not in self.__dict__:
            self.__dict__["_digests_loaded"] = True
            mf = self.__dict__["_mapped"][0]
            if mf.has("digests"):
                self.__dict__["learned_digests_"] = mf.array("digests").copy()
                return self.__dict__["learned_digests_"]
        raise AttributeError(name)

    @property
    def vocabulary_(self) -> dict[str, int]:
        if "_mapped" in self.__dict__:
            self._load_vocab()
        return TokenNB.vocabulary_.fget(self)

    @vocabulary_.setter
    def vocabulary_(self, value: dict[str, int]) -> None:
        self.__dict__["_vocab_loaded"] = self.__dict__["_counts_loaded"] = True
        TokenNB.vocabulary_.fset(self, value)

    def token_list(self) -> list[str]:
        if "_mapped" in self.__dict__:
            self._load_vocab()
        return TokenNB.token_list(self)

    def __sklearn_is_fitted__(self) -> bool:
        return "_mapped" in self.__dict__ or TokenNB.__sklearn_is_fitted__(self)

    def tables(self) -> ClueTables:
        scorer = self.__dict__.get("_scorer")
        if scorer is not None:   # (every call after the first: four a scored message)
            return scorer
        if "_mapped" in self.__dict__:
            scorer = self.__dict__["_scorer"] = self.__dict__["_mapped_scorer"]  # (the tables are the file's)
            return scorer
        return TokenNB.tables(self)

    def fit(self, X, y) -> "TokenNB":
        self.__dict__.pop("_mapped", None)  # a new vocabulary: the file's is not read
        self.__dict__.pop("_mapped_scorer", None)
        return TokenNB.fit(self, X, y)

    def partial_fit(self, X, y, sample_weight: int = 1) -> "TokenNB":
        if "_mapped" in self.__dict__:
            self._load_vocab()
        TokenNB.partial_fit(self, X, y, sample_weight)
        self.__dict__.pop("_mapped", None)  # the counts in memory are the model now
        self.__dict__.pop("_mapped_scorer", None)
        self.__dict__.pop("_scorer", None)
        return self

    def unmapped(self) -> TokenNB:
        """An ordinary TokenNB with the same parameters and counts (vocabulary and counts read)."""
        nb = TokenNB(**self.get_params())
        nb.adopt_tokens(list(self.token_list()))
        nb.spam_counts_, nb.ham_counts_ = self.spam_counts_, self.ham_counts_
        nb.n_spam_, nb.n_ham_, nb.classes_ = self.n_spam_, self.n_ham_, self.classes_
        digests = getattr(self, "learned_digests_", None)
        if digests is not None:
            nb.learned_digests_ = digests
        return nb

    def __reduce__(self):
        return plain_tokennb, (self.unmapped().__getstate__(),)


def plain_tokennb(state: dict) -> TokenNB:
    """Unpickle a :class:`MappedTokenNB` as the ordinary TokenNB it pickled itself as."""
    nb = TokenNB.__new__(TokenNB)
    nb.__dict__.update(state)
    return nb


class ClueTokens:
    """Clue row -> token, read from the mapped offsets and UTF-8 (a :class:`~spamscore.model.index.ClueRows` stand-in)."""

    __slots__ = ("mf", "off", "blob", "_list", "_lock")

    def __init__(self, mf: MappedFile, off: np.ndarray, blob: np.ndarray):
        self.mf, self.off, self.blob, self._list = mf, off, blob, None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.off) - 1

    def _one(self, i: int) -> str:
        a, b = int(self.off[i]), int(self.off[i + 1])
        if not 0 <= a <= b <= len(self.blob):
            raise self.mf.bad(f"clue string {i} out of range")
        try:
            return self.blob[a:b].tobytes().decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            raise self.mf.bad(f"clue string {i} is not UTF-8") from None

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self._one(j) for j in range(*i.indices(len(self)))]
        i = int(i)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(i)
        return self._one(i)

    def __iter__(self):
        return iter(self.tokens)

    def take(self, idx) -> list[str]:
        """The tokens of clue rows ``idx`` (a verdict's clues, ~15 a message).

        Offsets read for all rows at once and each string decoded from a memoryview slice: the per-row
        path (two numpy scalar reads and a numpy slice a token) was 37% of ``score_features`` (cProfile,
        1,500 SA messages), and more of it on Python 3.12, where calls cost more.  Anything unusual (a
        negative or out-of-range row, damaged offsets or UTF-8) takes the per-row path and its errors."""
        if isinstance(idx, slice):
            return self[idx]
        lst = self._list
        rows = np.asarray(idx)
        if lst is not None:
            return [lst[j] for j in rows.tolist()]
        if rows.size and rows.dtype.kind in "iu" and 0 <= int(rows.min()) and int(rows.max()) < len(self):
            rows = rows.astype(np.int64, copy=False)
            starts, ends = self.off[rows].tolist(), self.off[rows + 1].tolist()
            mv = memoryview(self.blob)
            if all(0 <= a <= b <= len(mv) for a, b in zip(starts, ends)):
                try:
                    return [str(mv[a:b], "utf-8", "surrogatepass") for a, b in zip(starts, ends)]
                except UnicodeDecodeError:
                    pass
        return [self[j] for j in rows.tolist()]

    def top(self, rows: np.ndarray, log_odds: np.ndarray, n: int) -> tuple[list[str], list[float]] | None:
        """The ``n`` clues of ``rows`` with the largest |log-odds| (ties: the lower row first), strongest first,
        as (tokens, weights), in one compiled call (``_speedups.top_clues``); None without the compiled helper
        or on anything unusual: the caller then does it with numpy and :meth:`take` (the reference)."""
        if native.speedups is None:
            return None
        return native.speedups.top_clues(np.ascontiguousarray(rows, dtype=np.int64), log_odds, self.off,
                                         self.blob, n)

    @property
    def tokens(self) -> list[str]:
        """Every clue token, decoded once (the pure path's index, stale meta flags)."""
        if self._list is None:
            with self._lock:
                if self._list is None:
                    data = self.blob.tobytes()
                    off = self.off.tolist()
                    if off and (off[0] != 0 or off[-1] != len(data) or any(b < a for a, b in zip(off, off[1:]))):
                        raise self.mf.bad("clue string offsets out of order")
                    try:
                        self._list = [data[a:b].decode("utf-8", "surrogatepass") for a, b in zip(off, off[1:])]
                    except UnicodeDecodeError:
                        raise self.mf.bad("a clue string is not UTF-8") from None
        return self._list

    @property
    def rows(self) -> np.ndarray:
        return np.arange(len(self), dtype=np.int64)


class LazyIndex:
    """A :class:`~spamscore.model.index.HashIndex` of the clue tokens, built on first use (the pure path)."""

    def __init__(self, tokens: ClueTokens):
        self._tokens, self._index = tokens, None
        self._lock = threading.Lock()

    def _get(self):
        if self._index is None:
            with self._lock:
                if self._index is None:
                    self._index = HashIndex(self._tokens.tokens)
        return self._index

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._get(), name)

    def lookup(self, doc):
        return self._get().lookup(doc)
