#!/usr/bin/env python3
"""Measure the classifier choices behind spamscore's model on the fixed split.

    python training/compare_models.py --corpus /tmp/sa/sa_corpus [--out training/COMPARISON.json]

Same features for every row (spamscore.features.extract); trained on the train half, scored on the test half:
- scikit-learn MultinomialNB / BernoulliNB / ComplementNB over a binary document-term matrix (vocabulary);
- spamscore's TokenNB (Robinson f(w) + Fisher chi-square) over a vocabulary, and over hashed features
  (zlib.crc32 modulo 2^18 and 2^20: what a HashingVectorizer/FeatureHasher would give);
- ranking by SpamBayes' indicator I alone, by z alone, and by the calibrated combination spamscore uses.
Reports (1-AUC)%, FNR at FPR <= 0.1%, model size and lookup time.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import time
import zlib
from pathlib import Path

import numpy as np
from scipy import sparse
from sklearn.naive_bayes import BernoulliNB, ComplementNB, MultinomialNB

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
from spamscore.features import extract  # noqa: E402
from spamscore.message import parse  # noqa: E402
from spamscore.metrics import fnr_at_fpr  # noqa: E402
from spamscore.model import TokenNB, save_model_file  # noqa: E402
from spamscore.scoring import train  # noqa: E402
from sklearn.metrics import roc_auc_score  # noqa: E402


def load(corpus: Path):
    rows = list(csv.DictReader(open(REPO / "data" / "spamassassin-public.tsv"), delimiter="\t"))
    feats = [extract(parse((corpus / r["path"]).read_bytes())) for r in rows]
    y = np.array([r["label"] == "spam" for r in rows], dtype=int)
    tr = np.array([r["split"] == "train" for r in rows])
    return feats, y, tr


def matrix(docs, vocab, grow):
    indptr, indices = [0], []
    for d in docs:
        for t in set(d):
            i = vocab.get(t)
            if i is None and grow:
                i = vocab[t] = len(vocab)
            if i is not None:
                indices.append(i)
        indptr.append(len(indices))
    return sparse.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(len(docs), len(vocab)))


def row(name, y, s, size=None, us=None):
    return {"system": name, "one_minus_auc_pct": 100 * (1 - roc_auc_score(y, s)),
            "fnr_at_fpr_0_1_pct": 100 * fnr_at_fpr(y, s, 0.001), "model_kib": size, "us_per_msg": us}


def size_of(nb):
    buf = io.BytesIO()
    import tempfile, os
    with tempfile.TemporaryDirectory() as tmp:
        return save_model_file(os.path.join(tmp, "m"), nb, {"feature_version": "x"}) / 1024


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=REPO / "training" / "COMPARISON.json")
    a = ap.parse_args(argv)
    feats, y, tr = load(a.corpus)
    Xtr = [feats[i] for i in np.flatnonzero(tr)]
    Xte = [feats[i] for i in np.flatnonzero(~tr)]
    ytr, yte = y[tr], y[~tr]
    out = []
    vocab: dict = {}
    Mtr = matrix(Xtr, vocab, True)
    Mte = matrix(Xte, vocab, False)
    for name, est in [("sklearn MultinomialNB (binary counts)", MultinomialNB(alpha=0.1)),
                      ("sklearn BernoulliNB", BernoulliNB(alpha=0.1)),
                      ("sklearn ComplementNB", ComplementNB(alpha=0.1))]:
        est.fit(Mtr, ytr)
        t = time.perf_counter()
        jll = est.predict_joint_log_proba(Mte) if hasattr(est, "predict_joint_log_proba") else est.predict_log_proba(Mte)
        us = (time.perf_counter() - t) / len(Xte) * 1e6
        out.append(row(name, yte, jll[:, 1] - jll[:, 0], None, us))
    model = train(Xtr, ytr)
    nb = model.nb
    t = time.perf_counter()
    stats = np.array([model.evidence(d) for d in Xte])
    us = (time.perf_counter() - t) / len(Xte) * 1e6
    kib = size_of(nb)
    out.append(row("TokenNB vocabulary, Fisher: SpamBayes indicator I only", yte, stats[:, 0], kib, us))
    out.append(row("TokenNB vocabulary, Fisher: z = ln Qh - ln Qs only", yte, stats[:, 1], kib, us))
    out.append(row("TokenNB vocabulary, Robinson geometric mean S (spamscore)", yte, stats[:, 2], kib, us))
    for bits in (18, 20):
        mask = (1 << bits) - 1
        h = lambda d: [f"h{zlib.crc32(t.encode('utf-8', 'surrogatepass')) & mask}" for t in d]
        Htr = [h(d) for d in Xtr]; Hte = [h(d) for d in Xte]
        m2 = train(Htr, ytr)
        t = time.perf_counter()
        sc = np.array([m2.score_features(d).score for d in Hte])
        us = (time.perf_counter() - t) / len(Xte) * 1e6
        out.append(row(f"TokenNB hashed 2^{bits} (crc32), calibrated (as spamscore)", yte, sc, size_of(m2.nb), us))
    a.out.write_text(json.dumps(out, indent=2) + "\n")
    for r in out:
        print(f"{r['system']:55s} {r['one_minus_auc_pct']:.4f}  {r['fnr_at_fpr_0_1_pct']:6.2f}%  "
              f"{r['model_kib'] or 0:6.0f} KiB  {r['us_per_msg'] or 0:6.1f} us")


if __name__ == "__main__":
    main()
