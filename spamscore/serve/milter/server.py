"""The milter server: Postfix's connections in, one scoring call per message, header changes and an action out.

Postfix (smtpd_milters / non_smtpd_milters) connects to this server, one
connection per SMTP session, and sends the message as protocol events
(:mod:`spamscore.serve.milter.protocol`).  We collect headers and body (up to
``max_bytes``), score the message in a thread pool at end of body, and answer
with header changes and a final action.

The layers follow aiosmtpd's handler style: :class:`MilterConnection` adapts
protocol events to one call (:meth:`MilterServer.decide`), which returns named
actions; the codec (:func:`~spamscore.serve.milter.protocol.encode`,
:func:`~spamscore.serve.milter.protocol.read_packet`) knows nothing of scoring.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable

from ...errors import SpamscoreError
from ...scoring import Model, Verdict
from ..headers import spam_headers
from ..serving import Admission, Listener, check_slots, peer_of
from ..workers import supervise
from ..splice import fold_header, sanitize_header_value
from .protocol import (MILTER_VERSION, NO_REPLY_FLAG, SMFIC_ABORT, SMFIC_BODY, SMFIC_BODYEOB, SMFIC_CONNECT, SMFIC_DATA,
                       SMFIC_EOH, SMFIC_HEADER, SMFIC_HELO, SMFIC_MACRO, SMFIC_MAIL, SMFIC_OPTNEG, SMFIC_QUIT,
                       SMFIC_QUIT_NC, SMFIC_RCPT, SMFIC_UNKNOWN, SMFIF_ADDHDRS, SMFIF_CHGHDRS, SMFIF_QUARANTINE,
                       SMFIP_HDR_LEADSPC, SMFIP_SKIP, SMFIR_ADDHEADER, SMFIR_CHGHEADER, SMFIR_CONTINUE,
                       SMFIR_INSHEADER, SMFIR_QUARANTINE, SMFIR_REPLYCODE, SMFIR_SKIP, SMFIR_TEMPFAIL, WANTED_ACTIONS,
                       WANTED_PROTOCOL, ProtocolError, cstr, decode_optneg, encode, encode_optneg, read_packet,
                       split_nul)

__all__ = ["MilterConfig", "MilterServer", "MilterStats", "MilterConnection", "Decision", "MessageBuffer",
           "OWN_HEADERS", "serve"]

log = logging.getLogger("spamscore.milter")

OWN_HEADERS = ("X-Spam-Flag", "X-Spam-Score", "X-Spam-Status", "X-Spam-Level")   # what headers.spam_headers writes
_COUNTED = frozenset(h.lower().encode() for h in OWN_HEADERS)


# ----------------------------------------------------------------------------
# policy

@dataclass
class MilterConfig:
    action: str = "tag"                 # tag | reject | quarantine | tempfail: what to do with spam
    threshold: float | None = None      # P(spam) at which the action applies (None: the model's spam cut-off)
    reject_text: str = "Message rejected as spam"
    on_error: str = "accept"            # accept | tempfail | reject
    subject_tag: str | None = None
    max_bytes: int = 512 * 1024         # message bytes kept per connection (the rest is not buffered)
    max_packet: int = 1024 * 1024       # larger packets end the connection
    # Header memory.  The message buffer above holds at most max_bytes; the
    # header fields are also kept apart (for the Subject tag and our stale
    # markup), and that list was unbounded in bytes: 1,000 headers of 1 MiB
    # each took one connection to 1.16 GB (issue 14).  Postfix never sends a
    # header over its header_size_limit (100 KB: longer ones are cut), so a
    # longer one is not Postfix; past any of these caps the message gets the
    # --on-error answer (accept: passed on unscanned; tempfail; reject).
    max_header_bytes: int = 100 * 1024           # one header field (name + value), Postfix's header_size_limit
    max_message_header_bytes: int = 1024 * 1024  # all header fields kept for one message
    max_process_header_bytes: int = 64 * 1024 * 1024  # header fields kept by all connections together
    # Timeouts, Postfix's own milter timeouts seen from our side:
    connect_timeout: float = 30.0       # from accept to option negotiation (milter_connect_timeout)
    command_timeout: float = 10.0       # from the first byte of a packet to its last (milter_command_timeout)
    read_timeout: float = 300.0         # waiting for the next packet (milter_content_timeout)
    score_timeout: float = 10.0
    workers: int = 2
    n_clues: int = 5
    # Connection slots.  When all are taken, the connection idle longest (waiting
    # between messages, not inside one) is closed to make room; with none idle a
    # new connection waits up to connect_timeout.  max_per_peer: Postfix opens one
    # connection per smtpd/cleanup process (default_process_limit 100) from one
    # address, so one peer may hold half the pool by default, never all of it.
    max_connections: int = 200
    max_per_peer: int = 100

    def __post_init__(self):
        if self.action not in ("tag", "reject", "quarantine", "tempfail"):
            raise ValueError(f"expected action tag, reject, quarantine or tempfail, got {self.action!r}")
        if self.on_error not in ("accept", "tempfail", "reject"):
            raise ValueError(f"expected on_error accept, tempfail or reject, got {self.on_error!r}")
        check_slots(self.max_connections, self.max_per_peer)


@dataclass
class MilterStats:
    """Counters and the latest latencies (ms from end of body to the reply being written)."""

    messages: int = 0
    errors: int = 0
    by_verdict: dict = field(default_factory=dict)
    by_action: dict = field(default_factory=dict)
    latencies_ms: deque = field(default_factory=lambda: deque(maxlen=100_000))
    connections: int = 0
    evicted: int = 0                 # idle connections closed to make room for new ones
    refused: int = 0                 # connections closed at once (per-peer limit, or no slot in time)
    over_header_limit: int = 0       # messages past a header cap
    peak_header_bytes: int = 0       # the most header bytes kept by the process at once


@dataclass
class Decision:
    """Replies for end of body: modifications first, then the final action."""

    replies: list[bytes]
    verdict: Verdict | None
    action: str
    error: str | None = None
    note: str | None = None     # what the negotiated actions did not allow, and what we did instead


class MessageBuffer:
    """One message as its connection collects it: the bytes to score (at most ``max_bytes``), the header
    fields kept apart for the Subject tag (within the header caps), and how many of our own stale
    X-Spam-* fields it carries (to delete them)."""

    __slots__ = ("headers", "body", "size", "truncated", "header_counts", "header_bytes", "over_limit")

    def __init__(self):
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()
        self.size = 0
        self.truncated = False
        self.header_counts: dict[bytes, int] = {}
        self.header_bytes = 0               # bytes of self.headers, counted in MilterServer.header_bytes
        self.over_limit: str | None = None  # why the message is past a header cap

    @property
    def started(self) -> bool:
        return bool(self.size or self.headers or self.over_limit or self.header_counts)


class MilterServer(Listener):
    """Scores each message with ``model`` (or ``scorer``) and answers per :class:`MilterConfig`."""

    def __init__(self, model: Model | None, config: MilterConfig | None = None, *,
                 scorer: Callable[[bytes], Verdict] | None = None):
        self.model = model
        self.config = config or MilterConfig()
        self.scorer = scorer or (model.score if model is not None else None)
        self.stats = MilterStats()
        self._executor = ThreadPoolExecutor(max_workers=max(1, self.config.workers),
                                            thread_name_prefix="spamscore-milter")
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task] = set()
        self._admission = Admission(self.config.max_connections, self.config.max_per_peer,
                                    self.config.connect_timeout, self.stats, log)
        self.header_bytes = 0       # header bytes kept by all connections (max_process_header_bytes)

    @property
    def _conns(self) -> dict:
        """The open connections (oldest first), each with its task."""
        return self._admission.conns

    @property
    def spam_cutoff(self) -> float:
        return self.model.spam_cutoff if self.model is not None else 0.9

    # -- the policy: verdict -> replies ---------------------------------------
    def decide(self, verdict: Verdict | None, msg: MessageBuffer, error: str | None = None,
               actions: int = WANTED_ACTIONS) -> Decision:
        """The replies for one message.  ``actions``: the SMFIF_* flags the MTA allowed at option
        negotiation; a modification it did not allow is never sent (the MTA would drop the connection
        or the message): without SMFIF_ADDHDRS the verdict is only logged, without SMFIF_CHGHDRS old
        markup stays and the Subject is not tagged, without SMFIF_QUARANTINE spam is tagged instead."""
        cfg = self.config
        if verdict is None:
            act = {"accept": "accept", "tempfail": "tempfail", "reject": "reject"}[cfg.on_error]
            if act == "tempfail":
                return Decision([encode(SMFIR_TEMPFAIL)], None, "error-tempfail", error)
            if act == "reject":
                return Decision([encode(SMFIR_REPLYCODE, cstr("550 5.7.1 Message could not be checked"))],
                                None, "error-reject", error)
            return Decision([encode(SMFIR_CONTINUE)], None, "error-accept", error)
        threshold = cfg.threshold if cfg.threshold is not None else self.spam_cutoff
        hit = verdict.probability >= threshold if cfg.threshold is not None else verdict.label == "spam"
        act = cfg.action if hit else "tag"
        if act == "reject":
            text = sanitize_header_value(cfg.reject_text).replace("%", "")
            return Decision([encode(SMFIR_REPLYCODE, cstr(f"550 5.7.1 {text}"))], verdict, "reject")
        if act == "tempfail":
            return Decision([encode(SMFIR_TEMPFAIL)], verdict, "tempfail")
        replies = []
        notes = []
        if act == "quarantine" and not actions & SMFIF_QUARANTINE:
            notes.append("quarantine not allowed by the MTA: tagged instead")
            act = "tag"
        # remove stale markup (descending indices: valid whether or not the MTA renumbers)
        if actions & SMFIF_CHGHDRS:
            for name in OWN_HEADERS:
                for idx in range(msg.header_counts.get(name.lower().encode(), 0), 0, -1):
                    replies.append(encode(SMFIR_CHGHEADER, struct.pack("!I", idx) + cstr(name) + b"\0"))
        elif msg.header_counts:
            notes.append("header changes not allowed by the MTA: old X-Spam-* headers kept")
        if cfg.subject_tag and verdict.label == "spam":
            replies.extend(self._subject_change(msg, cfg.subject_tag, actions, notes))
        if actions & SMFIF_ADDHDRS:
            headers = spam_headers(verdict, self.model if self.model is not None else self.spam_cutoff, cfg.n_clues)
            for name, value in reversed(headers):   # each at index 0: they end up in order, at the top
                folded = "\n".join(fold_header(name, sanitize_header_value(value)))[len(name) + 1:]
                replies.append(encode(SMFIR_INSHEADER, struct.pack("!I", 0) + cstr(name) + cstr(folded)))
        else:
            notes.append("adding headers not allowed by the MTA: verdict logged only")
        if act == "quarantine":
            replies.append(encode(SMFIR_QUARANTINE, cstr(f"spamscore: spam probability {verdict.probability:.4f}")))
        replies.append(encode(SMFIR_CONTINUE))
        return Decision(replies, verdict, act, note="; ".join(notes) or None)

    def _subject_change(self, msg: MessageBuffer, tag: str, actions: int = WANTED_ACTIONS,
                        notes: list[str] | None = None) -> list[bytes]:
        tag_b = sanitize_header_value(tag).encode("ascii")
        for name, value in msg.headers:
            if name.lower() == b"subject":
                stripped = value.lstrip(b" \t")
                if stripped.startswith(tag_b):
                    return []
                if not actions & SMFIF_CHGHDRS:
                    if notes is not None:
                        notes.append("header changes not allowed by the MTA: Subject not tagged")
                    return []
                new = b" " + tag_b + b" " + stripped
                return [encode(SMFIR_CHGHEADER, struct.pack("!I", 1) + b"Subject\0" + new.replace(b"\0", b"") + b"\0")]
        if not actions & SMFIF_ADDHDRS:
            return []
        return [encode(SMFIR_ADDHEADER, b"Subject\0 " + tag_b + b"\0")]

    # -- scoring ----------------------------------------------------------------
    async def score(self, raw: bytes) -> Verdict:
        if self.scorer is None:
            raise SpamscoreError("no model loaded")
        loop = asyncio.get_running_loop()
        fut = loop.run_in_executor(self._executor, self.scorer, raw)
        return await asyncio.wait_for(fut, self.config.score_timeout)

    # -- serving (Listener.handle: admission, then these) -------------------------
    ended = (ProtocolError, TimeoutError, ConnectionError)
    log = log

    def connection(self, reader, writer) -> "MilterConnection":
        return MilterConnection(self, reader, writer)

    async def serve_connection(self, conn: "MilterConnection", reader, writer) -> None:
        await conn.run()

    def released(self, conn: "MilterConnection") -> None:
        conn.release()                  # the message buffers and their header accounting


class MilterConnection:
    """One MTA connection: protocol events in, replies out."""

    def __init__(self, server: MilterServer, reader, writer):
        self.server = server
        self.cfg = server.config
        self.reader = reader
        self.writer = writer
        self.protocol = 0          # negotiated protocol flags
        self.actions = 0           # negotiated actions (SMFIF_*): nothing is allowed before negotiation
        self.macros: dict[bytes, str] = {}
        self.msg = MessageBuffer()
        self.idle = True           # waiting for a packet between messages: may be closed to make room
        self.idle_since = time.monotonic()
        self.peer = peer_of(writer)

    def _needs_reply(self, cmd: bytes) -> bool:
        flag = NO_REPLY_FLAG.get(cmd)
        return flag is None or not (self.protocol & flag)

    async def _send(self, *packets: bytes) -> None:
        self.writer.write(b"".join(packets))
        await self.writer.drain()

    def _keep_header(self, name: bytes, value: bytes) -> None:
        """Keep one header field (for the Subject tag), within the three header caps."""
        m, srv, cfg = self.msg, self.server, self.cfg
        if m.over_limit is not None or len(m.headers) >= 1000:
            return
        size = len(name) + len(value)
        if size > cfg.max_header_bytes:
            m.over_limit = f"a header field of {size} bytes (limit {cfg.max_header_bytes})"
        elif m.header_bytes + size > cfg.max_message_header_bytes:
            m.over_limit = f"more than {cfg.max_message_header_bytes} bytes of header fields"
        elif srv.header_bytes + size > cfg.max_process_header_bytes:
            m.over_limit = f"header memory of the process full ({cfg.max_process_header_bytes} bytes)"
        else:
            m.headers.append((name, value))
            m.header_bytes += size
            srv.header_bytes += size
            if srv.header_bytes > srv.stats.peak_header_bytes:
                srv.stats.peak_header_bytes = srv.header_bytes
            return
        srv.stats.over_header_limit += 1

    def _keep(self, chunk: bytes) -> None:
        m = self.msg
        m.size += len(chunk)
        room = self.cfg.max_bytes - len(m.body)
        if room <= 0:
            m.truncated = True
            return
        if len(chunk) > room:
            m.truncated = True
            chunk = chunk[:room]
        m.body += chunk

    async def run(self) -> None:
        cfg = self.cfg
        wait = cfg.connect_timeout                    # until option negotiation
        while True:
            if not self.msg.started:
                self.idle, self.idle_since = True, time.monotonic()
            try:
                pkt = await read_packet(self.reader, cfg.max_packet, wait, cfg.command_timeout)
            finally:
                self.idle = False
            if pkt is None:
                return
            cmd, data = pkt
            if cmd == SMFIC_OPTNEG:
                version, actions, protocol = decode_optneg(data)
                if version < 2:
                    raise ProtocolError(f"expected milter protocol version >= 2, got {version}")
                self.protocol = WANTED_PROTOCOL & protocol
                self.actions = WANTED_ACTIONS & actions
                wait = cfg.read_timeout
                await self._send(encode(SMFIC_OPTNEG, encode_optneg(min(version, MILTER_VERSION),
                                                                   self.actions, self.protocol)))
            elif cmd == SMFIC_MACRO:
                parts = split_nul(data[1:])
                for k, v in zip(parts[::2], parts[1::2]):
                    if k in self.macros or len(self.macros) < 256:     # bounded memory
                        self.macros[k] = v[:1024].decode("utf-8", "replace")
            elif cmd == SMFIC_HEADER:
                parts = split_nul(data)
                name = parts[0] if parts else b""
                value = parts[1] if len(parts) > 1 else b""
                if not (self.protocol & SMFIP_HDR_LEADSPC):
                    value = b" " + value
                lname = name.lower()
                if lname in _COUNTED:
                    self.msg.header_counts[lname] = self.msg.header_counts.get(lname, 0) + 1
                self._keep_header(name, value)
                if len(self.msg.body) < cfg.max_bytes:
                    self._keep(name + b":" + value.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + b"\r\n")
                else:                                   # full: count the bytes, copy nothing
                    self.msg.size += len(name) + len(value) + 3
                    self.msg.truncated = True
                if self._needs_reply(cmd):
                    await self._send(encode(SMFIR_CONTINUE))
            elif cmd == SMFIC_EOH:
                self._keep(b"\r\n")
                if self._needs_reply(cmd):
                    await self._send(encode(SMFIR_CONTINUE))
            elif cmd == SMFIC_BODY:
                self._keep(data)
                if self._needs_reply(cmd):
                    skip = (self.msg.truncated or self.msg.over_limit) and self.protocol & SMFIP_SKIP
                    await self._send(encode(SMFIR_SKIP if skip else SMFIR_CONTINUE))
            elif cmd == SMFIC_BODYEOB:
                if data:
                    self._keep(data)
                await self._end_of_message()
            elif cmd == SMFIC_ABORT:
                self._reset()
            elif cmd == SMFIC_QUIT:
                return
            elif cmd == SMFIC_QUIT_NC:
                self._reset()
                self.macros.clear()
            elif cmd in (SMFIC_CONNECT, SMFIC_HELO, SMFIC_MAIL, SMFIC_RCPT, SMFIC_DATA, SMFIC_UNKNOWN):
                if cmd == SMFIC_MAIL:
                    self._reset()
                if self._needs_reply(cmd):
                    await self._send(encode(SMFIR_CONTINUE))
            else:
                raise ProtocolError(f"unknown milter command {cmd!r}")

    def _reset(self) -> None:
        self.server.header_bytes -= self.msg.header_bytes
        self.msg = MessageBuffer()

    def release(self) -> None:
        """The connection ended: give its message's memory (and header accounting) back."""
        self._reset()
        self.macros.clear()

    async def _end_of_message(self) -> None:
        t0 = time.perf_counter()
        srv = self.server
        verdict, error = None, None
        if self.msg.over_limit is not None:
            error = f"not scored: {self.msg.over_limit}"
        else:
            raw = bytes(self.msg.body)
            try:
                verdict = await srv.score(raw)
            except (asyncio.TimeoutError, TimeoutError):
                error = f"scoring took longer than {self.cfg.score_timeout:g} s"
            except Exception as exc:  # noqa: BLE001 - fail open/closed per on_error, never crash
                error = f"{type(exc).__name__}: {exc}"
            del raw
        decision = srv.decide(verdict, self.msg, error, self.actions)
        await self._send(*decision.replies)
        ms = (time.perf_counter() - t0) * 1000.0
        st = srv.stats
        st.messages += 1
        st.latencies_ms.append(ms)
        st.by_action[decision.action] = st.by_action.get(decision.action, 0) + 1
        qid = self.macros.get(b"i", "-")
        if verdict is not None:
            st.by_verdict[verdict.label] = st.by_verdict.get(verdict.label, 0) + 1
            log.info("queue_id=%s verdict=%s probability=%.4f action=%s size=%d%s ms=%.1f%s", qid, verdict.label,
                     verdict.probability, decision.action, self.msg.size,
                     " truncated" if self.msg.truncated else "", ms,
                     f" note={decision.note!r}" if decision.note else "")
        else:
            st.errors += 1
            log.error("queue_id=%s error=%r action=%s ms=%.1f", qid, error, decision.action, ms)
        self._reset()


# ----------------------------------------------------------------------------

def serve(address, load: "Callable[[], Model] | Model", config: MilterConfig, *, workers: int = 1,
          grace: float = 10.0, ready: Callable[[], None] | None = None) -> None:
    """Serve until SIGTERM or SIGINT with ``workers`` pre-forked processes; SIGHUP reloads the model.

    One Python process scores on one core at a time, so N workers share one
    listening socket and the model loaded before the fork
    (:func:`spamscore.serve.workers.supervise`).  A worker replaced at a reload
    finishes its connections: Postfix keeps one for a whole SMTP session, so it
    may take them until the idle timeout (``read_timeout``) closes them.
    """
    loader = load if callable(load) else (lambda: load)
    supervise(address, loader, lambda model: MilterServer(model, config), workers=workers, grace=grace,
              retire_grace=max(grace, config.read_timeout), ready=ready, logger=log)
