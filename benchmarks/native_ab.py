"""What the compiled helpers save: an A/B of scoring with them on and off, in one process.

    python benchmarks/native_ab.py [--model M] [--corpus /tmp/sa_corpus] [--index data/spamassassin-public.tsv]
                                   [--helper _bodyscan ...] [--passes 6] [--limit N]

Scores the test half of the split (or the first ``--limit`` messages of it) with ``Model.score``, and times
``parse`` and ``extract(parse(raw))`` alone, with the named helpers in use and with them off (every helper
when none is named), the two ways alternating pass by pass so that the machine's drift falls on both alike.
Prints the median CPU microseconds a message of each way and what the helpers save.  A helper is off when
every ``spamscore`` module that holds it (the attribute named after it, ``tokens._bodyscan``,
``message._mimescan`` ...) holds None instead: the module then runs its Python reference, which gives the
same results bit for bit (tests/equivalence.py and the helpers' tests check that; this only times it).
Both ways share the lru caches of the feature modules, so both are measured warm, as a long-running
filter runs.  The per-change figures of benchmarks/SPEED.md were measured this way.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INDEX = os.path.join(REPO, "data", "spamassassin-public.tsv")


def holders(names: list[str]) -> list[tuple[object, str, object]]:
    """(module, attribute, compiled helper) for every loaded spamscore module holding one of ``names``."""
    from spamscore import _native

    out = []
    for name in names:
        helper = _native.load(name)
        if helper is None:
            sys.exit(f"spamscore.{name} is not in use ({_native.STATUS[name]}): nothing to compare")
        for mod in list(sys.modules.values()):
            if getattr(mod, "__name__", "").startswith("spamscore.") and getattr(mod, name, None) is helper:
                out.append((mod, name, helper))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="model file (default: the shipped model)")
    ap.add_argument("--corpus", default="/tmp/sa_corpus", help="the unpacked SpamAssassin corpus")
    ap.add_argument("--index", default=INDEX, help="the split (default: data/spamassassin-public.tsv)")
    ap.add_argument("--helper", action="append", default=[], help="a helper to turn off (repeatable; default: all)")
    ap.add_argument("--passes", type=int, default=6)
    ap.add_argument("--limit", type=int, default=None, help="only the first N test messages")
    args = ap.parse_args(argv)
    import spamscore
    from spamscore import _native
    from spamscore.features import extract
    from spamscore.message import parse

    spamscore.load_model(args.model).score(b"Subject: x\n\nx")  # imports every module on the scoring path
    uses = holders(args.helper or list(_native.NAMES))
    rows = [line.rstrip("\n").split("\t") for line in open(args.index, encoding="utf-8")][1:]
    test = [r[0] for r in rows if r[2] == "test"][:args.limit]
    raws = [open(os.path.join(args.corpus, p), "rb").read() for p in test]

    def use(on: bool) -> None:
        for mod, name, helper in uses:
            setattr(mod, name, helper if on else None)

    # one model each way: a model builds its clue table for the helpers in use at its first score
    models = {}
    for on in (True, False):
        use(on)
        models[on] = spamscore.load_model(args.model)
        for raw in raws[:200]:  # warm the caches, the lazy imports and the clue table
            models[on].score(raw)
    use(True)
    model = models[True]

    stages = {"parse": lambda r: parse(r), "parse+extract": lambda r: extract(parse(r)),
              "Model.score": lambda r: model.score(r)}
    times: dict[tuple[str, bool], list[float]] = {}
    try:
        for rep in range(args.passes):
            for on in ((True, False) if rep % 2 == 0 else (False, True)):
                use(on)
                model = models[on]
                for stage, fn in stages.items():
                    gc.collect()
                    t0 = time.process_time()
                    for raw in raws:
                        fn(raw)
                    times.setdefault((stage, on), []).append((time.process_time() - t0) / len(raws) * 1e6)
    finally:
        use(True)
    print(f"helpers switched: {', '.join(sorted({f'{m.__name__}.{n}' for m, n, _ in uses}))}")
    print(f"{len(raws)} test messages, {args.passes} passes each way, CPU µs a message (median):")
    for stage in stages:
        on, off = statistics.median(times[(stage, True)]), statistics.median(times[(stage, False)])
        print(f"  {stage:14s} helpers on {on:8.1f}   off {off:8.1f}   saved {off - on:8.1f} ({off / on:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
