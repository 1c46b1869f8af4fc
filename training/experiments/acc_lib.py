"""Fast cross-validation for the combining / weighting experiments (accuracy branch).

5-fold stratified CV x 3 seeds on the TRAIN half only.  Features are extracted
once (cache /tmp/acc/feats.pkl, made by ``acc_extract``); every document is
mapped to vocabulary rows once and a fold's counts are the totals minus the
held-out documents' counts (as ``scoring._cv_statistics`` does), so one CV run
of the Robinson statistics takes a few seconds.  Statistics per held-out
document are computed with numpy over all its clues at once; ``check()``
verifies they equal ``Model.evidence``.
"""
from __future__ import annotations

import csv
import math
import os
import pickle
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from spamscore.metrics import fnr_at_fpr
from spamscore.model import AUTH_PRIORS, TokenNB

INDEX = "/work/shared/corpora/spamassassin-public.tsv"
ROOT = "/tmp/sa_corpus"
CACHE = "/tmp/acc/feats.pkl"
SEEDS = (0, 1, 2)


def acc_extract():
    from spamscore.features import extract
    from spamscore.message import parse
    rows = list(csv.DictReader(open(INDEX), delimiter="\t"))
    feats = [extract(parse(open(os.path.join(ROOT, r["path"]), "rb").read())) for r in rows]
    os.makedirs(os.path.dirname(CACHE), exist_ok=True)
    with open(CACHE, "wb") as fh:
        pickle.dump((rows, feats), fh)


def load(split="train", drop=None):
    """(docs, y, paths) of a split; ``drop(token) -> bool`` filters features."""
    if not os.path.exists(CACHE):
        acc_extract()
    with open(CACHE, "rb") as fh:
        rows, feats = pickle.load(fh)
    keep = [i for i, r in enumerate(rows) if r["split"] == split]
    docs = [feats[i] for i in keep]
    if drop is not None:
        docs = [[t for t in d if not drop(t)] for d in docs]
    y = np.array([rows[i]["label"] == "spam" for i in keep], dtype=np.int8)
    return docs, y, [rows[i]["path"] for i in keep]


# -- families -----------------------------------------------------------------
_HEADERISH = {"hdr", "received", "msg", "part", "charset", "attach", "defect", "boundary", "auth", "dkim",
              "spf-hdr", "date", "message-id"}
_URLISH = {"url", "url-path", "url-host", "html", "proto"}
FAMILIES = ("body", "subject", "header", "url")


def family_of(tok: str, header_names: set[str]) -> int:
    head, sep, _ = tok.partition(":")
    if not sep:
        return 0
    if head == "subject":
        return 1
    if head in _URLISH:
        return 3
    if head in _HEADERISH or head in header_names:
        return 2
    return 0


class Data:
    def __init__(self, docs, y, priors=None):
        self.docs, self.y = docs, np.asarray(y)
        vocab = {tok: i for i, tok in enumerate(priors if priors is not None else AUTH_PRIORS)}
        rows = []
        for d in docs:
            rows.append(np.sort(np.fromiter((vocab.setdefault(t, len(vocab)) for t in set(d) if "\n" not in t),
                                            dtype=np.int64)))
        self.vocab, self.rows = vocab, rows
        self.tokens = list(vocab)
        names = {t[4:] for t in vocab if t.startswith("hdr:")}
        self.fam = np.array([family_of(t, names) for t in self.tokens], dtype=np.int64)
        self.size = len(vocab)

    def counts(self, which, weights=None):
        y = self.y
        w = np.ones(len(self.docs)) if weights is None else weights
        sp = np.zeros(self.size)
        hm = np.zeros(self.size)
        for i in which:
            (sp if y[i] else hm)[self.rows[i]] += w[i]
        return sp, hm

    def folds(self, seed, k=5):
        skf = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
        return [(a, b) for a, b in skf.split(np.zeros(len(self.y)), self.y)]


def f_values(data: Data, spam, ham, n_spam, n_ham, params):
    nb = TokenNB.from_counts(data.vocab, np.zeros(data.size, np.int64), np.zeros(data.size, np.int64),
                             1, 1, **{k: v for k, v in params.items() if k in TokenNB._PARAMS})
    nb.spam_counts_, nb.ham_counts_ = spam, ham   # float counts allowed (weighting experiments)
    nb.n_spam_, nb.n_ham_ = n_spam, n_ham
    return nb.token_probabilities()


def doc_stats(data: Data, f, idx, params, fams=True):
    """Per document of ``idx``: [S, logit-ish, k] overall and S per family.

    Returns array (len(idx), 1 + nfam) of S values and k counts.
    """
    min_dev = params.get("min_dev", 0.375)
    max_clues = params.get("max_clues", 1000)
    min_count = params.get("min_count", 0)
    cnt = params.get("_n")  # total counts in the training folds, for min_count
    fc = np.clip(f, 1e-9, 1 - 1e-9)
    strong = np.abs(f - 0.5) >= min_dev
    if min_count and cnt is not None:
        strong &= cnt >= min_count
    lf, l1 = np.log(fc), np.log1p(-fc)
    lo = lf - l1
    nf = len(FAMILIES)
    out = np.zeros((len(idx), 2 + nf))
    ks = np.zeros((len(idx), 1 + nf))
    for j, i in enumerate(idx):
        r = data.rows[i]
        r = r[strong[r]]
        if len(r) > max_clues:
            o = lo[r]
            r = np.sort(r[np.lexsort((o, -np.abs(o)))[:max_clues]])
        out[j, :2] = _s(lf[r].sum(), l1[r].sum(), len(r)), len(r)
        ks[j, 0] = len(r)
        if fams:
            fm = data.fam[r]
            slf = np.bincount(fm, lf[r], nf)
            sl1 = np.bincount(fm, l1[r], nf)
            kk = np.bincount(fm, minlength=nf)
            c = params.get("fam_c", 0.0)   # neutral pseudo-clues (f = 0.5) per family
            for q in range(nf):
                out[j, 2 + q] = _s(slf[q] + c * _LN_HALF, sl1[q] + c * _LN_HALF, kk[q] + c) if kk[q] else 0.0
            ks[j, 1:] = kk
    return out, ks


_LN_HALF = math.log(0.5)


def _s(slf, sl1, k):
    if k == 0:
        return 0.0
    p = -math.expm1(sl1 / k)
    q = -math.expm1(slf / k)
    return (p - q) / (p + q) if p + q > 0 else 0.0


def cv_stats(data: Data, params, seed, weights=None, fams=True):
    y = data.y
    tot_s, tot_h = data.counts(range(len(y)), weights)
    w = np.ones(len(y)) if weights is None else weights
    st = np.zeros((len(y), 2 + len(FAMILIES)))
    ks = np.zeros((len(y), 1 + len(FAMILIES)))
    for a, b in data.folds(seed):
        hs, hh = data.counts(b, weights)
        sp, hm = tot_s - hs, tot_h - hh
        ns, nh = float((w[a] * (y[a] == 1)).sum()), float((w[a] * (y[a] == 0)).sum())
        f = f_values(data, sp, hm, ns, nh, params)
        p = dict(params, _n=sp + hm)
        st[b], ks[b] = doc_stats(data, f, b, p, fams)
    return st, ks


def metrics(y, s):
    return (100 * (1 - roc_auc_score(y, s)), 100 * fnr_at_fpr(y, s, 0.001), 100 * fnr_at_fpr(y, s, 0.01))


def lr_score(X, y, cv_seed=None, C=1.0):
    """Logistic combination: in-sample (as the old cv.py), or cross-validated (cv_seed)."""
    lr = LogisticRegression(C=C, max_iter=2000)
    if cv_seed is None:
        lr.fit(X, y)
        return X @ lr.coef_[0]
    return cross_val_predict(lr, X, y, cv=StratifiedKFold(5, shuffle=True, random_state=100 + cv_seed),
                             method="decision_function")


def fmt(r):
    return "%.4f / %.2f / %.2f" % tuple(r)


def check(data, params=None):
    """The fast statistics equal Model.evidence's S on fold models fitted the slow way."""
    from spamscore.scoring import Model
    params = params or {}
    st, _ = cv_stats(data, params, 0, fams=False)
    a, b = data.folds(0)[0]
    m = Model(TokenNB(**params).fit([data.docs[i] for i in a], data.y[a]))
    diff = max(abs(m.evidence(data.docs[i])[2] - st[i, 0]) for i in b[:300])
    print("max |S diff| on 300 docs:", diff, file=sys.stderr)
    assert diff < 1e-9
