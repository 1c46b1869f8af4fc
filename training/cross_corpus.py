#!/usr/bin/env python3
"""The cross-corpus protocol: train on the SpamAssassin train half, judge on the SA test half AND on CSDMC.

    python training/cross_corpus.py                         # the shipped recipe, both test sets
    python training/cross_corpus.py --drop received date:tz  # leave feature families out (prefixes)
    python training/cross_corpus.py --families               # one run per family left out (the profile's evidence)

A model trained on one mailbox learns two things: what spam looks like, and what that mailbox's delivery path,
clients and time zone look like.  The SA test half shares the mailbox with the train half, so it rewards both;
CSDMC (2009-2010 mail from other people, none of it in the SA corpus: ``../shared/corpora/README.md``) rewards
only the first.  CSDMC is a validation set: it is never trained on.

Features are extracted once per profile (cached under ``--cache``, keyed by the feature version); a run trains
with :func:`spamscore.scoring.train` (cross-validated calibration, as ``spamscore train`` does) and scores with
:meth:`Model.score_features`.  Prints one line per run: (1-AUC)% and FNR at 0.1% FPR on each test set, and the
share of ham labelled spam/unsure on CSDMC; ``--json`` writes the figures.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import pickle
import sys
import tarfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from spamscore import features as F  # noqa: E402
from spamscore.features import profiles  # noqa: E402
from spamscore.message import parse  # noqa: E402
from spamscore.metrics import summarize  # noqa: E402
from spamscore.scoring import train  # noqa: E402

SHARED = REPO.parent / "shared" / "corpora"


def _unpack(archive: Path, dest: Path, marker: str) -> Path:
    if not (dest / marker).exists():
        dest.mkdir(parents=True, exist_ok=True)
        with tarfile.open(archive) as tf:
            tf.extractall(dest, filter="data")
    return dest


def supplement(corpus_dir: Path) -> list[tuple[str, int]]:
    """The modern supplement (data/modern_supplement.py), generated under ``corpus_dir`` and checked."""
    sys.path.insert(0, str(REPO / "data"))
    import modern_supplement

    try:
        return [(str(p), int(label == "spam")) for p, label in modern_supplement.checked(corpus_dir / "modern-supplement")]
    except ValueError as exc:
        raise SystemExit(str(exc)) from None


def load_sets(corpus_dir: Path, with_supplement: bool = True) -> dict[str, list[tuple[str, int]]]:
    """{"train", "sa_test", "csdmc"}: lists of (absolute path, label 1 spam / 0 ham).

    ``train`` is the SA train half and, unless ``with_supplement`` is false, the modern supplement after it:
    the shipped model's training set (training/build_default.py)."""
    sa = _unpack(SHARED / "spamassassin-public.tar.xz", corpus_dir, "sa_corpus")
    cs = _unpack(SHARED / "csdmc2010-not-sa.tar.xz", corpus_dir, "csdmc2010-not-sa")
    sets: dict[str, list] = {"train": [], "sa_test": [], "csdmc": []}
    with open(REPO / "data" / "spamassassin-public.tsv") as fh:
        for r in csv.DictReader(fh, delimiter="\t"):
            key = "train" if r["split"] == "train" else "sa_test"
            sets[key].append((str(sa / "sa_corpus" / r["path"]), int(r["label"] == "spam")))
    if with_supplement:
        sets["train"] += supplement(corpus_dir)
    with open(SHARED / "csdmc2010-not-sa.tsv") as fh:
        for r in csv.DictReader(fh, delimiter="\t"):
            sets["csdmc"].append((str(cs / r["path"]), int(r["label"] == "spam")))
    return sets


def extract_all(sets, cache: Path, profile: str = "full") -> dict[str, list[list[str]]]:
    import hashlib

    key = hashlib.sha256("\n".join(p for rows in sets.values() for p, _ in rows).encode()).hexdigest()[:12]
    path = cache / f"feats-v{F.FEATURE_VERSION}-{profile}-{key}.pkl"  # keyed by the messages it holds
    if path.exists():
        with open(path, "rb") as fh:
            return pickle.load(fh)
    opts = F.FeatureOptions(profile=profile)
    out = {}
    for name, items in sets.items():
        out[name] = [F.extract(parse(open(p, "rb").read()), opts) for p, _ in items]
    cache.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        pickle.dump(out, fh)
    return out


def run(sets, feats, drop: tuple[str, ...] = (), nb_params: dict | None = None, label: str = "",
        target_fnr: float = 0.01) -> dict:
    keep = (lambda f: not f.startswith(drop)) if drop else None
    docs = feats["train"] if keep is None else [[f for f in d if keep(f)] for d in feats["train"]]
    y = [lab for _, lab in sets["train"]]
    t0 = time.perf_counter()
    model = train(docs, y, nb_params=nb_params, target_fnr=target_fnr)
    res = {"label": label or ("drop " + " ".join(drop) if drop else "full"), "train_s": time.perf_counter() - t0,
           "model": model}
    for name in ("sa_test", "csdmc"):
        ys = [lab for _, lab in sets[name]]
        verdicts = [model.score_features(d if keep is None else [f for f in d if keep(f)], 0) for d in feats[name]]
        s = summarize(ys, [v.score for v in verdicts], [v.label for v in verdicts])
        res[name] = s
    return res


FIXTURES = REPO / "tests" / "fixtures"
# The fixtures whose label the default model must get right (issue 18), beside tests/fixtures/modern/labels.tsv.
KNOWN_FIXTURES = {
    "campaigns/clean-newsletter.eml": "ham", "campaigns/japanese-utf8.eml": "ham",
    "campaigns/japanese-iso2022jp.eml": "ham", "plain_ham.eml": "ham",
    "multipart_spam.eml": "spam", "forged_auth.eml": "spam",
    "campaigns/esp-tracked-newsletter.eml": "ham", "campaigns/transactional-receipt.eml": "ham",
    "campaigns/announcement-images.eml": "ham",
}


def fixture_set() -> list[tuple[str, str, str]]:
    """(relative path, label, set) of the labelled fixtures: the known ones and tests/fixtures/modern."""
    out = [(p, lab, "dev") for p, lab in KNOWN_FIXTURES.items()]
    labels = FIXTURES / "modern" / "labels.tsv"
    if labels.exists():
        with open(labels) as fh:
            for r in csv.DictReader(fh, delimiter="\t"):
                out.append(("modern/" + r["path"] if not r["path"].startswith("modern/") else r["path"],
                            r["label"], r.get("set", "dev")))
    return out


def score_fixtures(model, drop: tuple[str, ...] = (), unsent: bool = False, show: int = 0,
                   trusted: tuple[str, ...] = ()) -> dict:
    """Verdicts of the labelled fixtures: {path: (expected, label, probability, top clues)}.

    ``trusted``: the authserv-ids whose Authentication-Results are believed (the
    fixtures' receiver is ``mx.example.net``).
    """
    opts = F.FeatureOptions(unsent=unsent, trusted_authserv_ids=frozenset(trusted))
    out = {}
    for rel, expected, _ in fixture_set():
        feats = F.extract(parse((FIXTURES / rel).read_bytes()), opts)
        if drop:
            feats = [f for f in feats if not f.startswith(drop)]
        v = model.score_features(feats, show)
        out[rel] = (expected, v.label, v.probability, [(c.feature, round(c.weight, 2)) for c in v.clues])
    return out


def fixture_line(res: dict, verbose: bool = True) -> str:
    wrong = [f"{k}={v[1]}({v[2]:.2f})" for k, v in res.items() if v[0] != v[1]]
    tally = {}
    for exp, got, _, _ in res.values():
        tally[f"{exp}->{got}"] = tally.get(f"{exp}->{got}", 0) + 1
    head = f"fixtures {len(res) - len(wrong)}/{len(res)} right " + " ".join(f"{k}:{v}" for k, v in sorted(tally.items()))
    return head + ("; wrong: " + ", ".join(wrong) if verbose else "")


def line(r: dict) -> str:
    a, c = r["sa_test"], r["csdmc"]
    return (f"{r['label'][:60]:60s} SA {a['one_minus_auc_pct']:.4f} {a['fnr_at_fpr_0_1_pct']:5.2f}%  "
            f"CSDMC {c['one_minus_auc_pct']:.4f} {c['fnr_at_fpr_0_1_pct']:5.2f}% "
            f"ham->spam {c['false_positives']} unsure {c['unsure_ham']} spam->ham {c['false_negatives']}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus-dir", type=Path, default=Path("/tmp/corp"))
    ap.add_argument("--cache", type=Path, default=Path("/tmp/xc"))
    ap.add_argument("--profile", default="full", choices=sorted(profiles.PROFILES))
    ap.add_argument("--drop", nargs="*", default=[])
    ap.add_argument("--families", action="store_true", help="one run per feature family left out")
    ap.add_argument("--s", type=float)
    ap.add_argument("--no-supplement", action="store_true", help="train on the SA train half alone")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    sets = load_sets(args.corpus_dir, with_supplement=not args.no_supplement)
    feats = extract_all(sets, args.cache, args.profile)
    params = {"s": args.s} if args.s is not None else None
    results = [run(sets, feats, tuple(args.drop), params, label=f"{args.profile} " + " ".join(args.drop))]
    print(line(results[0]), flush=True)
    if args.families:
        for fam, prefixes in profiles.FAMILIES.items():
            r = run(sets, feats, tuple(args.drop) + prefixes, params, label=f"{args.profile} - {fam}")
            results.append(r)
            print(line(r), flush=True)
    if args.json:
        args.json.write_text(json.dumps([{k: v for k, v in r.items() if k != "model"} for r in results], indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
