"""5-fold CV of the feature extractor on the TRAIN half only (tune helper).

Usage: python training/experiments/cv.py [--test] [--s S --x X --min-dev D]
Raw bytes are cached in /tmp/tune_raw.pkl.  Prints (1-AUC)% and FNR@0.1%FPR of
the ranking score (logistic combination of logit I and z, as scoring.train
does; the two calibration weights are fitted on the pooled CV statistics),
and of logit I alone.  --test trains on the whole train half and scores the
test half (confirmation only, never for tuning).
"""
from __future__ import annotations

import argparse
import os
import pickle
import sys
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from spamscore.features import extract
from spamscore.message import parse
from spamscore.metrics import summarize
from spamscore.model import TokenNB
from spamscore.scoring import Model

INDEX = "/work/shared/corpora/spamassassin-public.tsv"
ROOT = "/tmp/sa_corpus"
CACHE = "/tmp/tune_raw.pkl"


def load_raw():
    if os.path.exists(CACHE):
        with open(CACHE, "rb") as fh:
            return pickle.load(fh)
    data = {"train": [], "test": []}
    with open(INDEX) as fh:
        next(fh)
        for line in fh:
            path, label, split, _ = line.rstrip("\n").split("\t")
            with open(os.path.join(ROOT, path), "rb") as f:
                data[split].append((path, 1 if label == "spam" else 0, f.read()))
    with open(CACHE, "wb") as fh:
        pickle.dump(data, fh)
    return data


def featurize(rows):
    t0 = time.perf_counter()
    docs = [extract(parse(raw)) for _, _, raw in rows]
    dt = time.perf_counter() - t0
    return docs, np.array([y for _, y, _ in rows]), dt


def stats_for(nb, docs):
    m = Model(nb)
    out = np.zeros((len(docs), 2))
    for i, d in enumerate(docs):
        li, z, _, _ = m.statistics(d)
        out[i] = (li, z)
    return out


def report(name, y, st, paths=None):
    lr = LogisticRegression(C=1.0, max_iter=1000).fit(st, y)
    score = st @ lr.coef_[0] + lr.intercept_[0]
    if paths is not None:
        order = np.argsort(-np.where(y == 0, score, -np.inf))[:4]
        print("  top ham:", [(paths[i], round(float(score[i]), 2)) for i in order])
    a = summarize(y, score)
    b = summarize(y, st[:, 0])
    print(f"{name}: combined (1-AUC)% {a['one_minus_auc_pct']:.4f} FNR@0.1% {a['fnr_at_fpr_0_1_pct']:.2f} "
          f"FNR@1% {a['fnr_at_fpr_1_pct']:.2f} | logitI {b['one_minus_auc_pct']:.4f} {b['fnr_at_fpr_0_1_pct']:.2f}")
    return a


def cv(docs, y, params, folds=5, seed=0):
    st = np.zeros((len(docs), 2))
    skf = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for tr, te in skf.split(np.zeros(len(y)), y):
        nb = TokenNB(**params).fit([docs[i] for i in tr], y[tr])
        st[te] = stats_for(nb, [docs[i] for i in te])
    return st


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--test", action="store_true")
    ap.add_argument("--s", type=float, default=0.0178)
    ap.add_argument("--x", type=float, default=0.52)
    ap.add_argument("--min-dev", type=float, default=0.375)
    ap.add_argument("--max-clues", type=int, default=1000)
    ap.add_argument("--show", action="store_true")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--grid", action="store_true", help="small grid over s, x, min_dev")
    args = ap.parse_args(argv)
    data = load_raw()
    docs, y, dt = featurize(data["train"])
    print(f"train extract: {len(docs)} msgs in {dt:.2f}s = {len(docs)/dt:.0f} msgs/s; "
          f"mean feats {np.mean([len(d) for d in docs]):.0f}")
    paths = [p for p, _, _ in data["train"]]
    params = dict(s=args.s, x=args.x, min_dev=args.min_dev, max_clues=args.max_clues)
    if args.grid:
        for s, x, md in [(0.0178, 0.52, 0.45), (0.0178, 0.52, 0.3), (0.0178, 0.6, 0.375), (0.05, 0.52, 0.375)]:
            p = dict(s=s, x=x, min_dev=md)
            t0 = time.perf_counter()
            res = [report(f"cv {p} seed {seed}", y, cv(docs, y, p, seed=seed)) for seed in range(args.seeds)]
            print("GRID {} MEAN: (1-AUC)% {:.4f} FNR@0.1% {:.2f} FNR@1% {:.2f} ({:.0f}s)".format(p,
                *(np.mean([r[k] for r in res]) for k in ("one_minus_auc_pct", "fnr_at_fpr_0_1_pct", "fnr_at_fpr_1_pct")),
                time.perf_counter() - t0), flush=True)
        return
    res = [report(f"cv seed {seed}", y, cv(docs, y, params, seed=seed), paths if args.show else None) for seed in range(args.seeds)]
    if args.seeds > 1:
        print("MEAN: (1-AUC)% {:.4f} FNR@0.1% {:.2f} FNR@1% {:.2f}".format(
            *(np.mean([r[k] for r in res]) for k in ("one_minus_auc_pct", "fnr_at_fpr_0_1_pct", "fnr_at_fpr_1_pct"))))
    if args.test:
        tdocs, ty, tdt = featurize(data["test"])
        nb = TokenNB(**params).fit(docs, y)
        cst = cv(docs, y, params)
        lr = LogisticRegression(C=1.0, max_iter=1000).fit(cst, y)
        st = stats_for(nb, tdocs)
        score = st @ lr.coef_[0] + lr.intercept_[0]
        a = summarize(ty, score)
        print(f"TEST: (1-AUC)% {a['one_minus_auc_pct']:.4f} FNR@0.1% {a['fnr_at_fpr_0_1_pct']:.2f} "
              f"FNR@1% {a['fnr_at_fpr_1_pct']:.2f}  (extract {len(tdocs)/tdt:.0f} msgs/s)")


if __name__ == "__main__":
    sys.exit(main())
