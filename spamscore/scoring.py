"""Raw bytes -> :class:`Verdict`: the library's main entry point.

:class:`Model` ties together parsing limits, feature options, the
:class:`~spamscore.model.TokenNB` counts, the calibration and the cut-offs.
``Model.score(raw)`` is safe to call from several threads at once: scoring
only reads the model.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from . import features as _features
from .features import tokens as _tokens
from ._fit import fit_logistic, stratified_folds
from .errors import InputError, ModelError
from .features import FEATURE_VERSION, FeatureOptions
from .message import DEFAULT_LIMITS, Limits, parse
from .model import (TokenNB, _speedups, cap_clues, clue_sums, clue_tables, fisher_statistics, load_model_file,
                    robinson_s, save_model_file)

__all__ = ["Clue", "Verdict", "Model", "load_model", "default_model_path", "train"]

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


def _sigmoid(v: float) -> float:
    if v >= 0:
        return 1.0 / (1.0 + math.exp(-v))
    e = math.exp(v)
    return e / (1.0 + e)


# Neutral pseudo-clues in the S of all clues (Calibration.overall_clues) of new
# models.  Without them a message with one weak clue (a Japanese notice whose only
# clue was body:caps:2, f = 0.73) got S = 0.47 and was labelled spam; with them
# its S stays near 0.  Cross-corpus protocol (training/cross_corpus.py, portable
# profile), SA (1-AUC)% / FNR@0.1% / CSDMC (1-AUC)%: 0 pseudo-clues 0.0407 / 3.68%
# / 0.0260; 10: 0.0395 / 3.68% / 0.0267, and 2 more Japanese ham fixtures
# leave spam for unsure or ham.
OVERALL_CLUES = 10.0


@dataclass
class Calibration:
    """Platt scaling: P(spam) = sigmoid(w_logit * logit I + w_z * z + w_s * S
    + w_text * S_text + w_meta * S_meta + bias).

    Statistics of a message's clues (see :meth:`Model.family_evidence`):
    ``logit I``, the logit of SpamBayes' chi-square indicator, which ranks well
    where the evidence is one-sided; ``z = ln Qh - ln Qs``, which separates
    messages whose evidence is strong both ways (where ``I`` sits at 0.5);
    Robinson's geometric-mean indicator ``S = (P - Q) / (P + Q)``, with
    ``P = 1 - (prod (1 - f))^(1/k)`` and ``Q = 1 - (prod f)^(1/k)``; and ``S``
    of the text clues and of the header/URL/structure clues apart, each with
    ``family_clues`` neutral pseudo-clues (see :func:`family_statistics`).
    A logistic regression on cross-validated training statistics fits the
    weights of the inputs listed in ``CALIBRATION_INPUTS``; the others weigh 0.
    """

    w_logit: float = 1.0
    w_z: float = 0.01
    bias: float = 0.0
    w_s: float = 0.0
    w_text: float = 0.0
    w_meta: float = 0.0
    family_clues: float = 10.0
    # Neutral pseudo-clues in S over all clues too, so that a message with one
    # or two weak clues is not scored as if they were the whole story (a model
    # file without this field was trained without them: Model.load reads 0).
    overall_clues: float = OVERALL_CLUES

    def linear(self, logit_i: float, z: float, s: float = 0.0, s_text: float = 0.0, s_meta: float = 0.0) -> float:
        return (self.w_logit * logit_i + self.w_z * z + self.w_s * s + self.w_text * s_text
                + self.w_meta * s_meta + self.bias)

    @property
    def uses_families(self) -> bool:
        return bool(self.w_text or self.w_meta)


# Which of (logit I, z, S, S_text, S_meta) the calibration uses.  Chosen by
# 5-fold cross-validation on the train half (3 shuffles; training/COMPARISON.md),
# (1-AUC)% / FNR at 0.1% FPR / at 1%: (logit I, z) 0.0392 / 5.93 / 0.42;
# (logit I, z, S) 0.0384 / 5.89 / 0.39; S alone 0.0365 / 5.47 / 0.35;
# with TokenNB's s = 0.1, min_dev = 0.44: S alone 0.0346 / 3.84 / 0.32;
# (S, S_text, S_meta) 0.0155 / 3.00 / 0.04.
CALIBRATION_INPUTS = (2, 3, 4)
_FIELDS = ("w_logit", "w_z", "w_s", "w_text", "w_meta")

# Feature prefixes of the header, URL, HTML and MIME-structure families
# (spamscore.features); every other feature (body and subject words, body:,
# skip:) is text.  A body word that looks like "from:x" counts as meta.
META_PREFIXES = frozenset("""
    hdr received date message-id boundary from to cc reply-to return-path sender errors-to
    x-mailer user-agent content-type x-mimeole organization list-id x-priority x-msmail-priority
    precedence mime-version content-transfer-encoding x-originating-ip
    url url-path url-host html proto part charset attach defect msg auth dkim spf-hdr bulk
""".split())


_LN_HALF = math.log(0.5)


def is_meta(feature: str) -> bool:
    """True for a header / URL / HTML / structure feature, False for a text one."""
    head, sep, _ = feature.partition(":")
    return bool(sep) and head in META_PREFIXES


def meta_mask(tokens: Sequence[str], rows: np.ndarray | None = None) -> np.ndarray:
    """``is_meta`` of every token (or of ``tokens[r]`` for each of ``rows``), as a bool array.

    In C when ``spamscore._speedups`` is built (~10 ms for a 200,000-token
    model, ~50 ms in Python).
    """
    if _speedups is not None and isinstance(tokens, list):
        r = np.arange(len(tokens), dtype=np.int64) if rows is None else np.ascontiguousarray(rows, dtype=np.int64)
        return np.frombuffer(_speedups.meta_flags(tokens, r, META_PREFIXES), dtype=bool)
    if rows is not None:
        tokens = [tokens[r] for r in rows.tolist()]
    return np.fromiter(map(is_meta, tokens), dtype=bool, count=len(tokens))


def _family_s(slf: float, sl1: float, k: int, pseudo_clues: float) -> float:
    """Robinson's S of one family's clues, with ``pseudo_clues`` neutral ones (0 without clues)."""
    if not k:
        return 0.0
    neutral = pseudo_clues * _LN_HALF
    return robinson_s(slf + neutral, sl1 + neutral, k + pseudo_clues)


def statistics_from_sums(sums: tuple, pseudo_clues: float, fisher: bool = True,
                         families: bool = True, overall_clues: float = 0.0) -> tuple[float, float, float, float, float]:
    """``(logit I, z, S, S_text, S_meta)`` from :func:`clue_sums`.

    ``pseudo_clues`` neutral clues join each family's S, ``overall_clues`` the S of all clues.
    """
    slf, sl1, k, tf, t1, kt, mf, m1, km = sums
    if k == 0:
        return 0.0, 0.0, 0.0, 0.0, 0.0
    logit_i, z = fisher_statistics(slf, sl1, k) if fisher else (0.0, 0.0)
    if families:
        fam = _family_s(tf, t1, kt, pseudo_clues), _family_s(mf, m1, km, pseudo_clues)
    else:
        fam = 0.0, 0.0
    s = _family_s(slf, sl1, k, overall_clues) if overall_clues else robinson_s(slf, sl1, k)
    return logit_i, z, s, *fam


def family_statistics(tokens: Sequence[str], log_odds: np.ndarray, pseudo_clues: float = 10.0) -> tuple[float, float]:
    """Robinson's ``S`` of the text clues and of the meta clues of one message.

    ``tokens`` are a message's clues and ``log_odds`` their ``ln(f / (1 - f))``
    (what :meth:`TokenNB.clue_indices` and the scorer give).  Each family's
    ``S`` gets ``pseudo_clues`` neutral clues (f = 0.5), so that a family with
    a single strong clue does not reach S = +-1: without them one header clue
    of a ham outweighed dozens of text clues (cross-validation in
    training/COMPARISON.md).  A family with no clue gives 0.
    (The model computes the same from its own ln f tables: ``Model.family_evidence``.)
    """
    if not len(tokens):
        return 0.0, 0.0
    lo = np.asarray(log_odds, dtype=np.float64)
    log_f = -np.logaddexp(0.0, -lo)             # ln f; ln (1 - f) = ln f - log-odds
    sums = clue_sums(np.arange(len(lo)), log_f, log_f - lo, meta_mask(list(tokens)))
    return statistics_from_sums(sums, pseudo_clues, fisher=False)[3:]


def calibrate(stats: np.ndarray, y: np.ndarray, target_fpr: float = 0.001,
              target_fnr: float = 0.01) -> tuple[Calibration, float, float]:
    """Calibration and cut-offs from cross-validated ``(logit I, z, S, S_text, S_meta)`` rows.

    Rows of three statistics (``Model.evidence``) give a calibration on the
    inputs among the first three only.
    """
    cols = [c for c in CALIBRATION_INPUTS if c < stats.shape[1]]
    coef, intercept = fit_logistic(stats[:, cols], y, C=1.0)  # scikit-learn's LogisticRegression(C=1.0)
    weights = dict.fromkeys(_FIELDS, 0.0)
    for col, w in zip(cols, coef):
        weights[_FIELDS[col]] = float(w)
    cal = Calibration(bias=intercept, **weights)
    lin = stats[:, cols] @ coef + intercept
    p = 1 / (1 + np.exp(-np.clip(lin, -50, 50)))
    spam_cut, ham_cut = _cutoffs(p, y, target_fpr, target_fnr)
    return cal, spam_cut, ham_cut


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

    # -- scoring --------------------------------------------------------------
    def _meta_mask(self) -> np.ndarray:
        """Per clue row of the scorer: is the token a header/URL/structure one (see :func:`is_meta`)."""
        sc = self.nb._get_scorer()
        cached = self.nb.__dict__.get("_meta_mask")
        if cached is None or cached[0] is not sc:  # built once per scorer (a benign race between threads)
            flags = getattr(sc, "meta", None)  # stored in a format 2 model file
            cached = (sc, flags if flags is not None else meta_mask(sc.tokens.tokens, sc.tokens.rows))
            self.nb.__dict__["_meta_mask"] = cached
        return cached[1]

    def _stats(self, idx: np.ndarray, fisher: bool = True, families: bool = True) -> tuple[float, ...]:
        """``(logit I, z, S, S_text, S_meta)`` of the clue rows ``idx``; the ones not asked for are 0."""
        if len(idx) == 0:
            return 0.0, 0.0, 0.0, 0.0, 0.0
        sc = self.nb._get_scorer()
        sums = clue_sums(idx, sc.log_f, sc.log_1mf, self._meta_mask() if families else None)
        cal = self.calibration
        return statistics_from_sums(sums, cal.family_clues, fisher, families, cal.overall_clues)

    def _needs(self) -> tuple[bool, bool]:
        cal = self.calibration
        return bool(cal.w_logit or cal.w_z), cal.uses_families

    def _evidence(self, feats: Iterable[str]) -> tuple[float, float, float, list[str], np.ndarray]:
        toks, idx = self.nb.clue_indices(feats)
        logit_i, z, s, _, _ = self._stats(idx, families=False)
        return logit_i, z, s, toks, self.nb._get_scorer().log_odds[idx]

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
        weights = self.nb._get_scorer().log_odds[idx]
        lin = self.calibration.linear(*self._stats(idx, *self._needs()))
        prob = _sigmoid(lin)
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
        prob = _sigmoid(lin)
        clues = []
        if max_clues > 0 and len(idx):
            sc = self.nb._get_scorer()
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
        hashes: list[bytes] | None = [] if _tokens._WORD_HASHES and self.nb.takes_hashes() else None
        return self.score_features(self.features(bytes(raw), hashes, unsent=unsent), max_clues, hashes)

    def score_many(self, raws: Iterable[bytes], max_clues: int = 15) -> Iterator[Verdict]:
        """Score a batch lazily, in input order."""
        for raw in raws:
            yield self.score(raw, max_clues)

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

def _doc_rows(docs: list[list[str]], vocab: dict[str, int], add: bool = True) -> list[np.ndarray]:
    """Each document's vocabulary rows (new tokens are added to ``vocab``, in order of first sight;
    with ``add=False`` an unknown token raises KeyError and ``vocab`` is left as it is).

    In C where it can be: one ``dict.fromkeys`` over all tokens gives the new
    ones in order, one ``map`` gives every row; tokens holding a newline
    (which the model file cannot store) are left out, as ``TokenNB.fit`` does.
    """
    sets = [doc if isinstance(doc, (set, frozenset)) else set(doc) for doc in docs]
    flat = [t for d in sets for t in d] if sets else []
    if "\n" in "".join(flat):
        sets = [{t for t in d if "\n" not in t} for d in sets]
        flat = [t for d in sets for t in d]
    if add:
        for tok in dict.fromkeys(flat):
            if tok not in vocab:
                vocab[tok] = len(vocab)
    allrows = np.fromiter(map(vocab.__getitem__, flat), dtype=np.int64, count=len(flat))
    bounds = np.cumsum([len(d) for d in sets])[:-1] if sets else []
    return np.split(allrows, bounds) if sets else []


def _fold_evidence(nb: TokenNB, rows: list[np.ndarray], which, meta: np.ndarray) -> np.ndarray:
    """``Model(nb).family_evidence`` of the documents ``which``, from their rows (no string lookups).

    The same clue selection and the same arithmetic as :meth:`Model._stats`:
    clues are the rows whose f(w) is at least ``min_dev`` from 0.5, sorted,
    capped at ``max_clues`` the same way; ``meta`` is :func:`is_meta` per
    vocabulary row.
    """
    f = nb.token_probabilities()
    strong = nb.strong_mask(f)
    log_f, log_1mf, log_odds = clue_tables(f)
    pseudo, overall = Calibration().family_clues, Calibration().overall_clues
    out = np.zeros((len(which), 5))
    for j, i in enumerate(which):
        r = rows[i]
        r = cap_clues(np.sort(r[strong[r]]), log_odds, nb.max_clues)
        out[j] = statistics_from_sums(clue_sums(r, log_f, log_1mf, meta), pseudo, overall_clues=overall)
    return out


def _cv_statistics(docs: list[list[str]] | None, y: np.ndarray, nb_params: dict, folds: int,
                   seed: int, *, rows: list[np.ndarray] | None = None,
                   vocab: dict[str, int] | None = None) -> tuple[np.ndarray, TokenNB]:
    """Cross-validated (logit I, z, S, S_text, S_meta) for every training document, and the model of all of them.

    Each document is mapped to vocabulary rows once; a fold's counts are the
    totals minus its held-out documents' counts.  A token seen only in the
    held-out fold keeps zero counts, so its f(w) is the prior and it is no
    clue: the same statistics as fitting a model per fold, five times faster.
    The totals are the counts ``TokenNB.fit`` would make on all the documents.
    ``rows`` and ``vocab`` (instead of ``docs``): the documents already mapped
    by :func:`_doc_rows` (what streaming training keeps: spamscore.batch).
    """
    if rows is None:
        from .model import DEFAULT_PRIORS

        priors = nb_params.get("priors")
        vocab = {tok: i for i, tok in enumerate(priors if priors is not None else DEFAULT_PRIORS)}
        rows = _doc_rows(docs, vocab)
    size = len(vocab)
    y = np.asarray(y)

    def counts(which) -> tuple[np.ndarray, np.ndarray]:
        spam = [rows[i] for i in which if y[i]]
        ham = [rows[i] for i in which if not y[i]]
        cat = lambda parts: np.concatenate(parts) if parts else np.zeros(0, np.int64)  # noqa: E731
        return np.bincount(cat(spam), minlength=size), np.bincount(cat(ham), minlength=size)

    total_spam, total_ham = counts(range(len(rows)))
    n_spam_total = int(y.sum())
    stats = np.zeros((len(rows), 5))
    meta = meta_mask(list(vocab))
    for test_idx in stratified_folds(y, folds, seed):
        held_spam, held_ham = counts(test_idx)
        n_held_spam = int(y[test_idx].sum())
        nb = TokenNB.from_counts(vocab, total_spam - held_spam, total_ham - held_ham,
                                 n_spam_total - n_held_spam, len(y) - n_spam_total - (len(test_idx) - n_held_spam),
                                 **nb_params)
        stats[test_idx] = _fold_evidence(nb, rows, test_idx, meta)
    return stats, TokenNB.from_counts(vocab, total_spam, total_ham, n_spam_total, len(y) - n_spam_total, **nb_params)


def _cutoffs(p: np.ndarray, y: np.ndarray, target_fpr: float, target_fnr: float) -> tuple[float, float]:
    """Spam cut-off at the CV false-positive target, ham cut-off at the FN target."""
    ham = np.sort(p[y == 0])[::-1]
    spam = np.sort(p[y == 1])
    k = int(math.floor(target_fpr * len(ham)))
    spam_cut = float(ham[k]) if k < len(ham) else 0.5
    spam_cut = min(max(spam_cut + 1e-9, 0.5), 0.999)
    j = int(math.floor(target_fnr * len(spam)))
    ham_cut = float(spam[j]) if j < len(spam) else 0.5
    ham_cut = min(max(ham_cut, 0.01), spam_cut, 0.5)
    return spam_cut, ham_cut


def train(docs: list[list[str]] | None, labels, *, nb_params: dict | None = None, folds: int = 5, seed: int = 0,
          target_fpr: float = 0.001, target_fnr: float = 0.01, meta: dict | None = None,
          options: FeatureOptions | None = None, rows: list[np.ndarray] | None = None,
          vocab: dict[str, int] | None = None) -> Model:
    """Fit counts on all of ``docs``, calibrate on cross-validated scores, set cut-offs.

    ``docs`` are feature lists (see :meth:`Model.features`); ``labels`` are
    'spam'/'ham' or 1/0.  The spam cut-off is where cross-validation gave at
    most ``target_fpr`` false positives, the ham cut-off where it gave at
    most ``target_fnr`` false negatives.  ``rows`` and ``vocab`` instead of
    ``docs``: the documents already mapped to vocabulary rows by :func:`_doc_rows`
    (the prior tokens first), as :func:`spamscore.batch.train_items` keeps them;
    the model is the one ``docs`` would give.
    """
    from .model import _as_labels

    y = _as_labels(labels)
    if len(set(y.tolist())) < 2:
        raise ValueError("expected both spam and ham examples to train on")
    nb_params = nb_params or {}
    cal = Calibration()
    spam_cut, ham_cut = 0.9, 0.2
    n_min = int(min(y.sum(), len(y) - y.sum()))
    folds = min(folds, n_min)
    if folds >= 2:
        stats, nb = _cv_statistics(docs, y, nb_params, folds, seed, rows=rows, vocab=vocab)
        cal, spam_cut, ham_cut = calibrate(stats, y, target_fpr, target_fnr)
    elif rows is not None:  # the counts fit() makes (same vocabulary order too)
        cat = lambda parts: np.concatenate(parts) if parts else np.zeros(0, np.int64)  # noqa: E731
        spam = np.bincount(cat([r for r, lab in zip(rows, y.tolist()) if lab]), minlength=len(vocab))
        ham = np.bincount(cat([r for r, lab in zip(rows, y.tolist()) if not lab]), minlength=len(vocab))
        n_spam = int(y.sum())
        nb = TokenNB.from_counts(vocab, spam, ham, n_spam, len(y) - n_spam, **nb_params)
    else:
        nb = TokenNB(**nb_params).fit(docs, y)
    meta = dict(meta or {})
    meta.setdefault("trained_at", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    return Model(nb, calibration=cal, spam_cutoff=spam_cut, ham_cutoff=ham_cut,
                 options=options, meta=meta)
