"""filter (a pipe filter for procmail, maildrop, Postfix pipe) and milter (for Postfix smtpd_milters)."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from ..message import Limits
from . import _filter
from ._app import app, cli_errors, settle
from .option_specs import FILTER
from .options import LOG_LEVEL, MAX_CONNECTIONS, MAX_SIZE, MODEL, TRUSTED, listen_option, option
from .servers import listen_address, serve_until_stopped, start_logging


def _read_stdin() -> bytes:
    """All of stdin, as bytes (the message is buffered whole before anything is written)."""
    return sys.stdin.buffer.read()


def _loader(model: Optional[Path], trusted, max_size: int):
    return _filter.loader(model, trusted, max_size)


@app.command("filter")
def filter_cmd(
    # the options the fast path (spamscore.cli.main, without typer) also parses: one table for both
    model: Optional[Path] = option(FILTER["model"]),
    tag_subject: Optional[str] = option(FILTER["tag_subject"]),
    exit_code: bool = option(FILTER["exit_code"]),
    max_size: int = option(FILTER["max_size"]),
    trusted: Optional[List[str]] = option(FILTER["trusted"]),
    timeout: float = option(FILTER["timeout"]),
) -> None:
    """Read one message on stdin, write it to stdout with X-Spam-* headers added.

    Nothing else in the message changes. On any failure (no model, damaged model,
    scoring error, timeout) the message is written unchanged, the reason goes to
    stderr and the exit code is 3. Without --exit-code every verdict exits 0.

    Example: spamscore filter --tag-subject '[SPAM]' < msg.eml > marked.eml
    Example (procmail): :0fw
                        | spamscore filter
    """
    # the work is _filter.run's, which spamscore.cli.main also calls without typer (the same bytes out)
    raise typer.Exit(_filter.run(lambda: _read_stdin(), _loader(model, trusted, max_size),
                                 tag_subject=tag_subject, exit_code=exit_code, timeout=timeout))


class Action(str, Enum):
    tag = "tag"
    reject = "reject"
    quarantine = "quarantine"
    tempfail = "tempfail"


class OnError(str, Enum):
    accept = "accept"
    tempfail = "tempfail"
    reject = "reject"


@app.command("milter")
@cli_errors
def milter_cmd(
    listen: str = listen_option(),
    model: Optional[Path] = MODEL,
    action: Action = typer.Option(Action.tag, "--action", help="What to do with spam: tag (headers only), reject (550), quarantine (Postfix hold queue), tempfail."),
    reject_above: Optional[float] = typer.Option(None, "--reject-above", min=0.0, max=1.0,
                                                 help="Probability at or above which --action applies (default: the model's spam cut-off). Alone, it implies --action reject."),
    reject_text: str = typer.Option("Message rejected as spam", "--reject-text", help="Text of the 550 5.7.1 reply."),
    on_error: OnError = typer.Option(OnError.accept, "--on-error", help="When scoring fails: accept (fail open), tempfail or reject."),
    tag_subject: Optional[str] = typer.Option(None, "--tag-subject", help="Prefix the Subject of spam with this tag."),
    max_size: int = MAX_SIZE,
    trusted: Optional[List[str]] = TRUSTED,
    timeout: float = typer.Option(10.0, "--timeout", min=0.1, help="Seconds scoring one message may take."),
    workers: int = typer.Option(0, "--workers", "--processes", min=0, max=64, help="Worker processes sharing the socket and the model (0: one per core; one process scores on one core at a time)."),
    threads: int = typer.Option(2, "--threads", min=1, max=64, help="Scoring threads per worker (the event loop stays responsive while one scores)."),
    max_connections: int = MAX_CONNECTIONS,
    max_per_peer: int = typer.Option(100, "--max-per-peer", min=1, help="Connections from one address (all unix-socket peers count as one)."),
    connect_timeout: float = typer.Option(30.0, "--connect-timeout", min=0.1, help="Seconds from connect to option negotiation."),
    command_timeout: float = typer.Option(10.0, "--command-timeout", min=0.1, help="Seconds from the first byte of a packet to its last."),
    idle_timeout: float = typer.Option(300.0, "--idle-timeout", min=0.1, help="Seconds to wait for the next packet."),
    max_header_bytes: int = typer.Option(100 * 1024, "--max-header-bytes", min=1024, help="Bytes of one header field (Postfix's header_size_limit); past it, --on-error decides."),
    max_message_header_bytes: int = typer.Option(1024 * 1024, "--max-message-header-bytes", min=1024, help="Header bytes kept for one message; past it, --on-error decides."),
    max_process_header_bytes: int = typer.Option(64 * 1024 * 1024, "--max-process-header-bytes", min=1024, help="Header bytes kept by all connections of a process; past it, --on-error decides."),
    log_level: str = LOG_LEVEL,
) -> None:
    """Run a milter (Sendmail milter protocol 6) that Postfix calls for every message.

    SIGHUP reloads the model in every worker (open connections finish with the old
    one), SIGTERM stops cleanly, a worker that dies is replaced.

    Example: spamscore milter --listen inet:127.0.0.1:11332 --model my.spamscore
    main.cf:  smtpd_milters = inet:127.0.0.1:11332
              non_smtpd_milters = $smtpd_milters
              milter_default_action = accept
    """

    from ..serve.milter import MilterConfig, parse_listen, serve
    from ..scoring import load_model
    from ..serve.workers import preloaded

    address = listen_address(parse_listen, listen)
    start_logging(log_level, "%(asctime)s %(name)s %(levelname)s %(message)s")

    def load():
        return settle(load_model(model, trusted_authserv_ids=trusted or (), limits=Limits(max_bytes=max_size)))

    loader = preloaded(load)        # errors here (a missing or damaged model): one line, exit 2
    act = action.value
    if reject_above is not None and action is Action.tag:
        act = "reject"
    cfg = MilterConfig(action=act, threshold=reject_above, reject_text=reject_text, on_error=on_error.value,
                       subject_tag=tag_subject, max_bytes=max_size, score_timeout=timeout,
                       workers=threads, max_connections=max_connections,
                       max_per_peer=max_per_peer, connect_timeout=connect_timeout, command_timeout=command_timeout,
                       read_timeout=idle_timeout, max_header_bytes=max_header_bytes,
                       max_message_header_bytes=max_message_header_bytes,
                       max_process_header_bytes=max_process_header_bytes)
    serve_until_stopped(serve, address, loader, cfg, workers=workers, listen=listen)
