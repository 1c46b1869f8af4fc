"""Where spamscore's scoring time goes, measured through the library.

The stage timers wrap, for the duration of the measurement only, the functions the
engine looks up at call time (module globals of ``spamscore.features`` and
``spamscore.scoring``, methods of ``Model`` and ``TokenNB``), then score the sample
with the ordinary ``Model.score``.  So the breakdown follows whatever ``extract``
really calls: a stage whose function the engine no longer uses shows as not measured
instead of breaking the run.  Times are inclusive; ``other`` is what is left of a
parent stage.  Times are CPU time of the process (``time.process_time``), which a busy
shared machine distorts far less than wall time.  A cProfile of a plain (unwrapped) run gives the hot spots.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import statistics
import time

# CPU time of this process: on a shared machine, wall time inside a stage also counts the
# slices other processes ran in; CPU time does not.  (About 0.5 µs a reading.)
CLOCK = time.process_time

# (stage, module path, attribute, parent stage)
STAGES = [
    ("total (Model.score)", "spamscore.scoring", "Model.score", None),
    ("parse", "spamscore.scoring", "parse", "total (Model.score)"),
    ("features (extract)", "spamscore.features", "extract", "total (Model.score)"),
    ("analyze: html parse", "spamscore.features", "analyze_html", "features (extract)"),
    ("analyze: url discovery", "spamscore.features", "find_urls", "features (extract)"),
    ("tokens: body", "spamscore.features", "body_tokens", "features (extract)"),
    ("tokens: subject", "spamscore.features", "subject_tokens", "features (extract)"),
    ("tokens: headers", "spamscore.features", "header_tokens", "features (extract)"),
    ("urls", "spamscore.features", "url_features", "features (extract)"),
    ("html", "spamscore.features", "html_features", "features (extract)"),
    ("auth", "spamscore.features", "auth_features", "features (extract)"),
    ("score_features", "spamscore.scoring", "Model.score_features", "total (Model.score)"),
    ("lookup and clue sums", "spamscore.model", "TokenNB.clue_rows_sums", "score_features"),
    # the path Model.score takes when the compiled helpers are built (body words by hash)
    ("lookup and clue sums, body words by hash", "spamscore.model", "TokenNB.clue_rows_sums_h", "score_features"),
]


class _Timers:
    def __init__(self):
        self.acc: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self.patched: list[tuple[object, str, object]] = []

    def wrap(self, stage: str, owner, attr: str) -> bool:
        fn = owner.__dict__.get(attr) if isinstance(owner, type) else getattr(owner, attr, None)
        if fn is None or not callable(fn):
            return False
        acc, calls, clock = self.acc, self.calls, CLOCK
        acc.setdefault(stage, 0.0)
        calls.setdefault(stage, 0)

        def timed(*a, **kw):
            t0 = clock()
            try:
                return fn(*a, **kw)
            finally:
                acc[stage] += clock() - t0
                calls[stage] += 1

        self.patched.append((owner, attr, fn))
        setattr(owner, attr, timed)
        return True

    def restore(self):
        for owner, attr, fn in reversed(self.patched):
            setattr(owner, attr, fn)
        self.patched.clear()


def _resolve(modname: str, attr: str):
    import importlib

    mod = importlib.import_module(modname)
    if "." in attr:
        cls, meth = attr.split(".", 1)
        return getattr(mod, cls, None), meth
    return mod, attr


def score_fn(model):
    """``raw -> Verdict`` without clues if this engine version takes max_clues, else plain."""
    try:
        model.score(b"Subject: probe\r\n\r\nprobe\r\n", 0)
        return lambda raw: model.score(raw, 0)
    except TypeError:
        return model.score


def breakdown(model, raws: list[bytes], passes: int = 3) -> dict:
    """Microseconds per message for each stage (median of ``passes``), plus the plain
    (unwrapped) scoring time and the instrumentation overhead."""
    n = len(raws)
    score = score_fn(model)
    for raw in raws[:20]:   # warm caches (lazy scorer, regex compilation, tldextract)
        score(raw)
    plain = []
    for _ in range(passes):
        t0 = CLOCK()
        for raw in raws:
            score(raw)
        plain.append(CLOCK() - t0)
    per_pass: list[dict[str, float]] = []
    measured, missing = set(), []
    for _ in range(passes):
        t = _Timers()
        try:
            for stage, mod, attr, _parent in STAGES:
                owner, name = _resolve(mod, attr)
                if owner is not None and t.wrap(stage, owner, name):
                    measured.add(stage)
                elif stage not in missing:
                    missing.append(stage)
            for raw in raws:
                score(raw)
        finally:
            t.restore()
        per_pass.append({k: v for k, v in t.acc.items() if t.calls.get(k)})
    us = {}
    for stage, *_ in STAGES:
        vals = [p[stage] for p in per_pass if stage in p]
        if vals:
            us[stage] = 1e6 * statistics.median(vals) / n
    rows = []
    for stage, mod, attr, parent in STAGES:
        rows.append({"stage": stage, "function": f"{mod}.{attr}", "parent": parent,
                     "us_per_msg": us.get(stage)})
    # "remainder" rows: what a parent spends outside the children measured, placed after
    # the parent's last child
    names = {"features (extract)": "features: other (parts, attachments, set building)",
             "score_features": "prediction (combining, calibration, clues)",
             "total (Model.score)": "other (type checks, Verdict)"}
    for parent in ("features (extract)", "score_features", "total (Model.score)"):
        if parent in us:
            kids = sum(us.get(s, 0.0) for s, _, _, p in STAGES if p == parent)
            row = {"stage": names[parent], "function": "remainder", "parent": parent,
                   "us_per_msg": max(us[parent] - kids, 0.0)}
            last = max(i for i, r in enumerate(rows) if r["stage"] == parent or r["parent"] == parent)
            if parent == "total (Model.score)":
                last = len(rows) - 1
            rows.insert(last + 1, row)
    plain_us = 1e6 * statistics.median(plain) / n
    return {"messages": n, "passes": passes, "plain_us_per_msg": plain_us,
            "plain_msgs_per_s": 1e6 / plain_us,
            "instrumented_us_per_msg": us.get("total (Model.score)"),
            "rows": rows, "not_measured": [s for s in missing if s not in measured]}


def profile(model, raws: list[bytes], top: int = 20) -> dict:
    """cProfile of scoring ``raws``: the ``top`` functions by own time, and the text."""
    score = score_fn(model)
    pr = cProfile.Profile()
    pr.enable()
    for raw in raws:
        score(raw)
    pr.disable()
    st = pstats.Stats(pr)
    total = st.total_tt
    rows = []
    for (file, line, func), (cc, nc, tt, ct, _callers) in st.stats.items():
        rows.append({"function": f"{_short(file)}:{line}({func})", "calls": nc, "tottime_s": tt, "cumtime_s": ct,
                     "tottime_pct": 100 * tt / total if total else 0.0})
    rows.sort(key=lambda r: -r["tottime_s"])
    buf = io.StringIO()
    pstats.Stats(pr, stream=buf).sort_stats("tottime").print_stats(40)
    return {"messages": len(raws), "total_s": total, "top": rows[:top], "text": buf.getvalue()}


def _short(path: str) -> str:
    for marker in ("site-packages/", "/lib/python3", "spamscore/"):
        i = path.find(marker)
        if i >= 0:
            return path[i + len(marker):] if marker == "site-packages/" else path[i:] if marker == "spamscore/" else path[i + 1:]
    return path
