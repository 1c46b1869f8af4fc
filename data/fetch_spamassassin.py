#!/usr/bin/env python3
"""Get the SpamAssassin public corpus and check it against the manifest.

    python data/fetch_spamassassin.py --dest /tmp/sa              # download from the Apache SpamAssassin site
    python data/fetch_spamassassin.py --archive ../shared/corpora/spamassassin-public.tar.xz --dest /tmp/sa

Either way the result is DEST/sa_corpus/{easy_ham,easy_ham_2,hard_ham,spam,spam_2}/<file>, and every file
listed in data/spamassassin-public.tsv (path, label, split, md5) is verified by its md5.  The split column is
fixed for everyone: train where the first hex digit of md5(path) is below 8, else test.

Downloading is the only network access in the project, and only this script does it, when asked.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
MANIFEST = HERE / "spamassassin-public.tsv"
BASE_URL = "https://spamassassin.apache.org/old/publiccorpus/"
TARBALLS = [
    "20030228_easy_ham.tar.bz2",
    "20030228_easy_ham_2.tar.bz2",
    "20030228_hard_ham.tar.bz2",
    "20030228_spam.tar.bz2",
    "20050311_spam_2.tar.bz2",
]


def _safe_extract(tar: tarfile.TarFile, dest: Path, prefix: str = "") -> None:
    """Extract regular files only, never outside ``dest``."""
    for member in tar.getmembers():
        if not member.isfile():
            continue
        name = Path(member.name)
        if name.is_absolute() or ".." in name.parts:
            continue
        target = dest / prefix / name
        target.parent.mkdir(parents=True, exist_ok=True)
        with tar.extractfile(member) as src, open(target, "wb") as out:
            out.write(src.read())


def unpack_archive(archive: Path, dest: Path) -> Path:
    """Unpack the project's .tar.xz (which holds sa_corpus/...) into dest; returns dest/sa_corpus."""
    with tarfile.open(archive) as tar:
        _safe_extract(tar, dest)
    return dest / "sa_corpus"


def download(dest: Path) -> Path:
    root = dest / "sa_corpus"
    with tempfile.TemporaryDirectory() as tmp:
        for name in TARBALLS:
            url = BASE_URL + name
            local = Path(tmp) / name
            print(f"downloading {url}", file=sys.stderr)
            urllib.request.urlretrieve(url, local)
            with tarfile.open(local) as tar:
                _safe_extract(tar, root)
    return root


def verify(root: Path, manifest: Path = MANIFEST) -> tuple[int, list[str]]:
    """(files checked, problems) for the manifest against root."""
    problems = []
    n = 0
    with open(manifest, newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            n += 1
            p = root / row["path"]
            try:
                digest = hashlib.md5(p.read_bytes()).hexdigest()
            except OSError as exc:
                problems.append(f"{row['path']}: {exc.strerror}")
                continue
            if digest != row["md5"]:
                problems.append(f"{row['path']}: md5 {digest}, expected {row['md5']}")
    return n, problems


def ensure_corpus(dest: Path, archive: Path | None = None) -> Path:
    """The verified corpus root under dest, unpacking or downloading it if needed."""
    root = dest / "sa_corpus"
    if not (root / "spam").is_dir():
        root = unpack_archive(archive, dest) if archive else download(dest)
    n, problems = verify(root)
    if problems:
        raise SystemExit(f"{len(problems)} of {n} files do not match the manifest, e.g. {problems[:3]}")
    return root


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dest", type=Path, required=True, help="folder to put sa_corpus/ in")
    ap.add_argument("--archive", type=Path, help="a local spamassassin-public.tar.xz instead of downloading")
    args = ap.parse_args(argv)
    root = ensure_corpus(args.dest, args.archive)
    print(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
