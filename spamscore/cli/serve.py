"""serve: a spamd-compatible server (SpamAssassin's SPAMC/SPAMD protocol) for spamc, Exim, Haraka."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..message import Limits
from ._app import app, cli_errors, fail, settle
from .options import LOG_LEVEL, MAX_CONNECTIONS, MODEL, TRUSTED, listen_option
from .servers import listen_address, serve_until_stopped, start_logging


@app.command("serve")
@cli_errors
def serve_cmd(
    listen: str = listen_option(" (spamd's port is 783)."),
    model: Optional[Path] = MODEL,
    workers: int = typer.Option(0, "--workers", min=0, max=64, help="Worker processes sharing the socket (0: one per core)."),
    allow_tell: bool = typer.Option(False, "--allow-tell", help="Let clients learn into the model file (TELL, spamc -L / -C)."),
    max_size: int = typer.Option(10 * 1024 * 1024, "--max-size", min=1024, help="Largest message accepted, in bytes (larger: an EX_DATAERR reply, spamc passes it through)."),
    score_bytes: int = typer.Option(512 * 1024, "--score-bytes", min=1024, help="Score only the first BYTES of a message."),
    timeout: float = typer.Option(10.0, "--timeout", min=0.1, help="Seconds scoring one message may take (then EX_TIMEOUT)."),
    read_timeout: float = typer.Option(30.0, "--read-timeout", min=0.1, help="Seconds a client has to send its whole request."),
    idle_timeout: float = typer.Option(10.0, "--idle-timeout", min=0.1, help="Seconds from connect to the request line (an idle client is closed after it, or sooner to make room)."),
    max_connections: int = MAX_CONNECTIONS,
    max_per_peer: int = typer.Option(100, "--max-per-peer", min=1, help="Connections from one address per worker (all unix-socket peers count as one)."),
    clues: int = typer.Option(10, "--clues", min=0, max=100, help="Clues in the symbols, the report and X-Spam-Status."),
    trusted: Optional[List[str]] = TRUSTED,
    log_level: str = LOG_LEVEL,
) -> None:
    """Run a spamd-compatible server: spamc, Exim's spam= ACL, Haraka and aiospamc talk to it unchanged.

    Replies carry our verdict as SpamAssassin points (Spam: True ; 8.2 / 5.0; the model's
    spam cut-off is 5.0), the clues as symbols and X-Spam-* headers. SIGHUP reloads the
    model (no connection dropped), SIGTERM stops cleanly.

    Example: spamscore serve --listen inet:127.0.0.1:783 --model /var/lib/spamscore/my.spamscore
    Example: spamc -d 127.0.0.1 -p 783 -c < msg.eml    (prints 8.2/5.0, exits 1 for spam)
    Exim:    spamd_address = 127.0.0.1 783    and in the DATA ACL:  warn spam = nobody:true
    """

    from ..scoring import load_model
    from ..serve.spamd import SpamdConfig, parse_listen, serve
    from ..serve.workers import preloaded

    address = listen_address(parse_listen, listen)
    if allow_tell and model is None:     # never learn into the shipped model by accident
        raise fail("--allow-tell needs --model: TELL writes the model file")
    start_logging(log_level, "%(asctime)s %(name)s[%(process)d] %(levelname)s %(message)s")

    def load():
        return settle(load_model(model, trusted_authserv_ids=trusted or (), limits=Limits(max_bytes=score_bytes)))

    first = load()        # errors here (a missing or damaged model) end the command with one line, exit 2
    cfg = SpamdConfig(max_bytes=max_size, read_timeout=read_timeout, idle_timeout=idle_timeout,
                      max_connections=max_connections, max_per_peer=max_per_peer, score_timeout=timeout, n_clues=clues,
                      allow_tell=allow_tell, model_path=first.path if allow_tell else None)
    loader = preloaded(load, first)     # the model loaded above first, then a fresh load at each SIGHUP

    serve_until_stopped(serve, address, loader, cfg, workers=workers, listen=listen)
