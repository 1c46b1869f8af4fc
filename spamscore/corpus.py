"""Reading training and evaluation data.

A *source* is an ``.eml`` file, a directory (read recursively), an mbox file
or a Maildir.  An *index* is a TSV of ``path<TAB>spam|ham`` lines (extra
columns are ignored; a header line is recognised), or the TREC form
``spam ../data/inmail.1``.  Index paths are relative to the index file's
folder unless absolute (or to ``root`` when given).

Every reader yields :class:`Item` records lazily, in a stable order; an
unreadable file becomes an item with ``error`` set, so one bad file never
stops a batch.
"""

from __future__ import annotations

import errno
import mailbox
import os
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import CorpusError

__all__ = ["Item", "iter_source", "iter_sources", "read_index", "iter_index", "read_bytes", "split_mbox",
           "index_base", "check_index_files", "iter_entries", "read_deferred"]

MAX_MESSAGE_BYTES = 64 * 1024 * 1024


@dataclass(slots=True)
class Item:
    path: str                 # as given, or path#n for the n-th message of an mbox
    raw: bytes | None
    label: str | None = None  # "spam", "ham" or None
    error: str | None = None
    # True: not read yet; the source ``path`` is read where the message is used (``iter_source(path, label)``,
    # which may give several messages, or one unreadable): iter_entries(defer=True), for training's workers
    deferred: bool = False


def read_bytes(path: str | os.PathLike, limit: int = MAX_MESSAGE_BYTES) -> bytes:
    """The first ``limit`` bytes of a file.

    One ``open``, one ``fstat`` and a read of the file's own size: ``read(limit)``
    with a 64 MB limit allocates (and then shrinks) a 64 MB buffer per file,
    which cost about 30 µs a message when scoring a corpus.
    """
    data = _read_file(path, limit)
    if data is None:
        raise IsADirectoryError(errno.EISDIR, "Is a directory", os.fspath(path))
    return data


def _read_file(path: str | os.PathLike, limit: int = MAX_MESSAGE_BYTES) -> bytes | None:
    """:func:`read_bytes`, or None when ``path`` is a directory (told by the same ``fstat``)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            return None
        size = st.st_size
        want = min(size, limit) if size > 0 else limit  # size 0: a pipe or /proc file, read until EOF
        chunks = []
        got = 0
        while got < want:
            b = os.read(fd, min(want - got, 1 << 24))
            if not b:
                break
            chunks.append(b)
            got += len(b)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    finally:
        os.close(fd)


def _is_maildir(p: Path) -> bool:
    return (p / "cur").is_dir() and (p / "new").is_dir()


def _looks_like_mbox(head: bytes, p: Path | str) -> bool:
    """An mbox starts with a ``From `` line and holds more than one message."""
    if not head.startswith(b"From "):
        return False
    return head.find(b"\nFrom ", 0, 1 << 20) != -1 or os.path.splitext(p)[1].lower() in (".mbox", ".mbx")


def _iter_file(p: Path | str, given: str, label: str | None, data: bytes | None = None) -> Iterator[Item]:
    if data is None:
        try:
            data = read_bytes(p)
        except OSError as exc:
            yield Item(given, None, label, exc.strerror or str(exc))
            return
    if not _looks_like_mbox(data, p):
        yield Item(given, data, label)
        return
    box = None
    try:
        box = mailbox.mbox(str(p), create=False)
        keys = list(box.iterkeys())
    except (OSError, mailbox.Error) as exc:
        if box is not None:
            box.close()
        yield Item(given, None, label, f"cannot read mbox: {exc}")
        return
    try:
        for n, key in enumerate(keys):
            try:
                yield Item(f"{given}#{n}", box.get_bytes(key), label)
            except (OSError, KeyError, mailbox.Error) as exc:
                yield Item(f"{given}#{n}", None, label, str(exc))
    finally:
        box.close()   # (its file stayed open until the box was collected: a ResourceWarning)


def split_mbox(data: bytes) -> list[bytes]:
    """The messages of an mbox held in memory (stdin), the bytes :class:`mailbox.mbox` gives for the file.

    As ``mailbox.mbox`` reads a file: a message starts at each line that
    begins with ``From `` (that line is left out); the blank line before the
    next ``From `` line belongs to neither; anything before the first
    ``From `` line is skipped.  One pass over the line ends, in C where it can.
    """
    starts: list[int] = []   # offset of each message's first line after its From_ line
    stops: list[int] = []
    pos = 0
    last_was_empty = False
    n = len(data)
    while pos < n:
        nl = data.find(b"\n", pos)
        end = n if nl == -1 else nl + 1
        if data.startswith(b"From ", pos):
            if len(stops) < len(starts):
                stops.append(pos - 1 if last_was_empty else pos)
            starts.append(end)
            last_was_empty = False
        else:
            last_was_empty = end - pos == 1 and nl != -1
        pos = end
    if len(stops) < len(starts):
        stops.append(n - 1 if last_was_empty else n)
    return [data[a:max(a, b)] for a, b in zip(starts, stops)]


def index_base(index: str | os.PathLike, root: str | os.PathLike | None = None) -> str:
    """The folder an index's relative paths are read from: ``root``, else the index's own folder."""
    return os.fspath(root) if root is not None else os.fspath(Path(index).parent)


def check_index_files(entries: list[tuple[str, str]], base: str, root_given: bool, probe: int = 100) -> None:
    """Raise :class:`CorpusError` when none of an index's files exists (a forgotten or wrong ``--root``).

    Looks at the first ``probe`` entries; only when none of them exists does
    it count them all, so the usual case costs at most ``probe`` ``stat`` calls.
    """
    if any(os.path.exists(p) for p, _ in entries[:probe]):
        return
    found = sum(1 for p, _ in entries[probe:] if os.path.exists(p))
    if found == 0:
        hint = "check --root" if root_given else "pass --root"
        raise CorpusError(f"0 of {len(entries):,} indexed files exist under {base}: {hint}")


def iter_source(path: str | os.PathLike, label: str | None = None) -> Iterator[Item]:
    """Messages of one source (file, directory, mbox, Maildir)."""
    given = os.fspath(path)
    if given == "-":
        import sys
        data = sys.stdin.buffer.read(MAX_MESSAGE_BYTES)
        if _looks_like_mbox(data, given):  # `cat box.mbox | spamscore score -`: each message, as from the file
            for n, msg in enumerate(split_mbox(data)):
                yield Item(f"-#{n}", msg, label)
            return
        yield Item("-", data, label)
        return
    # One open and fstat tell a file from a directory (no separate stat, no
    # Path object for a plain file: ~25 µs a message over a corpus).
    try:
        data = _read_file(given)
    except OSError as exc:
        if not os.path.isdir(given):  # (Windows cannot open a directory)
            yield Item(given, None, label, "no such file or directory" if isinstance(exc, FileNotFoundError)
                       else exc.strerror or str(exc))
            return
        data = None
    if data is None:
        p = Path(given)
        if _is_maildir(p):
            for sub in ("new", "cur"):
                for f in sorted((p / sub).iterdir()):
                    if f.is_file() and not f.name.startswith("."):
                        yield from _iter_file(f, str(f), label)
            # Maildir++ subfolders (.Junk, .Archive) are separate folders
            for f in sorted(p.iterdir()):
                if f.is_dir() and f.name.startswith(".") and _is_maildir(f):
                    yield from iter_source(f, label)
            return
        for root, dirs, files in os.walk(p):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if name.startswith(".") or name in ("cmds",):
                    continue
                f = Path(root) / name
                yield from _iter_file(f, str(f), label)
        return
    yield from _iter_file(given, given, label, data)


def iter_sources(paths, label: str | None = None) -> Iterator[Item]:
    for path in paths:
        yield from iter_source(path, label)


def read_index(index: str | os.PathLike, root: str | os.PathLike | None = None,
               split: str | None = None) -> list[tuple[str, str]]:
    """``[(path, label)]`` from a TSV or TREC index; raises CorpusError on a bad line."""
    index = Path(index)
    try:
        text = index.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError as exc:
        raise CorpusError(f"{index}: cannot read index ({exc.strerror or exc})") from None
    base = index_base(index, root)
    out: list[tuple[str, str]] = []
    split_col = None
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t") if "\t" in line else line.split()
        if len(cols) < 2:
            raise CorpusError(f"{index}:{lineno}: expected 'path<TAB>spam|ham' or 'spam PATH', got {line[:80]!r}")
        a, b = cols[0].strip(), cols[1].strip()
        if lineno == 1 and (b.lower() in ("label", "class") or a.lower() in ("path", "file")):
            header = [c.strip().lower() for c in cols]
            split_col = header.index("split") if "split" in header else None
            continue
        if a.lower() in ("spam", "ham"):        # TREC: label path
            label, path = a.lower(), b
        elif b.lower() in ("spam", "ham"):      # TSV: path label
            label, path = b.lower(), a
        else:
            raise CorpusError(f"{index}:{lineno}: expected a label 'spam' or 'ham', got {line[:80]!r}")
        if split is not None:
            if split_col is None or split_col >= len(cols):
                raise CorpusError(f"{index}: --split given but the index has no 'split' column")
            if cols[split_col].strip() != split:
                continue
        full = path if os.path.isabs(path) else os.path.join(base, path)
        out.append((full, label))
    if not out:
        raise CorpusError(f"{index}: no labelled messages in the index")
    return out


def iter_index(index, root=None, split=None) -> Iterator[Item]:
    yield from iter_entries(read_index(index, root, split))


def iter_entries(entries: list[tuple[str, str]], defer: bool = False) -> Iterator[Item]:
    """The messages of :func:`read_index`'s ``[(path, label)]``.  ``defer``: one unread :class:`Item` per entry
    (``deferred``), for the process that extracts the features to read (:func:`read_deferred`)."""
    if defer:
        for path, label in entries:
            yield Item(path, None, label, deferred=True)
        return
    for path, label in entries:
        yield from iter_source(path, label)


def read_deferred(items: Iterable[Item]) -> Iterator[Item]:
    """``items`` with each deferred one read (:func:`iter_source`: its messages, or one unreadable item)."""
    for item in items:
        if item.deferred:
            yield from iter_source(item.path, item.label)
        else:
            yield item
