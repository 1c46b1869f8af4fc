"""``TokenNB``: the counts-and-clues estimator (Robinson's naive Bayes over sets of string features).

Training is counting.  For every feature we keep in how many spam and how
many ham messages it occurred (binary document counts, like scikit-learn's
``BernoulliNB.feature_count_``).  Each token's spam probability
``p(w) = (b/nb) / (b/nb + g/ng)`` is shrunk towards a prior ``x`` with
strength ``s``: ``f(w) = (s*x + n*p(w)) / (s + n)``, with ``n = b + g``
(:meth:`TokenNB.token_probabilities`; the priors: :mod:`spamscore.model.priors`),
and only tokens with ``|f(w) - 0.5| >= min_dev`` count (the clues:
:meth:`TokenNB.strong_mask`).  A document's clues are found in the tables of
:mod:`spamscore.model.index` (:meth:`TokenNB.clue_rows`) and summed with
:func:`spamscore.model.stats.clue_sums`.

TokenNB does not rank messages itself: the shipped ranking is
``spamscore.scoring.Model``'s calibrated statistics of these clues (one
ranking of a model, issue 17).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence

import numpy as np

from ..errors import ModelError
from . import native
from .index import ClueRows, ClueTables, HashIndex, dense_table
from .priors import DEFAULT_PRIORS, cjk_flags
from .stats import cap_clues, clue_sums, clue_tables

__all__ = ["TokenNB", "as_labels", "check_is_fitted"]


def as_labels(y) -> np.ndarray:
    """Labels as an int8 array of 1 (spam) and 0 (ham), from 'spam'/'ham' or 1/0 (ValueError on others)."""
    arr = np.asarray(list(y) if not isinstance(y, np.ndarray) else y)
    if arr.dtype.kind in "UO":
        bad = set(arr.tolist()) - {"spam", "ham"}
        if bad:
            raise ValueError(f"expected labels 'spam' or 'ham', got {sorted(bad)[:3]}")
        return (arr == "spam").astype(np.int8)
    if arr.size and not np.isin(arr, (0, 1)).all():
        raise ValueError("expected labels 0 (ham) / 1 (spam)")
    return arr.astype(np.int8)


def check_is_fitted(est, attribute: str) -> None:
    """scikit-learn's check, without importing scikit-learn (1.4 s of start-up)."""
    fitted = est.__sklearn_is_fitted__() if hasattr(est, "__sklearn_is_fitted__") else hasattr(est, attribute)
    if not fitted:
        raise ModelError(f"expected a fitted {type(est).__name__}, got one without {attribute}: call fit first")


class TokenNB:
    """Robinson naive Bayes over sets of string features.

    ``X`` is a sequence of documents, each an iterable of feature strings
    (duplicates are counted once); ``y`` holds 1/'spam' or 0/'ham'.

    A scikit-learn-style estimator: parameters are keyword-only and only
    stored, ``get_params``/``set_params`` make it clonable, learned state ends
    in ``_``, ``fit`` returns self.  It does not inherit from
    ``sklearn.base.BaseEstimator`` only because importing scikit-learn costs
    1.4 s, and the pipe filter starts once per message.  It counts and finds
    clues; it has no ``decision_function``/``predict``: the model that ranks
    and labels messages is ``spamscore.scoring.Model`` (its calibrated
    statistics of these clues are the shipped score).
    """

    _PARAMS = ("s", "x", "min_dev", "max_clues", "priors", "text_min_dev", "cjk_s", "young")

    def get_params(self, deep: bool = True) -> dict:
        return {name: getattr(self, name) for name in self._PARAMS}

    def set_params(self, **params) -> "TokenNB":
        for name, value in params.items():
            if name not in self._PARAMS:
                raise ValueError(f"expected a parameter of TokenNB {self._PARAMS}, got {name!r}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        changed = {k: v for k, v in self.get_params().items() if v != type(self)().get_params()[k]}
        return f"TokenNB({', '.join(f'{k}={v!r}' for k, v in changed.items())})"

    # s = 0.1 and min_dev = 0.44 (Bogofilter's 0.0178 and 0.375 before): a token
    # seen once is still a clue (f = 0.956), but weaker, and weak clues no longer
    # count.  Chosen by cross-validation on the train half with the calibration
    # of spamscore.scoring (training/COMPARISON.md): (1-AUC)% 0.0222 -> 0.0155,
    # FNR at 0.1% FPR 4.44% -> 3.00%, at 1% 0.18% -> 0.04%.
    # text_min_dev = 0.2 (body and subject words count as clues from 0.2 away
    # from 0.5; header, URL and structure tokens still from min_dev = 0.44) and
    # cjk_s = 10 (CJK tokens shrunk harder towards x: spamscore.features.japanese):
    # chosen with the cross-corpus protocol (training/cross_corpus.py: train on the
    # SA train half, judge on the SA test half and on CSDMC's 2009-2010 mail), full
    # profile, SA (1-AUC)% / FNR@0.1% / CSDMC (1-AUC)%: min_dev 0.44 for all
    # 0.0243 / 1.79% / 0.363; text_min_dev 0.35 0.0216 / 1.37% / 0.209; 0.25
    # 0.0212 / 1.26% / 0.105.  Weak word clues generalise to other people's mail
    # where strong ones (often a word seen once) do not.  A file written before
    # these parameters existed loads with None (the old behaviour).
    def __init__(self, *, s: float = 0.1, x: float = 0.52, min_dev: float = 0.44,
                 max_clues: int = 1000, priors: dict | None = None, text_min_dev: float | None = 0.2,
                 cjk_s: float | None = 10.0, young: float | None = 20.0):
        self.s = s
        self.x = x
        self.min_dev = min_dev
        self.max_clues = max_clues
        self.priors = priors
        self.text_min_dev = text_min_dev
        self.cjk_s = cjk_s
        self.young = young

    @property
    def effective_s(self) -> float:
        """Robinson's s, plus ``young / N`` for a model of N training messages.

        A young model is cautious: every token is shrunk harder towards x while
        the model has seen few messages, and as hard as ``s`` alone once it has
        seen thousands.  TREC-style immediate feedback from an empty model over
        the whole SpamAssassin corpus (benchmarks/online_trec.py), (1-AUC)% over
        the stream / its second half: young = None 0.1248 / 0.0166; 20 0.0776 /
        0.0167; 100 0.0794 / 0.0168 (Bogofilter 0.0861 / 0.0215).  For the
        default model's 3,034 messages it adds 0.0066 to s.
        """
        if not self.young:
            return self.s
        return self.s + self.young / max(getattr(self, "n_spam_", 0) + getattr(self, "n_ham_", 0), 1)

    def strong_mask(self, f: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """Which vocabulary rows are clues: ``|f(w) - 0.5| >= min_dev``, or ``>= text_min_dev``
        for the text tokens (body and subject words, :func:`spamscore.scoring.is_meta` false)
        when that is set.  ``f``: of every row, or of ``rows`` (:meth:`token_probabilities`)."""
        dev = np.abs(f - 0.5)
        if self.text_min_dev is None or self.text_min_dev == self.min_dev:
            return dev >= self.min_dev
        meta = self._meta_rows() if rows is None else self._meta_rows()[rows]
        return np.where(meta, dev >= self.min_dev, dev >= self.text_min_dev)

    def _meta_rows(self) -> np.ndarray:
        """``is_meta`` of every vocabulary token (cached per vocabulary size)."""
        cached = self.__dict__.get("_meta_rows_cache")
        if cached is None or len(cached) != len(self.spam_counts_):
            from ..scoring import meta_mask  # the families are defined with the scoring statistics

            cached = self.__dict__["_meta_rows_cache"] = meta_mask(list(self.token_list()))
        return cached

    def _cjk_rows(self) -> np.ndarray:
        """Which vocabulary tokens hold a CJK character (cached per vocabulary size)."""
        cached = self.__dict__.get("_cjk_rows_cache")
        if cached is None or len(cached) != len(self.spam_counts_):
            cached = self.__dict__["_cjk_rows_cache"] = cjk_flags(self.token_list())
        return cached

    def share_row_flags(self, meta_rows: np.ndarray, cjk_rows: np.ndarray) -> None:
        """Use these per-row flags (``spamscore.scoring.meta_mask`` and :func:`cjk_flags` of every
        vocabulary token) instead of computing them: many fold models over one vocabulary
        (``spamscore.batch``) compute them once."""
        self.__dict__["_meta_rows_cache"] = meta_rows
        self.__dict__["_cjk_rows_cache"] = cjk_rows

    def _extend_row_caches(self, old_size: int, new_tokens: list[str]) -> None:
        """Vocabulary rows are only ever appended: extend the per-row caches by the new tokens
        (an online learner adds a few tokens per message to a vocabulary of 100,000s)."""
        if not new_tokens:
            return
        from ..scoring import meta_mask

        for key, flags in (("_meta_rows_cache", meta_mask), ("_cjk_rows_cache", cjk_flags)):
            cached = self.__dict__.get(key)
            if cached is not None and len(cached) == old_size:
                self.__dict__[key] = np.concatenate((cached, flags(new_tokens)))

    # -- the vocabulary -------------------------------------------------------
    # token -> row.  A loaded model keeps only its token list until something
    # asks for the dict (training, saving): scoring never does (HashIndex), and
    # building the dict of a 230,000-token model took ~65 ms of every start.
    @property
    def vocabulary_(self) -> dict[str, int]:
        d = self.__dict__.get("_vocabulary")
        if d is None:
            tokens = self.__dict__.get("_tokens")
            if tokens is None:
                # (another thread may have built the dict and dropped the list just now)
                d = self.__dict__.get("_vocabulary")
                if d is None:
                    raise AttributeError("vocabulary_")
                return d
            d = dict(zip(tokens, range(len(tokens))))
            self.__dict__["_vocabulary"] = d  # set before the list goes: readers always find one of them
            self.__dict__.pop("_tokens", None)  # the dict may grow now (partial_fit)
        return d

    @vocabulary_.setter
    def vocabulary_(self, value: dict[str, int]) -> None:
        self.__dict__["_vocabulary"] = value
        self.__dict__.pop("_tokens", None)
        self.__dict__.pop("_hashes", None)

    # What holds this process's string hashes (HashIndex) or is cheap to rebuild
    # is left out of a pickle: another process hashes strings with another seed.
    _PROCESS_LOCAL = ("_scorer", "_hashes", "_mapped", "_mapped_scorer")

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in self._PROCESS_LOCAL}

    def __sklearn_is_fitted__(self) -> bool:
        """scikit-learn's protocol: fitted once it has a vocabulary (without building the dict)."""
        return "_vocabulary" in self.__dict__ or "_tokens" in self.__dict__

    def token_list(self) -> list[str]:
        """The tokens in row order (the loaded list, or the dict's keys: no dict built for it)."""
        tokens = self.__dict__.get("_tokens")
        return tokens if tokens is not None else list(self.vocabulary_)

    def _token_list(self) -> list[str]:
        """:meth:`token_list` (the name the tests and older callers use)."""
        return self.token_list()

    def adopt_tokens(self, tokens: list[str], hashes: np.ndarray | None = None) -> None:
        """Take ``tokens`` (row order, no duplicates: the loader checks) as the vocabulary without
        building its dict (see :attr:`vocabulary_`); ``hashes``: their ``hash()`` in this process,
        kept for the scorer's :class:`HashIndex` (never pickled)."""
        self.__dict__["_tokens"] = tokens
        if hashes is not None:
            self.__dict__["_hashes"] = hashes

    def _row(self, token: str) -> int | None:
        d = self.__dict__.get("_vocabulary")
        if d is not None:
            return d.get(token)
        try:  # (the prior tokens come first in a fitted vocabulary)
            return self.token_list().index(token)
        except ValueError:
            return None

    # -- training -----------------------------------------------------------
    def fit(self, X: Iterable[Iterable[str]], y) -> "TokenNB":
        for attr in ("_vocabulary", "_tokens", "_hashes", "spam_counts_", "ham_counts_", "n_spam_", "n_ham_"):
            self.__dict__.pop(attr, None)
        return self.partial_fit(X, y)

    def partial_fit(self, X: Iterable[Iterable[str]], y, sample_weight: int = 1) -> "TokenNB":
        """Add (``sample_weight=1``) or remove (``-1``) documents' counts."""
        labels = as_labels(y)
        if not hasattr(self, "vocabulary_"):
            self.vocabulary_: dict[str, int] = {}
            self.spam_counts_ = np.zeros(0, dtype=np.int64)
            self.ham_counts_ = np.zeros(0, dtype=np.int64)
            self.n_spam_ = 0
            self.n_ham_ = 0
            for tok in (self.priors if self.priors is not None else DEFAULT_PRIORS):
                self.vocabulary_.setdefault(tok, len(self.vocabulary_))
        vocab = self.vocabulary_
        old_size = len(vocab)
        new_tokens: list[str] = []
        spam_idx: list[int] = []
        ham_idx: list[int] = []
        n_docs = 0
        docs = iter(X)
        for label in labels:
            doc = next(docs, None)
            if doc is None:
                raise ValueError(f"expected {len(labels)} documents (one per label), got {n_docs}")
            n_docs += 1
            target = spam_idx if label else ham_idx
            for tok in set(doc):
                i = vocab.get(tok)
                if i is None:
                    if "\n" in tok or sample_weight < 0:
                        continue
                    i = vocab[tok] = len(vocab)
                    new_tokens.append(tok)
                target.append(i)
        if next(docs, None) is not None:
            raise ValueError(f"expected {len(labels)} documents (one per label), got more")
        size = len(vocab)
        n_spam = int(labels.sum())
        n_ham = len(labels) - n_spam
        spam = np.bincount(np.asarray(spam_idx, dtype=np.int64), minlength=size)
        ham = np.bincount(np.asarray(ham_idx, dtype=np.int64), minlength=size)
        grow = size - len(self.spam_counts_)
        if grow:
            self.spam_counts_ = np.concatenate((self.spam_counts_, np.zeros(grow, np.int64)))
            self.ham_counts_ = np.concatenate((self.ham_counts_, np.zeros(grow, np.int64)))
        self.spam_counts_ = np.maximum(self.spam_counts_ + sample_weight * spam, 0)
        self.ham_counts_ = np.maximum(self.ham_counts_ + sample_weight * ham, 0)
        self.n_spam_ = max(self.n_spam_ + sample_weight * n_spam, 0)
        self.n_ham_ = max(self.n_ham_ + sample_weight * n_ham, 0)
        self.classes_ = np.array([0, 1])
        self.__dict__.pop("_scorer", None)
        self.__dict__.pop("_hashes", None)
        self._extend_row_caches(old_size, new_tokens)
        return self

    @classmethod
    def from_counts(cls, vocabulary: dict[str, int] | list[str], spam_counts: np.ndarray, ham_counts: np.ndarray,
                    n_spam: int, n_ham: int, **params) -> "TokenNB":
        """A fitted estimator from document counts (what ``fit`` would have counted).  ``vocabulary``: token
        -> row, or the tokens in row order (distinct; taken as they are, the dict built only if asked:
        :meth:`adopt_tokens`), the prior tokens first."""
        nb = cls(**params)
        priors = list(nb.priors if nb.priors is not None else DEFAULT_PRIORS)
        head = set(vocabulary[:len(priors)]) if isinstance(vocabulary, list) else vocabulary
        for tok in priors:
            if tok not in head:
                raise ValueError(f"expected the vocabulary to hold the prior token {tok!r}"
                                 + (" first" if isinstance(vocabulary, list) else ""))
        if isinstance(vocabulary, list):
            nb.adopt_tokens(vocabulary)
        else:
            nb.vocabulary_ = vocabulary
        nb.spam_counts_ = np.asarray(spam_counts, dtype=np.int64)
        nb.ham_counts_ = np.asarray(ham_counts, dtype=np.int64)
        nb.n_spam_, nb.n_ham_ = int(n_spam), int(n_ham)
        nb.classes_ = np.array([0, 1])
        return nb

    # -- the per-token probabilities ----------------------------------------
    def token_probabilities(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Robinson's f(w) for every vocabulary entry, or for the given rows only."""
        check_is_fitted(self, "vocabulary_")
        if rows is None and isinstance(self.x, float) and isinstance(self.effective_s, float):
            return self._all_token_probabilities()
        spam, ham = (self.spam_counts_, self.ham_counts_) if rows is None else \
            (self.spam_counts_[rows], self.ham_counts_[rows])
        b = spam.astype(np.float64)
        g = ham.astype(np.float64)
        bp = b / max(self.n_spam_, 1)
        gp = g / max(self.n_ham_, 1)
        denom = bp + gp
        with np.errstate(invalid="ignore", divide="ignore"):
            p = np.where(denom > 0, bp / np.where(denom > 0, denom, 1), self.x)
        n = b + g
        x = np.full(len(n), self.x)
        s = np.full(len(n), self.effective_s)
        if self.cjk_s:
            # CJK tokens are shrunk harder towards x while their counts are small
            # (spamscore.features.japanese: being Japanese is no evidence by itself)
            cjk = self._cjk_rows() if rows is None else self._cjk_rows()[rows]
            s[cjk] = max(self.effective_s, self.cjk_s)
        priors = self.priors if self.priors is not None else DEFAULT_PRIORS
        for tok, (px, ps) in priors.items():
            i = self._row(tok)
            if i is None:
                continue
            where = i if rows is None else (rows == i)
            x[where], s[where] = px, ps
        return (s * x + n * p) / (s + n)

    def _all_token_probabilities(self) -> np.ndarray:
        """:meth:`token_probabilities` of every row, with the same operations on the same operands (so the
        same bits: tests/test_fold_sums.py compares it with the code of ``rows``) in place, and the rows of
        the default x and s with them as scalars: a third of the time and of the temporaries of a whole
        vocabulary (training builds six of them: the folds' models and the shipped one).  For float x and s
        (an int x or s makes the code of ``rows`` fill int arrays: it does those)."""
        b = self.spam_counts_.astype(np.float64)
        g = self.ham_counts_.astype(np.float64)
        V = len(b)
        s0 = self.effective_s
        # the rows whose x or s is not the default: the priors' (last: they win), the CJK tokens'
        xs: dict[int, tuple[float, float]] = {}
        if self.cjk_s:
            s_cjk = max(s0, self.cjk_s)
            xs.update(dict.fromkeys(np.flatnonzero(self._cjk_rows()).tolist(), (self.x, s_cjk)))
        priors = self.priors if self.priors is not None else DEFAULT_PRIORS
        for tok, (px, ps) in priors.items():
            i = self._row(tok)
            if i is not None:
                xs[i] = (px, ps)
        special = np.fromiter(xs, dtype=np.int64, count=len(xs))
        sx = np.array([v[0] for v in xs.values()], dtype=np.float64)
        ss = np.array([v[1] for v in xs.values()], dtype=np.float64)
        n = b + g
        b /= max(self.n_spam_, 1)                     # bp
        g /= max(self.n_ham_, 1)                      # gp
        denom = np.add(b, g, out=g)
        pos = denom > 0
        np.divide(b, denom, out=b, where=pos)         # p where denom > 0 ...
        p = b
        p[~pos] = self.x                              # ... x elsewhere
        n_sp, p_sp = n[special], p[special]
        f = np.multiply(p, n, out=p)                  # n * p
        f += s0 * self.x                              # s * x + n * p (a sum of two terms: either order)
        n += s0                                       # s + n
        f /= n
        f[special] = (ss * sx + n_sp * p_sp) / (ss + n_sp)
        return f

    _lock = threading.Lock()

    def tables(self) -> ClueTables:
        """The clue tables the model scores with (built from the counts once, then shared by threads)."""
        scorer = self.__dict__.get("_scorer")
        if scorer is not None:
            return scorer
        with self._lock:
            scorer = self.__dict__.get("_scorer")
            if scorer is None:
                f = self.token_probabilities()
                strong = np.flatnonzero(self.strong_mask(f))
                strong_tokens = ClueRows(self.token_list(), strong)
                hashes = self.__dict__.get("_hashes")  # kept by load_model_file
                if hashes is not None and len(hashes) == len(f):
                    hashes = hashes[strong]
                else:
                    hashes = np.fromiter(map(hash, strong_tokens), dtype=np.int64, count=len(strong_tokens))
                log_f, log_1mf, log_odds = clue_tables(f[strong])
                index = HashIndex(strong_tokens, hashes)
                tables = (dense_table(strong_tokens.tokens, log_f, log_1mf, strong)
                          if index.rows.dtype == np.int32 else None)
                dense, dense_bloom = tables if tables is not None else (None, None)
                scorer = ClueTables(index=index, tokens=strong_tokens, log_f=log_f, log_1mf=log_1mf,
                                    log_odds=log_odds, dense=dense, dense_bloom=dense_bloom)
                self.__dict__["_scorer"] = scorer
        return scorer

    def _get_scorer(self) -> ClueTables:
        """:meth:`tables` (the name the tests and older callers use)."""
        return self.tables()

    # -- scoring --------------------------------------------------------------
    def clue_rows(self, doc: Iterable[str]) -> np.ndarray:
        """Rows of the clue tokens of a document, sorted (a fixed order in every process)."""
        sc = self.tables()
        if sc.by_hash:
            found, _, _ = native.speedups.lookup_sums_h(doc, [], sc.dense, None, self.max_clues, sc.dense_bloom)
            return cap_clues(np.frombuffer(found, dtype=np.int64), sc.log_odds, self.max_clues)
        return cap_clues(sc.index.lookup(doc), sc.log_odds, self.max_clues)

    def clue_rows_sums(self, doc: Iterable[str], meta: np.ndarray | None) -> tuple[np.ndarray, tuple]:
        """``(rows, clue_sums(rows, ..., meta))``: :meth:`clue_rows` and the sums of its clues.

        One compiled call (``_speedups.lookup_sums``) when the extension is
        built; the same rows and the same bits as the two steps apart.
        """
        sc = self.tables()
        if sc.by_hash:  # (the same rows and bits: the sums are exactly rounded)
            return self.clue_rows_sums_h(doc, [], meta)[:2]
        index = sc.index
        sp = native.speedups
        if sp is not None and index.rows.dtype == np.int32:
            found, sums = sp.lookup_sums(doc, index.keys, index.rows, sc.log_f, sc.log_1mf, meta,
                                         self.max_clues, index.bloom)
            rows = np.frombuffer(found, dtype=np.int64)
            if sums is not None:
                return rows, sums
            rows = cap_clues(rows, sc.log_odds, self.max_clues)  # (more than max_clues, or non-finite values)
        else:
            rows = self.clue_rows(doc)
        return rows, clue_sums(rows, sc.log_f, sc.log_1mf, meta)

    def takes_hashes(self) -> bool:
        """Whether :meth:`clue_rows_sums_h` can run (the compiled lookup and its dense table)."""
        return native.speedups is not None and self.tables().dense is not None

    def clue_rows_sums_h(self, doc: Sequence[str], extra: list[bytes],
                         meta: np.ndarray | None) -> tuple[np.ndarray, tuple, int]:
        """:meth:`clue_rows_sums` of the features ``doc`` and of those given by hash in
        ``extra`` (bytes of native int64 token hashes, :func:`spamscore._native.token_hash`: the body words of
        ``extract(..., into=extra)``), and how many distinct features there were.

        Features are told apart by hash here (two different tokens with the
        same 64-bit hash would count once: the odds are those of
        :class:`HashIndex`'s, about 10^-14 a message).  Needs
        :meth:`takes_hashes`.
        """
        sc = self.tables()
        found, sums, distinct = native.speedups.lookup_sums_h(doc, extra, sc.dense, meta, self.max_clues, sc.dense_bloom)
        rows = np.frombuffer(found, dtype=np.int64)
        if sums is None:
            rows = cap_clues(rows, sc.log_odds, self.max_clues)  # (more than max_clues, or non-finite values)
            sums = clue_sums(rows, sc.log_f, sc.log_1mf, meta)
        return rows, sums, distinct

    def clue_indices(self, doc: Iterable[str]) -> tuple[list[str], np.ndarray]:
        """The clue tokens of a document and their rows, in a fixed order.

        Sorting by row makes sums and ties come out the same in every process
        (set order varies with string hashing).
        """
        idx = self.clue_rows(doc)
        tokens = self.tables().tokens
        return [tokens[i] for i in idx.tolist()], idx
