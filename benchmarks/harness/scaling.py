"""How cost grows: scoring time against message size, training time against corpus size.

Growth is summarised by the slope of log(time) against log(size) (least squares):
about 1 is linear, well below 1 means a cap (parsing limits) flattens the cost, above
1 is worse than linear.
"""

from __future__ import annotations

import math
import random
import statistics
import time

import numpy as np

from . import gen

# CPU time of this process (time.process_time): robust to other load on a shared machine
CLOCK = time.process_time

SIZES = [1_000, 10_000, 100_000, 1_000_000, 10_000_000]
SHAPES = ["text", "html", "attachment"]


def loglog_slope(xs, ys) -> float | None:
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys) if x and y and x > 0 and y > 0]
    if len(pts) < 2:
        return None
    a = np.array(pts)
    return float(np.polyfit(a[:, 0], a[:, 1], 1)[0])


def growth_word(slope: float | None) -> str:
    if slope is None:
        return "n/a"
    if slope < 0.25:
        return "flat (capped)"
    if slope < 0.85:
        return "sub-linear"
    if slope <= 1.15:
        return "linear"
    return "super-linear"


def message_size(model, sizes=SIZES, shapes=SHAPES, budget_s: float = 1.0) -> dict:
    """Median seconds of ``model.score(raw)`` per generated message of each shape and size."""
    from spamscore.message import parse

    from .stages import score_fn

    score = score_fn(model)
    rows = []
    for shape in shapes:
        for size in sizes:
            raw = gen.sized_message(shape, size)
            t0 = CLOCK()
            v = score(raw)
            first = CLOCK() - t0
            reps = max(1, min(50, int(budget_s / max(first, 1e-6))))
            times = [first]
            for _ in range(reps - 1):
                t0 = CLOCK()
                score(raw)
                times.append(CLOCK() - t0)
            limits = getattr(model, "limits", None)
            pm = parse(raw, limits) if limits is not None else parse(raw)
            rows.append({"shape": shape, "target_bytes": size, "bytes": len(raw), "reps": len(times),
                         "ms": 1e3 * statistics.median(times), "features": getattr(v, "n_features", None),
                         "truncated": bool(getattr(pm, "truncated", False)), "label": getattr(v, "label", None)})
    fits = {}
    for shape in shapes:
        rs = [r for r in rows if r["shape"] == shape]
        s_all = loglog_slope([r["bytes"] for r in rs], [r["ms"] for r in rs])
        small = [r for r in rs if r["bytes"] <= 200_000]
        s_small = loglog_slope([r["bytes"] for r in small], [r["ms"] for r in small])
        fits[shape] = {"slope": s_all, "growth": growth_word(s_all),
                       "slope_up_to_100k": s_small, "growth_up_to_100k": growth_word(s_small)}
    limit = getattr(getattr(model, "limits", None), "max_bytes", None)
    return {"rows": rows, "fits": fits, "parse_max_bytes": limit}


def training_size(raws: list[tuple[bytes, str]], sizes, seed: int = 0, folds: int | None = None) -> dict:
    """Seconds of ``batch.train_items`` (features + counts + cross-validated calibration,
    one process) on ``n`` messages drawn from ``raws``; beyond len(raws) messages repeat."""
    from spamscore.batch import train_items
    from spamscore.corpus import Item

    rng = random.Random(seed)
    rows = []
    for n in sizes:
        if n <= len(raws):
            pick = rng.sample(raws, n)
        else:
            pick = [raws[i % len(raws)] for i in range(n)]
            rng.shuffle(pick)
        items = [Item(f"m{i}", raw, label) for i, (raw, label) in enumerate(pick)]
        kw = {} if folds is None else {"folds": folds}
        t0, c0 = time.perf_counter(), CLOCK()
        model, rep = train_items(items, jobs=1, **kw)
        wall, cpu = time.perf_counter() - t0, CLOCK() - c0
        rows.append({"messages": n, "repeated": n > len(raws), "seconds": cpu, "wall_seconds": wall,
                     "extract_seconds": getattr(rep, "extract_seconds", None),
                     "msgs_per_s": n / cpu, "vocabulary": getattr(rep, "vocabulary", None)})
    s = loglog_slope([r["messages"] for r in rows], [r["seconds"] for r in rows])
    return {"rows": rows, "slope": s, "growth": growth_word(s)}
