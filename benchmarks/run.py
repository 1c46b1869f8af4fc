#!/usr/bin/env python3
"""spamscore beside its peers: accuracy and speed in one run, stage breakdown, scaling.

    python benchmarks/run.py [--corpus PATH.tar.xz|DIR|generated] [--split TSV]
                             [--peers bogofilter,rspamd[,spamassassin]] [--passes 3] [--sa-passes 1]
                             [--paired-passes 5]
                             [--out benchmarks/results] [--quick] [--sample N]

Trains and scores spamscore (its CLI: ``spamscore train`` / ``spamscore score``, --jobs 1 and
--jobs <all cores>) and the peers (the reference scripts in benchmarks/peers/) on the fixed
split, evaluates every score file with spamscore.metrics, and writes one table
(``<out>/<name>.md`` and ``.json``), spamscore's ratio to each peer, the paired speed
passes (spamscore and Bogofilter in alternation, the figure for the speed target), a ROC plot
(``<out>/<name>-roc.png``), the stage breakdown and cProfile hot spots of spamscore's scoring,
and the scaling tables (scoring time against message size, training time against corpus size).
See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)

from harness import corpus as corpus_mod  # noqa: E402
from harness import gen, report, scaling, stages, systems  # noqa: E402
from harness.systems import log  # noqa: E402



def _shared_corpora() -> str:
    """``../shared/corpora`` beside the repository (a worktree one level deeper also looks
    one level further up)."""
    cands = [os.path.join(os.path.dirname(REPO), "shared", "corpora"),
             os.path.join(os.path.dirname(os.path.dirname(REPO)), "shared", "corpora")]
    return next((c for c in cands if os.path.isdir(c)), cands[0])


SHARED = _shared_corpora()
DEFAULT_CORPUS = os.path.join(SHARED, "spamassassin-public.tar.xz")
DEFAULT_SPLIT = os.path.join(SHARED, "spamassassin-public.tsv")
ALL_PEERS = ("bogofilter", "spamassassin", "rspamd")


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Example: python benchmarks/run.py --corpus /tmp/sa_corpus "
                                        "--peers bogofilter,rspamd,spamassassin --sa-passes 1")
    ap.add_argument("--corpus", default=DEFAULT_CORPUS,
                    help="the corpus: a .tar.xz to unpack into a temporary folder, an unpacked folder, or "
                         "'generated' for a small synthetic corpus (default: ../shared/corpora/"
                         "spamassassin-public.tar.xz beside the repository)")
    ap.add_argument("--split", default=None,
                    help="split TSV path<TAB>label<TAB>split<TAB>md5 (default: ../shared/corpora/"
                         "spamassassin-public.tsv; a generated corpus brings its own)")
    ap.add_argument("--peers", default="bogofilter,rspamd",
                    help="comma-separated peers from bogofilter, spamassassin, rspamd, or 'none' "
                         "(default bogofilter,rspamd; spamassassin is slow: about 8 msgs/s)")
    ap.add_argument("--passes", type=int, default=3, help="timed passes (medians reported), default 3")
    ap.add_argument("--sa-passes", type=int, default=1, help="SpamAssassin scoring passes (default 1)")
    ap.add_argument("--paired-passes", type=int, default=9, metavar="N",
                    help="rounds of paired speed passes after training: one spamscore --jobs 1 and one Bogofilter "
                         "pass each, in alternating order, so drift affects both alike (default 9, 2 with --quick; "
                         "0: off; needs bogofilter among the peers)")
    ap.add_argument("--sa-test-sample", type=int, default=None, metavar="N",
                    help="score SpamAssassin on a stratified sample of N test messages only (it trains on the whole "
                         "training half); spamscore's ratios to it then use spamscore's figures on the same N")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="'all cores' (default: cpu count)")
    ap.add_argument("--out", default=os.path.join(HERE, "results"), help="results folder (default benchmarks/results)")
    ap.add_argument("--name", default="latest", help="file stem of the results (default latest)")
    ap.add_argument("--sample", type=int, default=None,
                    help="use N messages of each half (stratified sample) instead of the whole split")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true",
                    help="one pass, two paired rounds, smaller stage sample, sizes up to 1 MB, small training-size curve")
    ap.add_argument("--skip", default="", help="comma-separated parts to skip: stages, profile, size, train")
    ap.add_argument("--stage-sample", type=int, default=None,
                    help="messages for the stage breakdown and profile (default: the whole test half; 300 with --quick)")
    ap.add_argument("--train-sizes", default=None,
                    help="training-size curve, e.g. 1000,2000,4000,all (default; --quick: 100,200,all)")
    ap.add_argument("--no-verify", action="store_true", help="do not check files against the split's md5 column")
    ap.add_argument("--no-install", action="store_true", help="never apt-get install missing peers")
    ap.add_argument("--require-peers", action="store_true",
                    help="fail (exit 3) if a requested peer cannot run, instead of reporting why in the table")
    ap.add_argument("--reuse-peer-out", default=None, metavar="DIR",
                    help="take SpamAssassin's / Rspamd's outputs (*.scores.tsv, *.timing.json) from an earlier run "
                         "of their reference script (PEER_OUT=DIR) instead of running them; marked IMPORTED")
    ap.add_argument("--keep-work", action="store_true", help="keep the temporary work folder")
    ap.add_argument("--timeout", type=float, default=7200, help="seconds allowed per external command")
    a = ap.parse_args(argv)
    a.peer_list = [] if a.peers.strip().lower() in ("", "none") else [p.strip().lower() for p in a.peers.split(",")]
    bad = [p for p in a.peer_list if p not in ALL_PEERS]
    if bad:
        ap.error(f"expected peers from {', '.join(ALL_PEERS)}, got {', '.join(bad)}")
    a.skip_set = {s.strip() for s in a.skip.split(",") if s.strip()}
    if a.quick:
        a.passes = min(a.passes, 1) if "--passes" not in (argv or sys.argv) else a.passes
        a.paired_passes = min(a.paired_passes, 2) if "--paired-passes" not in (argv or sys.argv) else a.paired_passes
    if a.passes < 1 or a.sa_passes < 1 or a.jobs < 1:
        ap.error("--passes, --sa-passes and --jobs must be at least 1")
    if a.paired_passes < 0:
        ap.error("--paired-passes must be 0 or more")
    return a


def get_corpus(a, work: str):
    if a.corpus == "generated" or (a.corpus == DEFAULT_CORPUS and not os.path.exists(DEFAULT_CORPUS)):
        n = a.sample or 300
        log(f"generating a mini corpus ({n} spam, {int(n * 1.5)} ham)")
        root = os.path.join(work, "generated")
        tsv = gen.write_mini_corpus(root, n_spam=n, n_ham=int(n * 1.5), seed=a.seed + 1)
        return corpus_mod.prepare(root, a.split or tsv, work, sample=None, check=not a.no_verify,
                                  source="generated mini corpus (harness/gen.py)")
    split = a.split or DEFAULT_SPLIT
    if not os.path.exists(a.corpus):
        raise SystemExit(f"corpus not found: {a.corpus}")
    if not os.path.exists(split):
        raise SystemExit(f"split not found: {split}")
    if os.path.isdir(a.corpus):
        root = corpus_mod.locate_root(a.corpus)
    else:
        log(f"unpacking {a.corpus}")
        only = None
        if a.sample:
            only = {r[0] for r in corpus_mod.select(corpus_mod.read_split(split), a.sample, a.seed)}
        root = corpus_mod.unpack(a.corpus, os.path.join(work, "corpus"), only)
    return corpus_mod.prepare(root, split, work, sample=a.sample, seed=a.seed, check=not a.no_verify,
                              source=os.path.abspath(a.corpus))


def git_rev() -> str:
    try:
        rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--", "spamscore"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return (rev or "unknown") + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def spamscore_version() -> str:
    try:
        from importlib.metadata import version
        return version("spamscore")
    except Exception:  # noqa: BLE001 - a version string is cosmetic
        return "unknown"


def main(argv=None) -> int:
    a = parse_args(argv)
    t_start = time.time()
    work = tempfile.mkdtemp(prefix="spamscore-bench-")
    # mkdtemp makes it 0700: SpamAssassin's sa-learn/spamd run as the unprivileged
    # peer user and must be able to read the unpacked corpus
    os.chmod(work, 0o755)
    res = {"meta": {}, "systems": []}
    load_start = systems.loadavg()
    try:
        c = get_corpus(a, work)
        log(f"corpus {c.root}: {c.counts()}")
        # -- spamscore through its CLI ------------------------------------------
        ss = systems.run_spamscore(c, work, a.passes, a.jobs, a.timeout)
        ss_scores = ss.pop("scores")
        m, y, s = systems.evaluate(ss_scores, c)
        curves = [("spamscore", y, s)]
        res["systems"].append({
            "system": "spamscore", "key": "spamscore", "version": spamscore_version(), "metrics": m,
            "train_s": ss["train_s"], "msgs_per_s_1": ss["msgs_per_s_1"], "msgs_per_s_all": ss["msgs_per_s_all"],
            "msgs_per_cpu_s": ss.get("msgs_per_cpu_s"), "score_maxrss_kb": ss["score_maxrss_kb"], "train_maxrss_kb": ss["train_maxrss_kb"],
            "model_bytes": ss["model_bytes"], "model_desc": "model file (.spamscore)", "cli": ss,
            "notes": [f"`spamscore train --jobs 1` and `spamscore score -f jsonl --clues 0` (--jobs 1 and --jobs {a.jobs}); "
                      f"{a.passes} pass(es); default verdict = label spam ({m.get('unsure', 0)} unsure counted as ham); "
                      f"ranking by the uncalibrated score; peak RSS from /usr/bin/time -v (--jobs 1)"],
        })
        # -- peers ------------------------------------------------------------------
        peer_out = os.path.join(work, "peers")
        os.makedirs(peer_out, exist_ok=True)
        versions = {}
        for peer in a.peer_list:
            ok, why = systems.ensure_peer(peer, install=not a.no_install)
            if not ok:
                if a.require_peers:
                    raise SystemExit(f"peer {peer} cannot run: {why}")
                log(f"skipping {peer}: {why}")
                res["systems"].append({"system": peer, "key": peer, "skipped": why})
                continue
            log(f"running {peer} (reference script benchmarks/peers/run_{peer}.py)")
            t0 = time.time()
            try:
                if peer == "bogofilter":
                    rows = systems.run_bogofilter(c, peer_out, a.passes, a.jobs, a.timeout)
                elif peer == "spamassassin":
                    c_sa = c
                    if a.sa_test_sample and a.sa_test_sample < len(c.test):
                        c_sa = corpus_mod.subsample_test(c, a.sa_test_sample, a.seed, os.path.join(work, "split-sa.tsv"))
                    rows = systems.run_spamassassin(c_sa, peer_out, a.sa_passes, a.timeout, a.reuse_peer_out)
                else:
                    rows = systems.run_rspamd(c, peer_out, a.passes, a.timeout, a.reuse_peer_out)
            except (RuntimeError, OSError, subprocess.SubprocessError, KeyError, ValueError) as exc:
                if a.require_peers:
                    raise
                log(f"{peer} failed: {exc}")
                res["systems"].append({"system": peer, "key": peer, "skipped": f"failed: {str(exc)[:300]}"})
                continue
            log(f"{peer} done in {time.time() - t0:.0f} s")
            for row in rows:
                versions[peer] = row.get("version")
                peer_scores = row.pop("scores")
                pm, py, ps = systems.evaluate(peer_scores, c)
                row["metrics"] = pm
                if pm.get("missing"):
                    # a peer scored on part of the test half: spamscore on exactly that part, for the ratios
                    row.setdefault("notes", []).append(
                        f"scored {pm['messages']} of the {len(c.test)} test messages; its figures are on those")
                    row["spamscore_same_subset"], _, _ = systems.evaluate(
                        {r: v for r, v in ss_scores.items() if r in peer_scores}, c)
                label = row["system"] + (f" ({pm['messages']} msgs)" if pm.get("missing") else "")
                curves.append((label, py, ps))
                res["systems"].append(row)
        res["ratios"] = report.ratios(res["systems"])
        # -- paired speed passes: spamscore and Bogofilter in alternation -----------------
        if a.paired_passes and any(s["key"] == "bogofilter" and s.get("metrics") for s in res["systems"]):
            res["paired"] = run_paired(a, c, ss["model_path"], os.path.join(peer_out, "bogofilter.db"))
        # -- the ROC plot ----------------------------------------------------------------
        os.makedirs(a.out, exist_ok=True)
        png = f"{a.name}-roc.png"
        err = report.roc_plot(curves, os.path.join(a.out, png),
                              f"ROC on the test half of the fixed split ({len(c.test)} messages)")
        if err:
            log(err)
        else:
            res["roc_png"] = png
        # -- library: stages, profile, scaling -------------------------------------------
        from spamscore import load_model

        model = load_model(ss["model_path"])
        if not {"stages", "profile"} <= a.skip_set:
            n = a.stage_sample or (300 if a.quick else len(c.test))
            raws = [_read(c.root, r) for r, _ in c.test[:n]]
            if "stages" not in a.skip_set:
                log(f"stage breakdown on {len(raws)} messages")
                res["stages"] = stages.breakdown(model, raws, passes=a.passes)
            if "profile" not in a.skip_set:
                log("cProfile")
                pr = stages.profile(model, raws)
                with open(os.path.join(a.out, f"{a.name}-profile.txt"), "w") as fh:
                    fh.write(pr.pop("text"))
                res["profile"] = pr
        if "size" not in a.skip_set:
            sizes = scaling.SIZES[:4] if a.quick else scaling.SIZES
            log(f"scoring time against message size ({', '.join(map(str, sizes))} bytes)")
            res["scaling_size"] = scaling.message_size(model, sizes=sizes, budget_s=0.2 if a.quick else 1.0)
        if "train" not in a.skip_set:
            pool = [(_read(c.root, r), l) for r, l in c.train + c.test]
            spec = a.train_sizes or ("100,200,all" if a.quick else "1000,2000,4000,all")
            sizes = sorted({len(pool) if x.strip() == "all" else int(x) for x in spec.split(",")})
            log(f"training time against corpus size ({sizes})")
            res["scaling_train"] = scaling.training_size(pool, sizes, seed=a.seed)
        # -- write -------------------------------------------------------------------------
        res["meta"] = {
            "started_utc": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(t_start)),
            "finished_utc": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
            "wall_s": time.time() - t_start, "cpus": os.cpu_count(), "jobs_all": a.jobs,
            "load_start": load_start, "load_end": systems.loadavg(),
            "command": "python benchmarks/run.py " + " ".join(shlex.quote(x) for x in (argv if argv is not None else sys.argv[1:])),
            "python": platform.python_version(), "platform": platform.platform(),
            "spamscore_version": spamscore_version(), "git": git_rev(),
            "peer_versions": versions, "passes": a.passes, "sa_passes": a.sa_passes, "paired_passes": a.paired_passes,
            "corpus": {"source": c.source, "root": c.root, "counts": c.counts(), "notes": c.notes},
        }
        paths = report.write(res, a.out, a.name)
        log(f"wrote {paths['md']} and {paths['json']} in {time.time() - t_start:.0f} s")
        print(report.main_table(res["systems"]))
        return 0
    finally:
        if a.keep_work:
            log(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def run_paired(a, c, model: str, db: str) -> dict:
    """The paired speed passes (systems.paired_speed); a failure is recorded, not fatal
    (unless --require-peers): the rest of the run's figures stand without them."""
    log(f"paired speed passes: {a.paired_passes} round(s) of spamscore --jobs 1 and bogofilter -B, alternating")
    t0 = time.time()
    try:
        p = systems.paired_speed(c, model, db, a.paired_passes, a.timeout)
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        if a.require_peers:
            raise
        log(f"paired speed passes failed: {exc}")
        return {"failed": str(exc)[:300]}
    r = p["ratio_msgs_per_s"]["median"]
    log(f"paired speed passes done in {time.time() - t0:.0f} s: median spamscore/Bogofilter msgs/s "
        + ("n/m" if r is None else f"{r:.3f}x"))
    return p


def _read(root: str, rel: str) -> bytes:
    with open(os.path.join(root, rel), "rb") as fh:
        return fh.read()


if __name__ == "__main__":
    sys.exit(main())
