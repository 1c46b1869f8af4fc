"""The benchmark corpus: locate or unpack it, check it against the pinned split, sample it.

The split TSV (``path<TAB>label<TAB>split<TAB>md5``, header line, path relative to the
corpus root) pins every message by checksum; a file whose md5 differs is reported and,
unless ``verify=False``, stops the run.
"""

from __future__ import annotations

import hashlib
import os
import random
import tarfile
from dataclasses import dataclass, field


@dataclass
class Corpus:
    root: str                      # folder the split's paths are relative to
    split_tsv: str                 # the TSV actually used (a sample writes its own)
    train: list[tuple[str, str]]   # (relpath, label)
    test: list[tuple[str, str]]
    source: str                    # what was given (tarball, folder, "generated")
    notes: list[str] = field(default_factory=list)

    def counts(self) -> dict:
        c = lambda rows, lab: sum(1 for _, l in rows if l == lab)  # noqa: E731
        return {"train_spam": c(self.train, "spam"), "train_ham": c(self.train, "ham"),
                "test_spam": c(self.test, "spam"), "test_ham": c(self.test, "ham")}


def read_split(tsv: str) -> list[tuple[str, str, str, str]]:
    rows = []
    with open(tsv, encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("path\t") or not line.strip():
                continue
            cols = line.rstrip("\n").split("\t")
            if len(cols) < 3 or cols[1] not in ("spam", "ham"):
                raise ValueError(f"{tsv}: expected path<TAB>spam|ham<TAB>split[<TAB>md5], got {line[:80]!r}")
            rows.append((cols[0], cols[1], cols[2], cols[3] if len(cols) > 3 else ""))
    return rows


def unpack(tarball: str, dest: str, only: set[str] | None = None) -> str:
    """Unpack a .tar.xz corpus into ``dest`` (only the members whose path relative to the
    corpus root is in ``only``, if given); returns the folder holding the groups."""
    with tarfile.open(tarball) as tf:
        members = None
        if only is not None:
            members = [m for m in tf if m.isfile() and _rel(m.name) in only]
        try:
            tf.extractall(dest, members=members, filter="data")
        except TypeError:  # Python without extraction filters
            tf.extractall(dest, members=members)
    return locate_root(dest)


def _rel(name: str) -> str:
    name = name.lstrip("./")
    return name[len("sa_corpus/"):] if name.startswith("sa_corpus/") else name


def select(rows, sample: int | None, seed: int = 0):
    """All rows, or ``sample`` rows of each half, stratified by label (deterministic)."""
    if not sample:
        return rows
    rng = random.Random(seed)
    keep = []
    for half in ("train", "test"):
        part = [r for r in rows if r[2] == half]
        spam = [r for r in part if r[1] == "spam"]
        ham = [r for r in part if r[1] == "ham"]
        n_spam = max(1, round(sample * len(spam) / max(len(part), 1)))
        keep += rng.sample(spam, min(n_spam, len(spam)))
        keep += rng.sample(ham, min(sample - n_spam, len(ham)))
    return sorted(keep)


def locate_root(folder: str) -> str:
    """``folder/sa_corpus`` if present (the tarball's layout), else ``folder``."""
    inner = os.path.join(folder, "sa_corpus")
    return inner if os.path.isdir(inner) else folder


def verify(root: str, rows) -> tuple[int, list[str]]:
    """(checked, problems): md5 of every listed file against the split's md5 column."""
    problems, checked = [], 0
    for rel, _, _, md5 in rows:
        path = os.path.join(root, rel)
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            problems.append(f"{rel}: {exc.strerror or exc}")
            continue
        checked += 1
        if md5 and hashlib.md5(data).hexdigest() != md5:
            problems.append(f"{rel}: md5 mismatch")
    return checked, problems


def prepare(root: str, split_tsv: str, workdir: str, *, sample: int | None = None, seed: int = 0,
            check: bool = True, source: str = "") -> Corpus:
    """Check the corpus against the split, optionally sample ``sample`` messages from each
    half (stratified by label), and write the split actually used into ``workdir``."""
    rows = select(read_split(split_tsv), sample, seed)
    notes = []
    if check:
        checked, problems = verify(root, rows)
        if problems:
            raise SystemExit(f"corpus at {root} does not match {split_tsv}: {len(problems)} problems, "
                             f"e.g. {problems[:3]} (use --no-verify to run anyway)")
        notes.append(f"all {checked} messages match the split's md5 checksums")
    if sample:
        notes.append(f"sampled {sample} messages from each half (seed {seed}, stratified by label)")
    os.makedirs(workdir, exist_ok=True)
    used = os.path.join(workdir, "split.tsv")
    with open(used, "w", encoding="utf-8") as fh:
        fh.write("path\tlabel\tsplit\tmd5\n")
        fh.writelines(f"{r}\t{l}\t{s}\t{m}\n" for r, l, s, m in rows)
    train = [(r, l) for r, l, s, _ in rows if s == "train"]
    test = [(r, l) for r, l, s, _ in rows if s == "test"]
    if not train or not test or len({l for _, l in train}) < 2 or len({l for _, l in test}) < 2:
        raise SystemExit(f"{split_tsv}: need spam and ham in both the train and the test half")
    return Corpus(root, used, train, test, source or root, notes)


def subsample_test(c: Corpus, n: int, seed: int, path: str) -> Corpus:
    """The same training half with a stratified sample of ``n`` test messages (for a peer
    too slow to score the whole test half), written as a split TSV at ``path``."""
    rng = random.Random(seed)
    spam = [t for t in c.test if t[1] == "spam"]
    ham = [t for t in c.test if t[1] == "ham"]
    n_spam = max(1, round(n * len(spam) / len(c.test)))
    test = sorted(rng.sample(spam, min(n_spam, len(spam))) + rng.sample(ham, min(n - n_spam, len(ham))))
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("path\tlabel\tsplit\tmd5\n")
        fh.writelines(f"{r}\t{l}\ttrain\t\n" for r, l in c.train)
        fh.writelines(f"{r}\t{l}\ttest\t\n" for r, l in test)
    return Corpus(c.root, path, list(c.train), test, c.source,
                  c.notes + [f"test half sampled to {len(test)} messages (seed {seed}, stratified)"])
