"""CV figures of the shipped training code path (scoring._cv_statistics + calibrate), train half only.

Usage: python training/experiments/acc_verify.py [nb_params as a Python dict]
For 3 seeds: the calibrated linear score of the cross-validated statistics
(the calibration's logistic regression fitted on them, as ``scoring.train``
does), (1-AUC)% / FNR at 0.1% FPR / FNR at 1% FPR, and S alone.
"""
import sys
import time

import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from acc_lib import SEEDS, fmt, load, metrics  # noqa: E402

from spamscore.folds import cv_statistics as _cv_statistics  # noqa: E402
from spamscore.scoring import calibrate  # noqa: E402

params = eval(sys.argv[1]) if len(sys.argv) > 1 else {}
docs, y, _ = load()
res, res_s = [], []
for seed in SEEDS:
    t = time.process_time()
    stats, _nb = _cv_statistics(docs, y, params, 5, seed)
    cal, spam_cut, ham_cut = calibrate(stats, y)
    lin = np.array([cal.linear(*row) for row in stats])
    res.append(metrics(y, lin))
    res_s.append(metrics(y, stats[:, 2]))
    print(f"seed {seed}: calibrated {fmt(res[-1])}  S alone {fmt(res_s[-1])}  {cal}  "
          f"cut-offs {spam_cut:.4f}/{ham_cut:.4f}  cpu {time.process_time() - t:.1f}s", flush=True)
print("mean calibrated", fmt(np.mean(res, 0)), "| S alone", fmt(np.mean(res_s, 0)))
