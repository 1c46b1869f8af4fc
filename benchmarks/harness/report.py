"""The results: one table (markdown and JSON), spamscore's ratios to each peer, the
ROC plot, the stage breakdown, the profile and the scaling tables."""

from __future__ import annotations

import json
import math
import os


def _f(v, fmt="{:.3f}", none="n/m"):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return none
    return fmt.format(v)


def _mib(kb):
    return None if kb is None else kb / 1024


def _size(b):
    if b is None:
        return "n/m"
    return f"{b / 1024:.0f} KiB" if b < 10 * 1024 ** 2 else f"{b / 1024 ** 2:.1f} MiB"


def _ratio(a, b):
    if a is None or b is None or b == 0 or (isinstance(a, float) and math.isnan(a)) or \
            (isinstance(b, float) and math.isnan(b)):
        return None
    return a / b


def ratios(systems: list[dict]) -> list[dict]:
    """spamscore's figure divided by each peer's, all measured in this run."""
    ss = next((s for s in systems if s["key"] == "spamscore" and s.get("metrics")), None)
    if ss is None:
        return []
    out = []
    for p in systems:
        if p is ss or not p.get("metrics"):
            continue
        m = p["metrics"]
        m0 = p.get("spamscore_same_subset") or ss["metrics"]
        out.append({
            "peer": p["system"], "messages": m.get("messages"), "subset": bool(p.get("spamscore_same_subset")),
            "one_minus_auc": _ratio(m0.get("one_minus_auc_pct"), m.get("one_minus_auc_pct")),
            "fnr_at_fpr_0_1": _ratio(m0.get("fnr_at_fpr_0_1_pct"), m.get("fnr_at_fpr_0_1_pct")),
            "fnr_at_fpr_1": _ratio(m0.get("fnr_at_fpr_1_pct"), m.get("fnr_at_fpr_1_pct")),
            "speed_1": _ratio(ss.get("msgs_per_s_1"), p.get("msgs_per_s_1")),
            "speed_all": _ratio(ss.get("msgs_per_s_all"), p.get("msgs_per_s_all")),
            "speed_cpu": _ratio(ss.get("msgs_per_cpu_s"), p.get("msgs_per_cpu_s")),
            "train_time": _ratio(ss.get("train_s"), p.get("train_s")),
            "peak_rss": _ratio(ss.get("score_maxrss_kb"), p.get("score_maxrss_kb")),
            "model_size": _ratio(ss.get("model_bytes"), p.get("model_bytes")),
        })
    return out


def main_table(systems: list[dict]) -> str:
    head = ("| system | (1-AUC)% | FPR % | FNR % | FNR % at 0.1% FPR | FNR % at 1% FPR | train s | "
            "msgs/s, 1 process | msgs/s, all cores | msgs per CPU-s | peak RSS MiB | model size |")
    lines = [head, "|" + "---|" * 12]
    shown: set = set()
    for s in systems:
        m = s.get("metrics")
        if not m:
            lines.append(f"| {s['system']} | not run: {s.get('skipped', 'unknown')} |" + " |" * 10)
            continue
        lines.append(
            f"| {s['system']} | {_f(m.get('one_minus_auc_pct'))} | {_f(m.get('fpr_pct'), '{:.2f}')} | "
            f"{_f(m.get('fnr_pct'), '{:.2f}')} | {_f(m.get('fnr_at_fpr_0_1_pct'), '{:.1f}')} | "
            f"{_f(m.get('fnr_at_fpr_1_pct'), '{:.1f}')} | {_f(s.get('train_s'), '{:.1f}')} | "
            f"{_f(s.get('msgs_per_s_1'), '{:,.0f}')} | {_f(s.get('msgs_per_s_all'), '{:,.0f}')} | "
            f"{_f(s.get('msgs_per_cpu_s'), '{:,.0f}')} | "
            f"{_f(_mib(s.get('score_maxrss_kb')), '{:.0f}')} | {_size(s.get('model_bytes'))} |")
        sub = s.get("spamscore_same_subset")
        if sub and sub["messages"] not in shown:
            shown.add(sub["messages"])
            lines.append(f"| *spamscore on the same {sub['messages']} test messages* | "
                         f"{_f(sub.get('one_minus_auc_pct'))} | {_f(sub.get('fpr_pct'), '{:.2f}')} | "
                         f"{_f(sub.get('fnr_pct'), '{:.2f}')} | {_f(sub.get('fnr_at_fpr_0_1_pct'), '{:.1f}')} | "
                         f"{_f(sub.get('fnr_at_fpr_1_pct'), '{:.1f}')} | | | | | | |")
    return "\n".join(lines)


def ratio_table(rs: list[dict]) -> str:
    lines = ["| spamscore / peer | (1-AUC) | FNR at 0.1% FPR | FNR at 1% FPR | speed, 1 process | "
             "speed, all cores | speed per CPU-s | training time | peak RSS | model size |", "|" + "---|" * 10]
    for r in rs:
        f = lambda k, fmt="{:.2f}": _f(r[k], fmt, "n/a")  # noqa: E731
        peer = r["peer"] + (f" ({r['messages']} msgs)" if r.get("subset") else "")
        lines.append(f"| {peer} | {f('one_minus_auc')} | {f('fnr_at_fpr_0_1')} | {f('fnr_at_fpr_1')} | "
                     f"{f('speed_1', '{:.1f}x')} | {f('speed_all', '{:.1f}x')} | {f('speed_cpu', '{:.2f}x')} | {f('train_time')} | "
                     f"{f('peak_rss')} | {f('model_size')} |")
    return "\n".join(lines)


def paired_table(p: dict) -> str:
    """One row per round of the paired speed passes, then the medians (and the ratios' range)."""
    lines = ["| round | first | spamscore msgs/s | Bogofilter msgs/s | ratio | spamscore msgs per CPU-s | "
             "Bogofilter msgs per CPU-s | ratio | load average |", "|" + "---|" * 9]
    n0 = lambda v: _f(v, "{:,.0f}")  # noqa: E731
    x = lambda v: _f(v, "{:.2f}x")  # noqa: E731
    for r in p["rounds"]:
        ss, bf = r["spamscore"], r["bogofilter"]
        first = "spamscore" if r["first"] == "spamscore" else "Bogofilter"
        lines.append(f"| {r['round']} | {first} | {n0(ss['msgs_per_s'])} | {n0(bf['msgs_per_s'])} | "
                     f"{x(r['ratio_msgs_per_s'])} | {n0(ss['msgs_per_cpu_s'])} | {n0(bf['msgs_per_cpu_s'])} | "
                     f"{x(r['ratio_msgs_per_cpu_s'])} | {_f((r.get('load') or [None])[0], '{:.2f}')} |")
    s, c = p["ratio_msgs_per_s"], p["ratio_msgs_per_cpu_s"]
    lines.append(f"| **median** | | {n0(p['spamscore_msgs_per_s'])} | {n0(p['bogofilter_msgs_per_s'])} | "
                 f"**{x(s['median'])}** | {n0(p['spamscore_msgs_per_cpu_s'])} | {n0(p['bogofilter_msgs_per_cpu_s'])} | "
                 f"**{x(c['median'])}** | |")
    lines.append(f"| min - max | | | | {x(s['min'])} - {x(s['max'])} | | | {x(c['min'])} - {x(c['max'])} | |")
    return "\n".join(lines)


def paired_section(p: dict) -> list[str]:
    """The markdown lines of the paired speed passes (or why they are missing)."""
    out = ["## Speed beside Bogofilter, paired passes (the figure for the speed target)", ""]
    if p.get("failed"):
        return out + [f"Not measured: {p['failed']}", ""]
    return out + [
        f"After training, {len(p['rounds'])} round(s), each one `spamscore score --jobs 1` pass and one "
        f"`bogofilter -B` pass over the {p['messages']} test messages, which system goes first alternating from "
        "round to round: the machine's speed drift falls on both alike, so the per-round ratio "
        "spamscore / Bogofilter (above 1: spamscore faster) is the figure to read for the speed target, "
        "not the ratio of the table's figures measured minutes apart. "
        "spamscore msgs/s: steady state, as in the table; Bogofilter msgs/s: messages / wall time, as in its "
        "reference script. msgs per CPU-s: CPU time of the pass minus that of a one-message run of the same "
        "system in the same round. Load average: 1-minute, at the start of the round.", "",
        paired_table(p), ""]


def stages_table(st: dict) -> str:
    lines = ["| stage | function | CPU µs per message |", "|---|---|---|"]
    depth = {None: 0}
    for r in st["rows"]:
        d = depth.get(r["parent"], 0) + (1 if r["parent"] else 0)
        depth[r["stage"]] = d
        lines.append(f"| {'&nbsp;&nbsp;' * 2 * d}{r['stage']} | `{r['function']}` | {_f(r['us_per_msg'], '{:.1f}')} |")
    return "\n".join(lines)


def profile_table(pr: dict) -> str:
    lines = ["| # | function | calls | own s | own % | cumulative s |", "|---|---|---|---|---|---|"]
    for i, r in enumerate(pr["top"], 1):
        fn = r["function"].replace("|", "\\|")
        lines.append(f"| {i} | `{fn}` | {r['calls']:,} | {r['tottime_s']:.3f} | {r['tottime_pct']:.1f} | "
                     f"{r['cumtime_s']:.3f} |")
    return "\n".join(lines)


def size_table(sz: dict) -> str:
    shapes = list(sz["fits"])
    sizes = sorted({r["target_bytes"] for r in sz["rows"]})
    lines = ["| message size | " + " | ".join(f"{s}, CPU ms" for s in shapes) + " |", "|---|" + "---|" * len(shapes)]
    for size in sizes:
        cells = []
        for shape in shapes:
            r = next((r for r in sz["rows"] if r["shape"] == shape and r["target_bytes"] == size), None)
            cells.append("" if r is None else f"{r['ms']:.2f}" + (" (truncated)" if r["truncated"] else ""))
        lines.append(f"| {_human(size)} | " + " | ".join(cells) + " |")
    lines.append("| log-log slope, all sizes | " + " | ".join(
        f"{_f(sz['fits'][s]['slope'], '{:.2f}')} ({sz['fits'][s]['growth']})" for s in shapes) + " |")
    lines.append("| log-log slope, up to 100 KB | " + " | ".join(
        f"{_f(sz['fits'][s]['slope_up_to_100k'], '{:.2f}')} ({sz['fits'][s]['growth_up_to_100k']})" for s in shapes) + " |")
    return "\n".join(lines)


def _human(n: int) -> str:
    for unit, k in (("MB", 10 ** 6), ("KB", 10 ** 3)):
        if n >= k:
            return f"{n / k:g} {unit}"
    return f"{n} B"


def train_table(tr: dict) -> str:
    lines = ["| messages | CPU s | of which features (wall) s | msgs per CPU-s | vocabulary |", "|---|---|---|---|---|"]
    for r in tr["rows"]:
        lines.append(f"| {r['messages']:,}{' (repeated)' if r['repeated'] else ''} | {r['seconds']:.1f} | "
                     f"{_f(r['extract_seconds'], '{:.1f}')} | {r['msgs_per_s']:.0f} | {_f(r['vocabulary'], '{:,}')} |")
    lines.append(f"| log-log slope | {_f(tr['slope'], '{:.2f}')} ({tr['growth']}) | | | |")
    return "\n".join(lines)


def roc_plot(curves: list[tuple[str, object, object]], path: str, title: str) -> str | None:
    """All systems' ROC curves on one figure, false-positive rate on a log axis."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (pip install -e '.[bench]'): no ROC plot"
    from sklearn.metrics import roc_curve

    fig, axes = plt.subplots(1, 2, figsize=(13, 5.5), dpi=100)
    floor = 1.0
    data = []
    for name, y, s in curves:
        fpr, tpr, _ = roc_curve(y, s)
        lo = 0.5 / max(int((y == 0).sum()), 1)
        floor = min(floor, lo)
        data.append((name, [max(f, lo) for f in fpr], tpr))
    for ax, (ylo, sub) in zip(axes, ((0.0, "whole range"), (0.8, "top: true-positive rate from 0.8"))):
        for name, fpr, tpr in data:
            ax.step(fpr, tpr, where="post", label=name, linewidth=1.5)
        ax.set_xscale("log")
        ax.set_xlim(floor, 1.0)
        ax.set_ylim(ylo, 1.002)
        for x in (0.001, 0.01):
            ax.axvline(x, color="grey", linewidth=0.6, linestyle=":")
        ax.set_xlabel("false-positive rate (log scale; 0 drawn at 0.5/n_ham)")
        ax.set_ylabel("true-positive rate (share of spam caught)")
        ax.set_title(sub, fontsize=10)
        ax.grid(True, which="both", alpha=0.25)
        ax.legend(loc="lower right", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return None


def markdown(res: dict) -> str:
    meta = res["meta"]
    out = [f"# spamscore beside its peers: latest run", "",
           f"Run {meta['finished_utc']} on {meta['cpus']} cores; load average at start {meta['load_start']}, "
           f"at end {meta['load_end']} (other work shared the machine: compare only figures from one run). ",
           f"Command: `{meta['command']}`  ",
           f"Corpus: {meta['corpus']['source']} ({meta['corpus']['counts']}); {'; '.join(meta['corpus']['notes'])}.  ",
           f"spamscore {meta['spamscore_version']} (git {meta['git']}), Python {meta['python']}; "
           + ", ".join(f"{k} {v}" for k, v in meta["peer_versions"].items() if v) + ".", "",
           "## Accuracy and speed (test half of the fixed split)", "", main_table(res["systems"]), "",
           "FPR / FNR at each system's own default cut-off, unsure counted as not spam. "
           "Times are medians of the passes; msgs/s exclude the model-load start-up where the start-up "
           "could be measured separately (spamscore: see below). n/m = not measured.", ""]
    rs = res.get("ratios")
    if rs:
        out += ["## spamscore relative to each peer (same run)", "",
                "Error, time, memory and size ratios: spamscore's figure / the peer's (below 1: spamscore better). "
                "Speed ratios: spamscore's messages per second / the peer's (above 1: spamscore faster).", "",
                ratio_table(rs), ""]
    if res.get("paired"):
        out += paired_section(res["paired"])
    if res.get("roc_png"):
        out += [f"![ROC curves]({res['roc_png']})", ""]
    out += ["## Notes per system", ""]
    for s in res["systems"]:
        notes = list(s.get("notes", []))
        if s.get("skipped"):
            notes.insert(0, f"not run: {s['skipped']}")
        out.append(f"- **{s['system']}**{' ' + s['version'] if s.get('version') else ''}: " + "; ".join(notes))
    ss = next((s for s in res["systems"] if s["key"] == "spamscore" and s.get("metrics")), None)
    if ss:
        j1 = ss["cli"]["jobs1"]
        out += ["", f"spamscore CLI start-up (interpreter, imports, model load, one message): "
                f"{j1['startup_s']:.2f} s (median time to the first result), left out of the msgs/s above, which "
                f"count results from the one at 10% of the output to the last; including it, --jobs 1 scores "
                f"{j1['msgs_per_s_incl_startup']:,.0f} msgs/s. msgs per CPU-s: user+system CPU time of the --jobs 1 run "
                f"minus that of a one-message run (start-up), from /usr/bin/time; far less sensitive to other load "
                f"than wall time. Training used {ss['cli']['train_cpu_s']:.1f} CPU-s. "
                f"Training output: `{ss['cli']['train_output']}`"]
    st = res.get("stages")
    if st:
        out += ["", "## Where spamscore's time goes (library, one process)", "",
                f"{st['messages']} test messages, median of {st['passes']} passes, inclusive CPU times "
                f"(time.process_time) with timers wrapped around each stage. Without the timers: "
                f"{st['plain_us_per_msg']:.0f} CPU-µs per message ({st['plain_msgs_per_s']:,.0f} msgs per CPU-s).", "", stages_table(st)]
        if st.get("not_measured"):
            out += ["", f"Not measured (function not found in this engine version): {', '.join(st['not_measured'])}"]
    pr = res.get("profile")
    if pr:
        out += ["", f"### cProfile: top {len(pr['top'])} by own time ({pr['messages']} messages, "
                f"{pr['total_s']:.2f} s under the profiler)", "", profile_table(pr)]
    sz = res.get("scaling_size")
    if sz:
        out += ["", "## Scoring time against message size (library, `Model.score`, generated messages)", "",
                f"text: one plain body; html: short text plus a huge HTML part; attachment: short text plus a "
                f"huge base64 attachment. The parser reads at most {sz.get('parse_max_bytes')} bytes of a "
                f"message (truncated = the limit applied).", "", size_table(sz)]
    tr = res.get("scaling_train")
    if tr:
        out += ["", "## Training time against corpus size (library, `batch.train_items`, one process)", "",
                "Messages drawn from the whole corpus (both halves); features, counts and the cross-validated "
                "calibration included.", "", train_table(tr)]
    out.append("")
    return "\n".join(out)


def write(res: dict, outdir: str, name: str = "latest") -> dict:
    os.makedirs(outdir, exist_ok=True)
    paths = {"md": os.path.join(outdir, f"{name}.md"), "json": os.path.join(outdir, f"{name}.json")}
    clean = json.loads(json.dumps(res, default=_jsonable))
    with open(paths["json"], "w") as fh:
        json.dump(clean, fh, indent=1, sort_keys=False)
        fh.write("\n")
    with open(paths["md"], "w") as fh:
        fh.write(markdown(res))
    return paths


def _jsonable(o):
    try:
        import numpy as np

        if isinstance(o, np.generic):
            return o.item()
    except ImportError:
        pass
    return str(o)


def write_results(out: str, name: str, res: dict, text: str) -> tuple[str, str]:
    """Write a benchmark's ``<out>/<name>.json`` (``res``) and ``<out>/<name>.md`` (``text``); their paths."""
    os.makedirs(out, exist_ok=True)
    jpath, mpath = os.path.join(out, f"{name}.json"), os.path.join(out, f"{name}.md")
    with open(jpath, "w") as fh:
        json.dump(res, fh, indent=1, default=str)
        fh.write("\n")
    with open(mpath, "w") as fh:
        fh.write(text)
    return jpath, mpath
