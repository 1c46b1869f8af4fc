#!/usr/bin/env python3
"""Across corpora, beside Bogofilter in one run: the shipped model and Bogofilter, both trained on the same set.

    python benchmarks/cross_corpus.py                 # unpacks ../shared/corpora/*.tar.xz under /tmp/corp
    python benchmarks/cross_corpus.py --model my.spamscore --no-bogofilter

Judged on three sets (issue 18):

* the SpamAssassin test half (3,012 messages: the same mailbox as the training half);
* CSDMC 2010 minus the SA corpus (1,989 messages of 2009-2010 mail from other people; a validation set, never
  trained on: ``../shared/corpora/README.md``);
* the labelled fixtures of today's mail (``tests/fixtures/modern`` and the campaign fixtures), scored as their
  receiver ``mx.example.net`` would (its Authentication-Results believed) and, for spamscore, also as unsent.

The training set is the shipped model's: the SA train half and the modern supplement (``data/modern_supplement.py``,
640 synthetic messages of 2020s mail; ``--no-supplement`` for the SA half alone, with ``--model`` of a model trained
that way).  Bogofilter 1.2.5 is trained the way ``../shared/peers/run_bogofilter.py`` trains it (``-s -B`` / ``-n -B``
on that set, compiled-in defaults, ``-C``) and scores with its full-precision spamicity.  Writes
``benchmarks/results/cross_corpus.{json,md}``; the model card quotes it (``training/build_default.py --card-only``).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "training"))
sys.path.insert(0, str(REPO))

import cross_corpus as X  # noqa: E402  (training/cross_corpus.py: the sets and the fixture list)

import spamscore  # noqa: E402
from spamscore.metrics import summarize  # noqa: E402

OUT = REPO / "benchmarks" / "results"
TRUSTED = ("mx.example.net",)


def _git() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def spamscore_run(model_path: Path | None, sets) -> dict:
    model = spamscore.load_model(model_path)
    receiving = spamscore.load_model(model_path, trusted_authserv_ids=TRUSTED)
    out = {"model": str(model_path or spamscore.scoring.default_model_path()),
           "profile": model.options.profile, "params": {k: v for k, v in model.nb.get_params().items() if k != "priors"}}
    for name in ("sa_test", "csdmc"):
        t0 = time.perf_counter()
        vs = [model.score(Path(p).read_bytes(), 0) for p, _ in sets[name]]
        s = summarize([lab for _, lab in sets[name]], [v.score for v in vs], [v.label for v in vs])
        s["seconds"] = time.perf_counter() - t0
        out[name] = s
    for mode, m, unsent in (("fixtures_received", receiving, False), ("fixtures_unsent", model, True)):
        rows = {}
        for rel, expected, part in X.fixture_set():
            v = m.score((X.FIXTURES / rel).read_bytes(), 3, unsent=unsent)
            rows[rel] = {"expected": expected, "label": v.label, "probability": round(v.probability, 4),
                         "set": part, "clues": [[c.feature, round(c.weight, 2)] for c in v.clues]}
        out[mode] = rows
    return out


def bogofilter_run(sets) -> dict:
    db = tempfile.mkdtemp(prefix="bogo-xc-")
    env = dict(os.environ, BOGOFILTER_DIR=db)
    try:
        spam = [p for p, lab in sets["train"] if lab]
        ham = [p for p, lab in sets["train"] if not lab]
        t0 = time.perf_counter()
        for flag, paths in (("-s", spam), ("-n", ham)):
            subprocess.run(["bogofilter", "-C", "-d", db, flag, "-B", *paths], check=True, env=env,
                           capture_output=True)
        out = {"version": subprocess.run(["bogofilter", "-V"], capture_output=True, text=True).stdout.split("\n")[0]
               .strip() or "bogofilter", "train_s": time.perf_counter() - t0}

        def score(paths):
            cp = subprocess.run(["bogofilter", "-C", "-d", db, "-v", "--header-format=%c %0.12e", "-B", *paths],
                                capture_output=True, text=True, env=env)
            if cp.returncode not in (0, 1, 2):
                raise RuntimeError(f"bogofilter failed: {cp.stderr[:300]}")
            rows = [line.rsplit(" ", 2) for line in cp.stdout.splitlines()]
            if len(rows) != len(paths):
                raise RuntimeError(f"bogofilter gave {len(rows)} results for {len(paths)} messages")
            return [float(r[2]) for r in rows], [{"Spam": "spam", "Ham": "ham"}.get(r[1], "unsure") for r in rows]

        for name in ("sa_test", "csdmc"):
            t0 = time.perf_counter()
            scores, labels = score([p for p, _ in sets[name]])
            s = summarize([lab for _, lab in sets[name]], scores, labels)
            s["seconds"] = time.perf_counter() - t0
            out[name] = s
        fx = X.fixture_set()
        scores, labels = score([str(X.FIXTURES / rel) for rel, _, _ in fx])
        out["fixtures_received"] = {rel: {"expected": e, "label": lab, "probability": round(sc, 4), "set": part}
                                    for (rel, e, part), sc, lab in zip(fx, scores, labels)}
        return out
    finally:
        shutil.rmtree(db, ignore_errors=True)


def tally(rows: dict) -> dict:
    out: dict = {}
    for r in rows.values():
        key = f"{r['expected']}->{r['label']}"
        out[key] = out.get(key, 0) + 1
    return out


def markdown(res: dict) -> str:
    ss, bf = res["spamscore"], res.get("bogofilter")
    lines = [f"# Across corpora: the shipped model beside Bogofilter ({res['finished_utc']}, git {res['git']})", "",
             f"Both trained on the same {res.get('train_messages', '?')} messages: the SpamAssassin train half (945 spam, "
             "2,089 ham)" + (" and the modern supplement (`data/modern_supplement.py`: 200 spam, 440 ham, synthetic)"
                             if res.get("supplement", True) else "") + ". `python benchmarks/cross_corpus.py`.",
             f"spamscore: `{ss['model']}`, profile `{ss['profile']}`.", "",
             "| judged on | metric | spamscore | Bogofilter | target |", "|---|---|---|---|---|"]
    targets = {("sa_test", "one_minus_auc_pct"): "<= 0.035", ("sa_test", "fnr_at_fpr_0_1_pct"): "<= 3%",
               ("csdmc", "one_minus_auc_pct"): "<= Bogofilter's"}
    for name, title in (("sa_test", "SA test half (3,012)"), ("csdmc", "CSDMC 2010, not in SA (1,989)")):
        for key, label, fmt in (("one_minus_auc_pct", "(1-AUC)%", "{:.4f}"),
                                ("fnr_at_fpr_0_1_pct", "spam missed at 0.1% FPR", "{:.2f}%"),
                                ("fnr_at_fpr_1_pct", "spam missed at 1% FPR", "{:.2f}%"),
                                ("false_positives", "ham labelled spam", "{}"),
                                ("fnr_unsure_as_ham_pct", "spam not labelled spam", "{:.2f}%")):
            b = fmt.format(bf[name][key]) if bf and key in bf[name] else "-"
            lines.append(f"| {title} | {label} | {fmt.format(ss[name][key])} | {b} | {targets.get((name, key), '')} |")
    lines += ["", "## Today's mail: the labelled fixtures", "",
              "`tests/fixtures/modern` (written for the project: see its README) and the campaign fixtures. "
              "`received`: as their receiver scores them, believing its Authentication-Results; "
              "`unsent`: spamscore's campaign mode (delivery headers left out).", "",
              "| | expected -> label | count |", "|---|---|---|"]
    for mode in ("fixtures_received", "fixtures_unsent"):
        for k, v in sorted(tally(ss[mode]).items()):
            lines.append(f"| spamscore, {mode[9:]} | {k} | {v} |")
    if bf:
        for k, v in sorted(tally(bf["fixtures_received"]).items()):
            lines.append(f"| Bogofilter, received | {k} | {v} |")
    for mode in ("fixtures_received", "fixtures_unsent"):
        wrong = [f"`{rel}` {r['label']} ({r['probability']})" for rel, r in ss[mode].items()
                 if r["expected"] != r["label"]]
        lines += ["", f"spamscore's wrong or unsure labels ({mode[9:]}): " + ("; ".join(wrong) or "none")]
        judge = [r for r in ss[mode].values() if r.get("set") == "judge"]
        if judge:
            right = sum(r["expected"] == r["label"] for r in judge)
            lines.append(f"Of these, the `judge` rows (kept aside, never tuned on): {right} of {len(judge)} right.")
    lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus-dir", type=Path, default=Path("/tmp/corp"))
    ap.add_argument("--model", type=Path, help="a model file (default: the shipped model)")
    ap.add_argument("--no-bogofilter", action="store_true")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--no-supplement", action="store_true", help="train Bogofilter on the SA train half alone")
    args = ap.parse_args(argv)
    sets = X.load_sets(args.corpus_dir, with_supplement=not args.no_supplement)
    res = {"git": _git(), "supplement": not args.no_supplement, "train_messages": len(sets["train"]),
           "spamscore": spamscore_run(args.model, sets)}
    if not args.no_bogofilter:
        if shutil.which("bogofilter") is None:
            print("bogofilter is not installed (apt-get install bogofilter), or pass --no-bogofilter", file=sys.stderr)
            return 2
        res["bogofilter"] = bogofilter_run(sets)
    res["finished_utc"] = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "cross_corpus.json").write_text(json.dumps(res, indent=1) + "\n")
    md = markdown(res)
    (args.out / "cross_corpus.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
