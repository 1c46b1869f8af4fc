"""The spamd server: spamc's (or Exim's, Haraka's) connections in, one scoring call per request, a reply out.

:mod:`spamscore.serve.spamd.protocol` reads the request and writes the reply;
:class:`SpamdServer` admits the connection (:class:`~spamscore.serve.serving.Admission`),
bounds its time, scores or learns (``TELL``), and turns every failure into
spamd's error reply; :func:`serve` runs pre-forked worker processes sharing
one listening socket, reloading the model on SIGHUP.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

from ...scoring import Model, Verdict
from ..headers import spam_points
from ..serving import Admission, Listener, check_slots, peer_of
from ..workers import supervise
from .protocol import (EX_PROTOCOL, EX_SOFTWARE, EX_TEMPFAIL, EX_TIMEOUT, EX_UNAVAILABLE, Request, SpamdError,
                       error_reply, format_reply, read_request, readline, shown, tell_reply, tell_targets)

__all__ = ["SpamdConfig", "SpamdServer", "SpamdStats", "serve"]

log = logging.getLogger("spamscore.spamd")


@dataclass
class SpamdConfig:
    max_bytes: int = 10 * 1024 * 1024   # message bytes accepted per request (after inflating); more: EX_DATAERR
    max_header_lines: int = 64          # request header lines (spamc sends four at most)
    max_line: int = 8192                # bytes in one request line
    read_timeout: float = 30.0          # seconds for a client to send its whole request (spamd's --timeout-tcp)
    idle_timeout: float = 10.0          # seconds from connect to the end of the request line (spamc sends at once)
    score_timeout: float = 10.0         # seconds scoring one message may take
    threads: int = 2                    # scoring threads per process
    n_clues: int = 10                   # clues in SYMBOLS, REPORT and X-Spam-Status
    # Connection slots (serving.Admission): when all are taken, the connection idle
    # longest (its request line not yet in) is closed to make room; with none idle a
    # new connection waits up to idle_timeout, then gets EX_TEMPFAIL (spamc passes
    # the message through).  One address may hold half the pool, never all of it.
    max_connections: int = 200          # per process
    max_per_peer: int = 100
    allow_tell: bool = False            # TELL learns into model_path
    model_path: str | None = None       # the model file TELL updates
    tell_timeout: float = 30.0          # seconds a TELL may wait for the model's lock and write it

    def __post_init__(self):
        if self.max_bytes < 1:
            raise ValueError(f"expected max_bytes >= 1, got {self.max_bytes}")
        check_slots(self.max_connections, self.max_per_peer)


@dataclass
class SpamdStats:
    messages: int = 0
    errors: int = 0
    connections: int = 0
    evicted: int = 0                 # idle connections closed to make room for new ones
    refused: int = 0                 # connections turned away (per-peer limit, or no slot in time)
    by_verdict: dict = field(default_factory=dict)


class _Slot:
    """One connection as :class:`~spamscore.serve.serving.Admission` sees it: idle until its request line is in."""

    __slots__ = ("peer", "idle", "idle_since")

    def __init__(self, peer: str):
        self.peer, self.idle, self.idle_since = peer, True, time.monotonic()


class SpamdServer(Listener):
    """Answers spamd requests with ``model`` (swappable with :meth:`reload`)."""

    def __init__(self, model: Model | None, config: SpamdConfig | None = None, *,
                 scorer: Callable[[bytes], Verdict] | None = None,
                 learner: Callable[..., object] | None = None):
        self.model = model
        self.config = config or SpamdConfig()
        self._scorer = scorer
        self._learner = learner
        self.stats = SpamdStats()
        self._executor = ThreadPoolExecutor(max_workers=max(1, self.config.threads),
                                            thread_name_prefix="spamscore-spamd")
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task] = set()
        self._admission = Admission(self.config.max_connections, self.config.max_per_peer,
                                    self.config.idle_timeout, self.stats, log)
        self.stream_limit = self.config.max_line      # a longer request line or header: EX_PROTOCOL

    def reload(self, model: Model) -> None:
        """Score the next requests with ``model``; requests being scored finish with the old one."""
        self.model = model

    # -- one request ------------------------------------------------------------
    async def score(self, raw: bytes) -> tuple[Verdict, Model]:
        model = self.model                   # one model for the verdict and the points, even across a reload
        fn = self._scorer or (model.score if model is not None else None)
        if fn is None:
            raise SpamdError(EX_SOFTWARE, "no model loaded")
        loop = asyncio.get_running_loop()
        verdict = await asyncio.wait_for(loop.run_in_executor(self._executor, fn, raw), self.config.score_timeout)
        return verdict, model

    async def tell(self, req: Request) -> bytes:
        cfg = self.config
        if not cfg.allow_tell:
            raise SpamdError(EX_UNAVAILABLE, "Service Unavailable: TELL commands have not been enabled.")
        sets, removes = tell_targets(req.headers.get("set")), tell_targets(req.headers.get("remove"))
        cls = req.headers.get("message-class", "").strip().lower()
        if not sets and not removes:
            raise SpamdError(EX_PROTOCOL, "Bad header line: (TELL without Set or Remove)")
        if "local" in sets and "local" in removes:
            raise SpamdError(EX_PROTOCOL, "Bad header line: (Unable to set local and remove local in the same operation.)")
        if "local" in sets and cls not in ("spam", "ham"):
            raise SpamdError(EX_PROTOCOL, f"Bad header line: (Message-class {shown(cls.encode())!r}, expected spam or ham)")
        if self._learner is None and not cfg.model_path:
            raise SpamdError(EX_UNAVAILABLE, "Service Unavailable: no model file to learn into")
        learn = self._learner or _learn_into(cfg.model_path)
        items = [("tell", req.body, None)]
        loop = asyncio.get_running_loop()
        did_set, did_remove = [], []

        async def run(spam: bool, forget: bool):
            return await asyncio.wait_for(loop.run_in_executor(
                self._executor, lambda: learn(items, spam=spam, forget=forget)), cfg.tell_timeout)

        if "local" in removes:
            # forget whatever was learned: with the class given, that label; without, either
            labels = [cls == "spam"] if cls in ("spam", "ham") else [True, False]
            for spam in labels:
                if (await run(spam, True)).changed:
                    did_remove.append("local")
                    break
        if "local" in sets:
            if (await run(cls == "spam", False)).changed:
                did_set.append("local")
        return tell_reply(did_set, did_remove)

    async def answer(self, req: Request) -> tuple[bytes, Verdict | None]:
        """The reply to a complete request (SpamdError for the ones that get an error reply)."""
        if req.method == "PING":
            return b"SPAMD/1.5 0 PONG\r\n", None
        what = "learning" if req.method == "TELL" else "scoring"
        limit = self.config.tell_timeout if req.method == "TELL" else self.config.score_timeout
        try:
            if req.method == "TELL":
                return await self.tell(req), None
            verdict, model = await self.score(req.body)
        except SpamdError:
            raise
        except (asyncio.TimeoutError, TimeoutError):
            raise SpamdError(EX_TIMEOUT, f"Timeout: {what} took longer than {limit:g} s") from None
        except Exception as exc:  # noqa: BLE001 - an error reply, never a dead server
            raise SpamdError(EX_SOFTWARE, f"Internal error while {what}: {type(exc).__name__}: {exc}") from None
        return format_reply(req, verdict, model, self.config.n_clues), verdict

    # -- one connection (Listener.handle: admission, then these) -------------------
    log = log

    def connection(self, reader, writer) -> _Slot:
        return _Slot(peer_of(writer))

    async def refuse(self, slot: _Slot, reader, writer) -> None:
        writer.write(error_reply(EX_TEMPFAIL, "Service busy: all connections taken, try again"))
        await self._finish(reader, writer)

    async def serve_connection(self, slot: _Slot, reader, writer) -> None:
        cfg = self.config
        t0 = time.perf_counter()
        req = None
        try:
            try:
                # idle (and so closable to make room) until the request line is in: idle_timeout;
                # then busy, and the whole request within read_timeout
                async with asyncio.timeout(cfg.idle_timeout):
                    line = await readline(reader)
            except (asyncio.TimeoutError, TimeoutError):
                raise SpamdError(EX_TIMEOUT, f"Timeout: no request line within {cfg.idle_timeout:g} s") from None
            slot.idle = False
            try:
                async with asyncio.timeout(cfg.read_timeout):
                    req = await read_request(reader, cfg, first_line=line)
            except (asyncio.TimeoutError, TimeoutError):
                raise SpamdError(EX_TIMEOUT, f"Timeout: no complete request within {cfg.read_timeout:g} s") from None
            if req is None or req.method == "SKIP":
                return
            reply, verdict = await self.answer(req)
        except SpamdError as exc:
            self.stats.errors += 1
            method = req.method if req is not None else (exc.method or "-")
            log.error("method=%s user=%s error=%r code=%d ms=%.1f", method, req.user if req else "-",
                      exc.text, exc.code, (time.perf_counter() - t0) * 1000.0)
            writer.write(error_reply(exc.code, exc.text))
            await self._finish(reader, writer, drain_input=True)
            return
        writer.write(reply)
        await self._finish(reader, writer)
        ms = (time.perf_counter() - t0) * 1000.0
        if verdict is not None:
            st = self.stats
            st.messages += 1
            st.by_verdict[verdict.label] = st.by_verdict.get(verdict.label, 0) + 1
            log.info("method=%s user=%s verdict=%s probability=%.4f points=%.1f size=%d ms=%.1f", req.method,
                     req.user, verdict.label, verdict.probability, spam_points(verdict, self.model),
                     len(req.body), ms)
        elif req.method == "TELL":
            log.info("method=TELL user=%s class=%s set=%s remove=%s size=%d ms=%.1f", req.user,
                     shown(req.headers.get("message-class", "-").encode()), shown(req.headers.get("set", "-").encode()),
                     shown(req.headers.get("remove", "-").encode()), len(req.body), ms)

    async def _finish(self, reader, writer, drain_input: bool = False) -> None:
        """Send the reply and close our side.  After an error the client may still be sending
        (spamc writes the whole message before it reads): read and drop what it sends, for two
        seconds at most, so that closing does not reset the connection (and discard our
        answer) before the client has read it."""
        try:
            async with asyncio.timeout(self.config.read_timeout):
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
            if drain_input:
                async with asyncio.timeout(2.0):
                    while await reader.read(65536):
                        pass
        except (asyncio.TimeoutError, TimeoutError, ConnectionError, OSError):
            pass


def _learn_into(model_path: str):
    from ...learn import learn_messages

    def learn(items, *, spam: bool, forget: bool):
        return learn_messages(model_path, items, spam=spam, forget=forget, lock_timeout=10.0)

    return learn


# ----------------------------------------------------------------------------
# pre-forked workers

def serve(address, load: Callable[[], Model], config: SpamdConfig, *, workers: int = 1,
          grace: float = 10.0, ready: Callable[[], None] | None = None) -> None:
    """Serve until SIGTERM or SIGINT with ``workers`` pre-forked processes; SIGHUP reloads.

    :func:`spamscore.serve.workers.supervise` runs them: the model is loaded before
    the fork (shared pages), SIGHUP starts a new generation of workers while
    the old ones finish the requests they hold (no connection dropped; if the
    new model cannot be loaded the old workers go on), a dead worker is
    replaced, SIGTERM stops them all (``grace`` seconds for open requests).
    """
    supervise(address, load, lambda model: SpamdServer(model, config), workers=workers, grace=grace,
              ready=ready, logger=log)
