"""One digest of every score, label and clue over a corpus: the "bit for bit" check of a refactoring.

    python benchmarks/score_digest.py --model models/default.spamscore /tmp/sa_corpus [more dirs ...] [--out scores.tsv]

Scores every file under the given directories (sorted paths) with the model, received and unsent
(``Model.score(raw)`` and ``Model.score(raw, unsent=True)``), and writes one line per message: the path,
the probability as ``float.hex`` (every bit), the label and the clues with their weights, also in hex.
Prints the number of messages and the SHA-256 of those lines: two commits that print the same digest
give the same scores bit for bit.  Run it before and after a change that must not change behaviour
(issue 17), with the same model file.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from pathlib import Path


def lines(model, roots: list[Path]):
    for root in roots:
        files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
        for path in files:
            raw = path.read_bytes()
            for unsent in (False, True):
                r = model.score(raw, unsent=unsent)
                clues = " ".join(f"{c.feature}={float(c.weight).hex()}" for c in r.clues)
                yield f"{path.relative_to(root) if root.is_dir() else path.name}\t{int(unsent)}\t" \
                      f"{float(r.probability).hex()}\t{r.label}\t{clues}\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("roots", nargs="+", type=Path)
    ap.add_argument("--model", default=None, help="model file (default: the shipped model)")
    ap.add_argument("--out", type=Path, default=None, help="also write the lines here")
    args = ap.parse_args(argv)
    import spamscore

    model = spamscore.load_model(args.model) if args.model else spamscore.load_model()
    h = hashlib.sha256()
    n = 0
    out = open(args.out, "w", encoding="utf-8", errors="surrogateescape") if args.out else None
    for line in lines(model, args.roots):
        h.update(line.encode("utf-8", "surrogateescape"))
        n += 1
        if out:
            out.write(line)
    if out:
        out.close()
    print(f"{n // 2} messages, native {'off' if os.environ.get('SPAMSCORE_PURE') else 'on'}: sha256 {h.hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
