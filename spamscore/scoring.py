"""Raw bytes -> :class:`Verdict`: the library's main entry point.

:class:`Model` ties together parsing limits, feature options, the
:class:`~spamscore.model.TokenNB` counts, the calibration and the cut-offs.
``Model.score(raw)`` is safe to call from several threads at once: scoring
only reads the model.  The statistics and the calibration are
:mod:`spamscore.calibration`'s; training's fold counting is :mod:`spamscore.folds`'.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from . import features as _features
from .calibration import (META_PREFIXES, OVERALL_CLUES, Calibration, calibrate,  # noqa: F401 (re-exported)
                          family_statistics, is_meta, meta_mask, sigmoid, statistics_from_sums)
from .errors import InputError, ModelError
from .features import FEATURE_VERSION, FeatureOptions
from .features.tokens import word_hashes_enabled
from .folds import cv_statistics
from .message import DEFAULT_LIMITS, Limits, parse
from .model import TokenNB, as_labels, clue_sums, load_model_file, save_model_file  # noqa: F401 (clue_sums)

__all__ = ["Clue", "Verdict", "Model", "load_model", "default_model_path", "train", "calibrated_model"]

HAM, UNSURE, SPAM = "ham", "unsure", "spam"




@dataclass(frozen=True, slots=True)
class Clue:
    """A feature that drove the decision, and its signed log-odds (> 0 spammy)."""

    feature: str
    weight: float


@dataclass(frozen=True, slots=True)
class Verdict:
    probability: float          # calibrated P(spam), 0..1
    label: str                  # "ham", "unsure" or "spam"
    clues: list[Clue] = field(default_factory=list)
    score: float = 0.0          # the uncalibrated ranking score
    n_features: int = 0

    def to_dict(self, max_clues: int | None = None) -> dict:
        clues = self.clues if max_clues is None else self.clues[:max_clues]
        return {
            "probability": self.probability,
            "label": self.label,
            "score": self.score,
            "clues": [{"feature": c.feature, "weight": round(c.weight, 4)} for c in clues],
        }



class Model:
    """A trained spamscore model: features, counts, calibration, cut-offs."""

    def __init__(self, nb: TokenNB, *, calibration: Calibration | None = None,
                 spam_cutoff: float = 0.9, ham_cutoff: float = 0.2,
                 options: FeatureOptions | None = None, limits: Limits = DEFAULT_LIMITS,
                 meta: dict | None = None, path: str | None = None):
        self.nb = nb
        self.calibration = calibration or Calibration()
        self.spam_cutoff = spam_cutoff
        self.ham_cutoff = ham_cutoff
        self.options = options or FeatureOptions()
        self.limits = limits
        self.meta = meta or {}
        self.path = path

    # -- features -------------------------------------------------------------
    def features(self, raw: bytes, into: list[bytes] | None = None, *, unsent: bool = False) -> list[str]:
        """The features of a raw message (``into``: see :func:`spamscore.features.extract`).

        ``unsent``: the message has not been sent (campaign mode): features that
        only exist after delivery are left out (:mod:`spamscore.features.profiles`).
        """
        return _features.extract(parse(raw, self.limits), self.unsent_options if unsent else self.options, into=into)

    @property
    def unsent_options(self) -> FeatureOptions:
        """The model's feature options in campaign mode (``unsent=True``)."""
        opts = self.__dict__.get("_unsent_options")
        if opts is None or opts[0] is not self.options:
            opts = (self.options, replace(self.options, unsent=True))
            self.__dict__["_unsent_options"] = opts
        return opts[1]

    def __getstate__(self) -> dict:
        """Pickled without the per-process cache of the scorer's meta flags (rebuilt on first use)."""
        return {k: v for k, v in self.__dict__.items() if k != "_meta_cache"}

    # -- scoring --------------------------------------------------------------
    def _meta_mask(self) -> np.ndarray:
        """Per clue row of the scorer: is the token a header/URL/structure one (see :func:`is_meta`)."""
        sc = self.nb.tables()
        cached = self.__dict__.get("_meta_cache")
        if cached is None or cached[0] is not sc:  # built once per scorer (a benign race between threads)
            flags = getattr(sc, "meta", None)  # stored in a format 2 model file
            cached = (sc, flags if flags is not None else meta_mask(sc.tokens.tokens, sc.tokens.rows))
            self.__dict__["_meta_cache"] = cached
        return cached[1]

    def _stats(self, idx: np.ndarray, fisher: bool = True, families: bool = True) -> tuple[float, ...]:
        """``(logit I, z, S, S_text, S_meta)`` of the clue rows ``idx``; the ones not asked for are 0."""
        if len(idx) == 0:
            return 0.0, 0.0, 0.0, 0.0, 0.0
        sc = self.nb.tables()
        sums = clue_sums(idx, sc.log_f, sc.log_1mf, self._meta_mask() if families else None)
        cal = self.calibration
        return statistics_from_sums(sums, cal.family_clues, fisher, families, cal.overall_clues)

    def _needs(self) -> tuple[bool, bool]:
        cal = self.calibration
        return bool(cal.w_logit or cal.w_z), cal.uses_families

    def _evidence(self, feats: Iterable[str]) -> tuple[float, float, float, list[str], np.ndarray]:
        toks, idx = self.nb.clue_indices(feats)
        logit_i, z, s, _, _ = self._stats(idx, families=False)
        return logit_i, z, s, toks, self.nb.tables().log_odds[idx]

    def statistics(self, feats: Iterable[str]) -> tuple[float, float, list[str], np.ndarray]:
        """(logit I, z, clue tokens, clue log-odds) for a feature list."""
        logit_i, z, _, toks, weights = self._evidence(feats)
        return logit_i, z, toks, weights

    def evidence(self, feats: Iterable[str]) -> tuple[float, float, float]:
        """(logit I, z, S) (see :class:`Calibration`)."""
        return self._stats(self.nb.clue_rows(feats), families=False)[:3]

    def family_evidence(self, feats: Iterable[str]) -> tuple[float, float, float, float, float]:
        """(logit I, z, S, S_text, S_meta): the inputs of the calibration (see :class:`Calibration`)."""
        return self._stats(self.nb.clue_rows(feats))

    def label_for(self, probability: float) -> str:
        if probability >= self.spam_cutoff:
            return SPAM
        if probability < self.ham_cutoff:
            return HAM
        return UNSURE

    def explain(self, feats: Sequence[str], max_clues: int = 15) -> tuple[Verdict, list[str], np.ndarray]:
        """The verdict, and every clue token with its log-odds (what ``spamscore check`` explains)."""
        toks, idx = self.nb.clue_indices(feats)
        weights = self.nb.tables().log_odds[idx]
        lin = self.calibration.linear(*self._stats(idx, *self._needs()))
        prob = sigmoid(lin)
        clues = []
        if max_clues > 0 and len(weights):
            order = np.argsort(-np.abs(weights), kind="stable")[:max_clues].tolist()
            clues = [Clue(toks[i], float(weights[i])) for i in order]
        return Verdict(prob, self.label_for(prob), clues, lin, len(feats)), toks, weights

    def score_features(self, feats: Sequence[str], max_clues: int = 15, hashes: list[bytes] | None = None) -> Verdict:
        """The verdict of a feature list (what :meth:`explain` gives, with only the top clues' tokens).

        The scoring path: only the statistics the calibration weighs are
        computed (Fisher's costs four incomplete-gamma calls), and clue
        tokens only for the clues shown.  ``hashes``: more features, given
        by hash (``extract(..., into=hashes)``; needs ``nb.takes_hashes()``).
        """
        fisher, families = self._needs()
        meta = self._meta_mask() if families else None
        if hashes is None:
            idx, sums = self.nb.clue_rows_sums(feats, meta)
            n_features = len(feats)
        else:
            idx, sums, n_features = self.nb.clue_rows_sums_h(feats, hashes, meta)
        cal = self.calibration
        lin = cal.linear(*statistics_from_sums(sums, cal.family_clues, fisher, families, cal.overall_clues))
        prob = sigmoid(lin)
        clues = []
        if max_clues > 0 and len(idx):
            sc = self.nb.tables()
            top = getattr(sc.tokens, "top", None)   # a mapped model's, in C (the same clues)
            got = top(idx, sc.log_odds, max_clues) if top is not None else None
            if got is not None:
                clues = list(map(Clue, *got))
            else:
                idx = np.sort(idx)  # clues of equal weight in row order: the same in every process (as explain's)
                weights = sc.log_odds[idx]
                order = np.argsort(-np.abs(weights), kind="stable")[:max_clues]
                clues = list(map(Clue, sc.tokens.take(idx[order]), weights[order].tolist()))
        return Verdict(prob, self.label_for(prob), clues, lin, n_features)

    def score(self, raw: bytes, max_clues: int = 15, *, unsent: bool = False) -> Verdict:
        """Score one raw message (bytes).  Never raises on malformed mail.

        ``unsent=True`` scores a message that has not been sent yet (a campaign):
        delivery features (Received chain, trace headers, a receiver's
        Authentication-Results) are left out, so neither they nor their absence count.

        Body words reach the lookup as hashes when the compiled helpers allow
        (no str made for them: ``_bodyscan.word_hashes``, ``_speedups.lookup_sums_h``);
        the verdict is the same as :meth:`score_features` of :meth:`features`.
        """
        if not isinstance(raw, (bytes, bytearray, memoryview)):
            raise InputError(f"expected the raw message as bytes, got {type(raw).__name__}")
        hashes: list[bytes] | None = [] if word_hashes_enabled() and self.nb.takes_hashes() else None
        return self.score_features(self.features(bytes(raw), hashes, unsent=unsent), max_clues, hashes)

    def score_many(self, raws: Iterable[bytes], max_clues: int = 15) -> Iterator[Verdict]:
        """Score a batch lazily, in input order."""
        for raw in raws:
            yield self.score(raw, max_clues)

    # -- scikit-learn's estimator interface: the shipped score ---------------
    # One ranking of a model: these give what score() gives.  X holds raw
    # messages (bytes: scored as score() scores them) or feature lists (any
    # iterable of str: as score_features() scores them), mixed as you like.
    classes_ = np.array([0, 1])   # 0 ham, 1 spam

    def _verdicts(self, X: Iterable) -> Iterator[Verdict]:
        for x in X:
            if isinstance(x, (bytes, bytearray, memoryview)):
                yield self.score(x, 0)
            elif isinstance(x, str):
                raise InputError("expected a raw message (bytes) or a feature list, got str")
            else:
                yield self.score_features(x if isinstance(x, (list, tuple)) else list(x), 0)

    def decision_function(self, X: Iterable) -> np.ndarray:
        """The calibrated logit of P(spam) of each message (``Verdict.score``; > 0 leans spam): the probability
        is its logistic, so it ranks as :meth:`predict_proba` does, without rounding ties at 0 and 1."""
        return np.array([v.score for v in self._verdicts(X)], dtype=np.float64)

    def predict_proba(self, X: Iterable) -> np.ndarray:
        """``(n, 2)``: P(ham), P(spam) of each message; the second column is ``Verdict.probability``."""
        p = np.array([v.probability for v in self._verdicts(X)], dtype=np.float64)
        return np.column_stack((1.0 - p, p))

    def predict(self, X: Iterable) -> np.ndarray:
        """1 where the label is spam (at or above the spam cut-off), else 0 (ham or unsure)."""
        return np.array([v.label == SPAM for v in self._verdicts(X)], dtype=np.int8)

    # -- persistence --------------------------------------------------------
    def save(self, path: str | os.PathLike, format_version: int | None = None) -> int:
        """Write the model atomically (format 2, mapped at load; ``format_version=1``: the old .npz)."""
        meta = dict(self.meta)
        meta.update(
            feature_version=FEATURE_VERSION,
            calibration=asdict(self.calibration),
            spam_cutoff=self.spam_cutoff,
            ham_cutoff=self.ham_cutoff,
            ignored_headers=list(self.options.ignored_headers),
            profile=self.options.profile,
        )
        return save_model_file(path, self.nb, meta, *(() if format_version is None else (format_version,)))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Model":
        nb, header = load_model_file(path, FEATURE_VERSION)
        try:
            cal = Calibration(**{"overall_clues": 0.0,  # trained before the field existed
                                 **{k: float(v) for k, v in header.get("calibration", {}).items()}})
            spam_cutoff = float(header.get("spam_cutoff", 0.9))
            ham_cutoff = float(header.get("ham_cutoff", 0.2))
            ignored = tuple(str(h) for h in header.get("ignored_headers", FeatureOptions().ignored_headers))
            options = FeatureOptions(ignored_headers=ignored, profile=str(header.get("profile", "full")))
        except (TypeError, ValueError, AttributeError, InputError) as exc:  # AttributeError: calibration not a dict
            from .errors import ModelFormatError
            raise ModelFormatError(f"{path}: damaged model header ({exc})") from None
        return cls(nb, calibration=cal, spam_cutoff=spam_cutoff, ham_cutoff=ham_cutoff,
                   options=options, meta=header, path=os.fspath(path))

    def with_options(self, **changes) -> "Model":
        """A copy sharing the counts, with other feature options or limits."""
        limits = changes.pop("limits", self.limits)
        opts = FeatureOptions(**{**self.options.__dict__, **changes})
        return Model(self.nb, calibration=self.calibration, spam_cutoff=self.spam_cutoff,
                     ham_cutoff=self.ham_cutoff, options=opts, limits=limits, meta=self.meta, path=self.path)


# ----------------------------------------------------------------------------

# The shipped model lives in the source tree's top-level models/ (the source of
# truth, which training/build_default.py writes); a built wheel carries a copy
# as package data, spamscore/models/ (setup.py's build_py copies it there).
_REPO_MODEL = Path(__file__).resolve().parent.parent / "models" / "default.spamscore"


def _packaged_model() -> Path | None:
    """``spamscore/models/default.spamscore`` of an installed wheel (importlib.resources), or None."""
    from importlib.resources import files

    try:
        found = files(__package__) / "models" / "default.spamscore"
    except (ImportError, OSError, ValueError):  # pragma: no cover - an unusual loader: the source tree's
        return None
    # a file on disk (np.load and the model's checks want a path); an install
    # in a zip file has no compiled helpers either and is not supported
    return found if isinstance(found, Path) and found.is_file() else None


def default_model_path() -> Path:
    """``$SPAMSCORE_MODEL``, else the shipped default model: the installed package's
    ``spamscore/models/default.spamscore``, else the source tree's ``models/default.spamscore``
    (a checkout, or an editable install)."""
    env = os.environ.get("SPAMSCORE_MODEL")
    if env:
        return Path(env)
    return _packaged_model() or _REPO_MODEL


def load_model(path: str | os.PathLike | None = None, *, trusted_authserv_ids: Iterable[str] = (),
               limits: Limits | None = None) -> Model:
    """Load a model file (None: the shipped default).  Never executes code from the file."""
    p = Path(path) if path is not None else default_model_path()
    if path is None and not p.exists():
        if os.environ.get("SPAMSCORE_MODEL"):
            raise ModelError(f"the default model is missing at {p} (named by $SPAMSCORE_MODEL): pass a model path")
        raise ModelError(f"the default model is missing at {p} and from the installed package (spamscore/models/): "
                         "reinstall spamscore, run `python training/build_default.py` or pass a model path")
    model = Model.load(p)
    ids = frozenset(a.lower() for a in trusted_authserv_ids)
    if ids or limits is not None:
        model = model.with_options(trusted_authserv_ids=ids, limits=limits or model.limits)
    return model


# ----------------------------------------------------------------------------
# training


def calibrated_model(nb: TokenNB, stats: np.ndarray | None, y: np.ndarray, *, target_fpr: float = 0.001,
                     target_fnr: float = 0.01, meta: dict | None = None, options: FeatureOptions | None = None,
                     limits: Limits = DEFAULT_LIMITS, fit=None) -> Model:
    """The model of the counts ``nb``, calibrated on the out-of-fold ``stats`` of messages labelled ``y``
    (:mod:`spamscore.folds`; None: no cross-validation, the default calibration and cut-offs 0.9 / 0.2).
    What every trainer ends with: :func:`train`, ``streaming.StreamingCounts``, ``distributed.train_dask``.
    ``fit``: the logistic regression's stand-in, if any (:func:`spamscore.calibration.calibrate`)."""
    cal, spam_cut, ham_cut = Calibration(), 0.9, 0.2
    if stats is not None:
        cal, spam_cut, ham_cut = (calibrate(stats, y, target_fpr, target_fnr) if fit is None
                                  else calibrate(stats, y, target_fpr, target_fnr, fit=fit))
    meta = dict(meta or {})
    meta.setdefault("trained_at", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    return Model(nb, calibration=cal, spam_cutoff=spam_cut, ham_cutoff=ham_cut, options=options, limits=limits,
                 meta=meta)


def train(docs: list[list[str]] | None, labels, *, nb_params: dict | None = None, folds: int = 5, seed: int = 0,
          target_fpr: float = 0.001, target_fnr: float = 0.01, meta: dict | None = None,
          options: FeatureOptions | None = None, rows: list[np.ndarray] | None = None,
          vocab: dict[str, int] | None = None) -> Model:
    """Fit counts on all of ``docs``, calibrate on cross-validated scores, set cut-offs.

    ``docs`` are feature lists (see :meth:`Model.features`); ``labels`` are
    'spam'/'ham' or 1/0.  The spam cut-off is where cross-validation gave at
    most ``target_fpr`` false positives, the ham cut-off where it gave at
    most ``target_fnr`` false negatives.  ``rows`` and ``vocab`` instead of
    ``docs``: the documents already mapped to vocabulary rows by
    :func:`spamscore.folds.doc_rows` (the prior tokens first), as
    :class:`spamscore.streaming.StreamingCounts` keeps them; the model is the one
    ``docs`` would give.
    """
    y = as_labels(labels)
    if len(set(y.tolist())) < 2:
        raise ValueError("expected both spam and ham examples to train on")
    nb_params = nb_params or {}
    folds = min(folds, int(min(y.sum(), len(y) - y.sum())))
    stats, nb = cv_statistics(docs, y, nb_params, folds, seed, rows=rows, vocab=vocab)
    return calibrated_model(nb, stats, y, target_fpr=target_fpr, target_fnr=target_fnr, meta=meta, options=options)
