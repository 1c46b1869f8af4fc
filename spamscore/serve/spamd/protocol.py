"""SpamAssassin's SPAMC/SPAMD protocol (up to 1.5): reading a request, writing its reply.

Everything that talks to SpamAssassin's ``spamd`` works unchanged: the
``spamc`` client, Exim's ``spam =`` ACL condition (``spamd_address``),
Haraka's spamassassin plugin, aiospamc.  One request per connection
(SpamAssassin's ``spamd/PROTOCOL``)::

    CHECK SPAMC/1.5\\r\\n            method and protocol version
    Content-length: 1234\\r\\n       the message's length in bytes (after compression)
    User: alice\\r\\n                optional (accepted and logged; one model serves everyone)
    Compress: zlib\\r\\n             optional: the message is zlib-compressed (spamc -z)
    \\r\\n
    <message>

    SPAMD/1.1 0 EX_OK\\r\\n
    Spam: True ; 8.2 / 5.0\\r\\n     our label, points and the required points (headers.spam_points)
    \\r\\n

``SYMBOLS`` adds the clue features (comma-separated, SpamAssassin's rule
names' place), ``REPORT`` a text report, ``REPORT_IFSPAM`` the report of spam
only, ``PROCESS`` the message with our ``X-Spam-*`` headers (byte-identical
otherwise, :func:`spamscore.serve.splice.mark_message`), ``HEADERS`` its header block
alone, ``PING`` a ``PONG``, ``SKIP`` nothing, and ``TELL`` learns
(``Message-class: spam|ham`` with ``Set: local``; ``Remove: local`` forgets)
through :func:`spamscore.learn.learn_messages`, when the server allows it.

Errors are answered as spamd answers them, with a ``sysexits.h`` code on the
first line and nothing else (``SPAMD/1.0 76 Bad header line: ...``):
``spamc`` then passes the message through unchanged (its own fail-safe), and
Exim's ``spam =`` condition defers or, with ``/defer_ok``, accepts.  The
codes: 76 EX_PROTOCOL for a malformed request, 65 EX_DATAERR for a message over
the size limit or compressed data that does not inflate, 69 EX_UNAVAILABLE for
TELL when learning is off (spamd's own answer), 79 EX_TIMEOUT when the client
is too slow to send or scoring overruns its deadline, 70 EX_SOFTWARE for any
other internal error (a broken model...).  Every connection gets a bounded
buffer (``max_bytes``), one deadline to send its request (``read_timeout``)
and a scoring deadline (``score_timeout``); one bad connection never stops
the server.

The layers follow the milter's (:mod:`spamscore.serve.milter`): this codec
(:func:`parse_request_line`, :func:`read_request`, :func:`format_reply`)
knows nothing of sockets' owners; :class:`~spamscore.serve.spamd.server.SpamdServer`
adapts a request to one scoring call, and :func:`~spamscore.serve.spamd.server.serve`
runs pre-forked worker processes sharing one listening socket, reloading the
model on SIGHUP.
"""

from __future__ import annotations

import asyncio
import re
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ...errors import SpamscoreError
from ...scoring import Verdict
from ..headers import REQUIRED_POINTS, spam_headers, spam_points
from ..splice import OWN_HEADERS, header_block_end, mark_message, mbox_from_end

if TYPE_CHECKING:
    from .server import SpamdConfig

__all__ = [
    "SpamdError", "Request", "parse_request_line", "parse_header_line", "read_request", "readline", "inflate",
    "format_reply", "error_reply", "tell_reply", "tell_targets", "symbols", "report_text", "shown", "OWN_HEADERS",
    "METHODS", "BODY_METHODS", "REPLY_VERSION", "EX_NAMES", "EX_OK", "EX_USAGE", "EX_DATAERR", "EX_NOINPUT",
    "EX_NOUSER", "EX_UNAVAILABLE", "EX_SOFTWARE", "EX_IOERR", "EX_TEMPFAIL", "EX_PROTOCOL", "EX_NOPERM", "EX_CONFIG",
    "EX_TIMEOUT",
]

# sysexits.h, and spamd's own EX_TIMEOUT
EX_OK = 0
EX_USAGE = 64
EX_DATAERR = 65
EX_NOINPUT = 66
EX_NOUSER = 67
EX_UNAVAILABLE = 69
EX_SOFTWARE = 70
EX_IOERR = 74
EX_TEMPFAIL = 75
EX_PROTOCOL = 76
EX_NOPERM = 77
EX_CONFIG = 78
EX_TIMEOUT = 79
EX_NAMES = {EX_OK: "EX_OK", EX_USAGE: "EX_USAGE", EX_DATAERR: "EX_DATAERR", EX_NOINPUT: "EX_NOINPUT",
            EX_NOUSER: "EX_NOUSER", EX_UNAVAILABLE: "EX_UNAVAILABLE", EX_SOFTWARE: "EX_SOFTWARE",
            EX_IOERR: "EX_IOERR", EX_TEMPFAIL: "EX_TEMPFAIL", EX_PROTOCOL: "EX_PROTOCOL", EX_NOPERM: "EX_NOPERM",
            EX_CONFIG: "EX_CONFIG", EX_TIMEOUT: "EX_TIMEOUT"}

METHODS = frozenset({"CHECK", "SYMBOLS", "REPORT", "REPORT_IFSPAM", "PROCESS", "HEADERS", "PING", "SKIP", "TELL"})
BODY_METHODS = METHODS - {"PING", "SKIP"}
# The version our replies carry: spamd answers "SPAMD/1.1" to every request but PING ("SPAMD/1.5 0 PONG").
REPLY_VERSION = "1.1"

_REQUEST_LINE = re.compile(rb"([A-Z_]{1,20}) SPAMC/(\d{1,3}\.\d{1,3})\r?\n?")
_HEADER_LINE = re.compile(rb"([A-Za-z][A-Za-z0-9_-]{0,63})[ \t]*:[ \t]*([^\r\n]{0,1024}?)[ \t]*\r?\n?")
_USER = re.compile(r"[-A-Za-z0-9_.@+]{1,128}")


class SpamdError(SpamscoreError):
    """A request that gets an error reply: ``code`` (sysexits.h) and spamd's text for it."""

    def __init__(self, code: int, text: str, method: str | None = None):
        super().__init__(text)
        self.code = code
        self.text = text
        self.method = method        # the request's method, when known


@dataclass
class Request:
    method: str
    version: str
    headers: dict[str, str] = field(default_factory=dict)   # lower-case name -> value (repeats joined by ", ")
    body: bytes = b""
    size: int = 0                                            # bytes received (before inflating)

    @property
    def user(self) -> str:
        u = self.headers.get("user", "")
        return u if _USER.fullmatch(u) else ("-" if not u else "(invalid)")


# ----------------------------------------------------------------------------
# codec

def parse_request_line(line: bytes) -> tuple[str, str]:
    """``b"CHECK SPAMC/1.5\\r\\n"`` -> ("CHECK", "1.5").  Raises SpamdError (EX_PROTOCOL)."""
    m = _REQUEST_LINE.fullmatch(line)
    if not m:
        raise SpamdError(EX_PROTOCOL, "Bad header line: " + shown(line))
    method, version = m.group(1).decode("ascii"), m.group(2).decode("ascii")
    if method not in METHODS:
        raise SpamdError(EX_PROTOCOL, f"Bad header line: (unknown method {method})")
    return method, version


def parse_header_line(line: bytes) -> tuple[str, str]:
    """``b"Content-length: 12\\r\\n"`` -> ("content-length", "12").  Raises SpamdError (EX_PROTOCOL)."""
    m = _HEADER_LINE.fullmatch(line)
    if not m:
        raise SpamdError(EX_PROTOCOL, "Bad header line: " + shown(line))
    return m.group(1).decode("ascii").lower(), m.group(2).decode("latin-1")


def shown(line: bytes) -> str:
    """A request line as it may appear in a reply or a log: printable ASCII, 80 characters at most."""
    text = line[:80].rstrip(b"\r\n").decode("ascii", "backslashreplace")
    return "".join(c if " " <= c <= "~" else "?" for c in text)


async def read_request(reader: asyncio.StreamReader, config: SpamdConfig, *,
                       first_line: bytes | None = None) -> Request | None:
    """Read one request (None if the client closed without sending one).

    The caller bounds the time (one deadline for the whole request).  Raises
    SpamdError for a malformed request or an oversized message; the body is
    inflated (``Compress: zlib``) here, never past ``max_bytes``.
    ``first_line``: the request line, when the caller has read it already.
    """
    line = await readline(reader) if first_line is None else first_line
    if not line:
        return None
    method, version = parse_request_line(line)
    req = Request(method, version)
    if method in ("PING", "SKIP"):
        return req          # nothing more is expected (spamc sends one blank line, which we need not read)
    try:
        if _version(version) <= (1, 0):
            await _read_body(reader, config, req, None)     # spamd reads no headers from a 1.0 client
        else:
            await _read_rest(reader, config, req)
    except SpamdError as exc:
        exc.method = method
        raise
    return req


async def _read_rest(reader: asyncio.StreamReader, config: SpamdConfig, req: Request) -> None:
    """The header lines and the body of ``req``."""
    for _ in range(config.max_header_lines + 1):
        line = await readline(reader)
        if not line:
            raise SpamdError(EX_PROTOCOL, "Bad header line: (connection closed in the request headers)")
        if line in (b"\r\n", b"\n"):
            break
        name, value = parse_header_line(line)
        req.headers[name] = f"{req.headers[name]}, {value}" if name in req.headers else value
    else:
        raise SpamdError(EX_PROTOCOL, f"Bad header line: (more than {config.max_header_lines} header lines)")
    await _read_body(reader, config, req, req.headers.get("content-length"))


async def _read_body(reader: asyncio.StreamReader, config: SpamdConfig, req: Request, length: str | None) -> None:
    if length is not None:
        if not length.isdigit() or len(length) > 12:
            raise SpamdError(EX_PROTOCOL, f"Bad header line: (Content-length {shown(length.encode())!s})")
        n = int(length)
        if n > config.max_bytes:
            raise SpamdError(EX_DATAERR, f"Message too big: {n} bytes, the limit is {config.max_bytes}")
        try:
            body = await reader.readexactly(n)
        except asyncio.IncompleteReadError as exc:
            raise SpamdError(EX_PROTOCOL, f"Bad header line: (Content-Length mismatch: Expected {n} bytes, "
                                          f"got {len(exc.partial)} bytes)") from None
    else:
        # protocol < 1.2: the message runs to the end of the stream (read at most max_bytes + 1)
        body = await reader.read(config.max_bytes + 1)
        while body and len(body) <= config.max_bytes:
            more = await reader.read(config.max_bytes + 1 - len(body))
            if not more:
                break
            body += more
        if len(body) > config.max_bytes:
            raise SpamdError(EX_DATAERR, f"Message too big: more than {config.max_bytes} bytes")
    req.size = len(body)
    compress = req.headers.get("compress", "").strip().lower()
    if compress:
        if compress != "zlib":
            raise SpamdError(EX_PROTOCOL, f"Bad header line: (Compress: {shown(compress.encode())})")
        body = inflate(body, config.max_bytes)
    req.body = body


def inflate(data: bytes, limit: int) -> bytes:
    """zlib data -> bytes, never more than ``limit`` (a compression bomb stops there).  Raises SpamdError."""
    d = zlib.decompressobj()
    try:
        out = d.decompress(data, limit + 1)
    except zlib.error as exc:
        raise SpamdError(EX_DATAERR, f"Bad compressed data: {exc}") from None
    if len(out) > limit or d.unconsumed_tail:
        raise SpamdError(EX_DATAERR, f"Message too big: more than {limit} bytes inflated")
    if not d.eof:
        raise SpamdError(EX_DATAERR, "Bad compressed data: truncated")
    return out


async def readline(reader: asyncio.StreamReader) -> bytes:
    """One line of the request (b"" at the end of the stream); a line over the stream's limit is EX_PROTOCOL."""
    try:
        return await reader.readline()
    except (ValueError, asyncio.LimitOverrunError):     # a line over the stream's limit
        raise SpamdError(EX_PROTOCOL, "Bad header line: (line too long)") from None


def _clean_symbol(feature: str) -> str:
    """A clue as a symbol: printable ASCII, no comma or white space (they separate symbols)."""
    s = feature.encode("ascii", "backslashreplace").decode("ascii")
    return "".join(c if "!" <= c <= "~" and c != "," else "_" for c in s)[:200]


def symbols(v: Verdict, n: int) -> str:
    """The clue features, strongest first, comma-separated (SpamAssassin's list of rules hit)."""
    return ",".join(_clean_symbol(c.feature) for c in v.clues[:n])


def report_text(v: Verdict, points: float, n: int) -> str:
    """A report in SpamAssassin's layout ("Content analysis details"), one clue a line with its weight.

    The weights are signed log-odds (positive: spammy), not points: they do
    not add up to the score, which comes from the calibration.
    """
    lines = [
        f"spamscore verdict: {v.label}, probability {v.probability:.4f}",
        "",
        f"Content analysis details:   ({points:.1f} points, {REQUIRED_POINTS:.1f} required)",
        "",
        " weight clue (signed log-odds, strongest first)",
        " ------ ----------------------------------------",
    ]
    lines += [f"{c.weight:+7.2f} {_clean_symbol(c.feature)}" for c in v.clues[:n]]
    return "\n".join(lines) + "\n"


def error_reply(code: int, text: str) -> bytes:
    """spamd's error answer: the status line alone (``SPAMD/1.0 76 Bad header line: ...``)."""
    text = "".join(c if " " <= c <= "~" else "?" for c in text)[:200]
    return f"SPAMD/1.0 {code} {text}\r\n".encode("ascii")


def format_reply(req: Request, v: Verdict, model, n_clues: int = 10) -> bytes:
    """The reply to a scored CHECK / SYMBOLS / REPORT / REPORT_IFSPAM / PROCESS / HEADERS request.

    ``model`` gives the cut-offs for the points (a Model, or anything with
    ``spam_cutoff`` and ``ham_cutoff``).  The layout follows the request's
    protocol version as spamd's does: from 1.3 every reply with a body has
    ``Content-length`` and ``Spam``; 1.2 clients get ``Content-length`` alone
    for PROCESS and ``Spam`` alone for the others (Exim sends ``REPORT
    SPAMC/1.2`` and parses exactly that); before 1.2, PROCESS is the bare
    message and SYMBOLS ends with CRLF.

    One deliberate difference: spamd says ``Spam: Yes`` / ``No`` to
    REPORT_IFSPAM, which libspamc (it takes only "true" for spam) reads as
    not spam, so ``spamc -r`` against spamd never prints a report.  We say
    True / False to every method; clients that accept Yes accept True.
    """
    is_spam = v.label == "spam"
    points = spam_points(v, model)
    version = _version(req.version)
    spam_line = f"Spam: {'True' if is_spam else 'False'} ; {points:.1f} / {REQUIRED_POINTS:.1f}\r\n".encode("ascii")
    status = f"SPAMD/{REPLY_VERSION} 0 EX_OK\r\n".encode("ascii")
    if req.method == "CHECK":
        return status + spam_line + b"\r\n"
    if req.method in ("PROCESS", "HEADERS"):
        # our stale markup out: a sender cannot forge our verdict, and a message checked twice carries one
        out = mark_message(req.body, spam_headers(v, model, n_clues), remove=OWN_HEADERS)
        if req.method == "HEADERS":
            out = _header_block(out)
        if version < (1, 2):
            return b"SPAMD/1.0 0 EX_OK\r\n" + out
        if version < (1, 3):
            return status + b"Content-length: %d\r\n\r\n" % len(out) + out
    elif req.method == "SYMBOLS":
        out = symbols(v, n_clues).encode("ascii") + (b"\r\n" if version < (1, 3) else b"")
    elif req.method == "REPORT" or (req.method == "REPORT_IFSPAM" and is_spam):
        out = report_text(v, points, n_clues).encode("ascii")
    else:
        out = b""
    if version < (1, 3) and req.method not in ("PROCESS", "HEADERS"):
        return status + spam_line + b"\r\n" + out
    return status + b"Content-length: %d\r\n" % len(out) + spam_line + b"\r\n" + out


def _version(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    return int(major), int(minor or 0)


def _header_block(msg: bytes) -> bytes:
    """The header block with the blank line that ends it (the whole message if it has none)."""
    end = header_block_end(msg, mbox_from_end(msg))
    if end >= len(msg):
        return msg
    nl = msg.find(b"\n", end)
    return msg if nl < 0 else msg[:nl + 1]


def tell_reply(did_set: list[str], did_remove: list[str]) -> bytes:
    out = f"SPAMD/{REPLY_VERSION} 0 EX_OK\r\n"
    if did_set:
        out += f"DidSet: {', '.join(did_set)}\r\n"
    if did_remove:
        out += f"DidRemove: {', '.join(did_remove)}\r\n"
    return (out + "Content-length: 0\r\n\r\n").encode("ascii")


def tell_targets(value: str | None) -> set[str]:
    """The databases a TELL's ``Set`` or ``Remove`` header names (``local``, ``remote``), lower case."""
    return {t.strip().lower() for t in (value or "").split(",") if t.strip()}


