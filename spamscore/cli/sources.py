"""The messages of the paths a command is given (``score``, ``learn``): files, folders, mbox, Maildir, stdin."""

from __future__ import annotations

from typing import List

from ..corpus import iter_source


def each_source(paths: List[str], empty: list[str]):
    """The messages of ``paths``; the paths that gave none are appended to ``empty`` (each is then reported
    as "no messages found", and the command exits 2)."""
    for path in paths:
        n = 0
        for item in iter_source(path):
            n += 1
            yield item
        if n == 0:
            empty.append(path)
