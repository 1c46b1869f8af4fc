"""What the two server commands (``milter``, ``serve``) share around their server: the ``--listen``
address, logging, and serving until stopped, each failure as the one-line error and exit code 2."""

from __future__ import annotations

import os
import sys

from ._app import fail


def listen_address(parse_listen, listen: str):
    """``parse_listen(listen)`` (the protocol module's own), its ValueError as a one-line error."""
    try:
        return parse_listen(listen)
    except ValueError as exc:
        raise fail(str(exc)) from None


def start_logging(level: str, fmt: str) -> None:
    """Log records at ``level`` (debug, info, warning, error; info when unknown) to stderr as ``fmt``."""
    import logging

    logging.basicConfig(level=getattr(logging, level.upper(), logging.INFO), format=fmt, stream=sys.stderr)


def serve_until_stopped(serve, address, loader, cfg, *, workers: int, listen: str) -> None:
    """``serve`` with ``workers`` processes (0: one per core) until SIGTERM; an address that cannot be
    listened on as a one-line error."""
    try:
        serve(address, loader, cfg, workers=workers or (os.cpu_count() or 1))
    except OSError as exc:
        raise fail(f"cannot listen on {listen}: {exc.strerror or exc}") from None
