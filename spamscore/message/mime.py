"""The MIME splitter: a multipart or message/* body -> a tree of parts, and its leaves in order.

An iterative stand-in for email's feedparser (policy compat32), which cost
~150 us a message on its own: it reads every line in Python and recurses.
:class:`MimeSplitter` yields the same tree (same parts, payload bytes, defect
names) for the same input, but finds delimiter lines with C searches over
the lines that start with "--", parses part headers with one regex over
the header block when the block is plain, and keeps explicit stacks
instead of recursion.  The feedparser's rules it keeps (RFC 2046 plus
email's own quirks):

* lines end at CR LF, CR or LF;
* a delimiter line is "--" boundary, optionally "--" (close), then spaces
  or tabs; inside a part, a delimiter of *any* enclosing multipart ends it;
* the line break before a delimiter belongs to it (stripped from the last
  leaf part created), duplicated delimiter lines are skipped;
* part headers end at the first line that is neither a field nor a
  continuation (MissingHeaderBodySeparatorDefect unless it is blank);
* parts of multipart/digest default to message/rfc822; message/* parts
  hold one message; message/delivery-status holds header blocks separated
  by blank lines;
* the boundary comes from email.message.Message.get_boundary itself.

:func:`walk` then hands the leaves, depth first and within ``Limits``, to
:func:`.bodies.add_leaf`.  ``_mimescan.split_mime`` does both in C for most
multiparts (see :mod:`spamscore.message`); this code is its reference.
"""

from __future__ import annotations

import email.charset
import email.header
import email.message
import re
from bisect import bisect_left

from .bodies import add_leaf
from .parsed import Limits, ParsedMessage

__all__ = ["MimeSplitter", "get_boundary", "walk"]

_LINE = re.compile(rb"[^\r\n]*(?:\r\n|\r|\n)?")
_HEADER_NAME = re.compile(rb"[!-9;-~]*")  # before the colon of a field line (email.feedparser.headerRE)
_DASH_LINE = re.compile(rb"(?:(?<=[\r\n])|\A)--[^\r\n]*")  # any line starting "--"
_DASH_LINE_LF = re.compile(rb"\n(--[^\r\n]*)")  # the same when no line ends in a lone CR (a fast literal search)
# a line of a header block (LF line ends) that is neither a field nor a continuation
# (possessive: the name is scanned once; only line starts are tried)
_BAD_HEADER_LINE = re.compile(rb"^(?![ \t]|[!-9;-~]++:).", re.M | re.S)
_MIME_FIELD = re.compile(
    rb"^(content-type|content-transfer-encoding|content-disposition):[ \t]*([^\n]*(?:\n[ \t][^\n]*)*)", re.I | re.M)

_SEP, _CLOSE = 1, 2
_HEADER_WINDOW = 64 * 1024
_BLANK_LINE = re.compile(rb"\n\r?\n")  # the end of a header block (no lone CR: see _headers_fast)


class _Part:
    __slots__ = ("ctype", "cte", "disp", "payload", "defects", "content_type")

    def __init__(self, default_type: str):
        self.ctype = self.cte = self.disp = None
        self.payload = b""
        self.defects = []
        self.content_type = default_type

    def set_field(self, name: bytes, value: bytes) -> None:
        name = name.lower()
        if name == b"content-type":
            if self.ctype is None:
                self.ctype = _header_str(value)
        elif name == b"content-transfer-encoding":
            if self.cte is None:
                self.cte = _header_str(value)
        elif name == b"content-disposition" and self.disp is None:
            self.disp = _header_str(value)

    def finish_headers(self) -> None:
        """email.message.Message.get_content_type."""
        if self.ctype is not None:
            ctype = self.ctype.partition(";")[0].strip().lower()
            self.content_type = ctype if ctype.count("/") == 1 else "text/plain"


def _header_str(value: bytes) -> str:
    """A header value as compat32's Message.get returns it, made a str."""
    text = value.decode("ascii", "surrogateescape")
    if not value.isascii():  # 8-bit bytes: compat32 hands out a Header, str() of which has U+FFFD
        text = str(email.header.Header(text, charset=email.charset.UNKNOWN8BIT))
    return text


def get_boundary(ctype: str, mimescan=None) -> bytes | None:
    """The boundary as the feedparser matches it; None if absent, b"\\xff" if it can match no line.

    ``mimescan``: the compiled helper (None: email.message's own get_boundary, the reference).
    """
    if mimescan is not None:
        b = mimescan.boundary(ctype)  # ASCII values without RFC 2231 or backslashes in C
        if b is not None:
            return b if b is not False else None
    probe = email.message.Message()  # one per call: parse may run in several threads
    probe._headers = [("Content-Type", ctype)]
    b = probe.get_boundary()
    if b is None:
        return None
    if not b.isascii():
        return b"\xff"  # lines hold no such character (8-bit bytes are surrogates in email's view)
    return b.encode("ascii")


class MimeSplitter:
    """email.feedparser's structure of ``buf`` without its per-line Python loop or recursion."""

    def __init__(self, buf: bytes, lone_cr: bool | None = None, mimescan=None):
        self.buf = buf
        self.mimescan = mimescan  # the compiled helper for get_boundary, or None (the Python reference)
        self.n = len(buf)
        self.pos = 0
        self.back = []  # lines pushed back: (start, end) or None (a pushed-back end of input)
        self.active = {}  # boundaries of enclosing multiparts -> count
        self.blanks = 0  # enclosing delivery-status blocks (a blank line ends them)
        # lone_cr: the caller's count of the same buf (parse's _mimescan.mime_counts), or None
        self.lone_cr = buf.count(b"\r") != buf.count(b"\r\n") if lone_cr is None else lone_cr
        self.dash_at = []
        self.dash_key = []
        if self.lone_cr or buf.startswith(b"--"):
            for m in _DASH_LINE.finditer(buf):
                self.dash_at.append(m.start())
                self.dash_key.append(m.group().rstrip(b" \t"))
        else:
            for m in _DASH_LINE_LF.finditer(buf):
                self.dash_at.append(m.start(1))
                self.dash_key.append(m.group(1).rstrip(b" \t"))
        self.last = None
        self.eof_seen = (1, 0, {})  # _eof_from's last answer: (from, end of input, boundaries)

    # -- lines ------------------------------------------------------------
    def _is_eof(self, s: int, e: int) -> bool:
        buf = self.buf
        if self.blanks and buf[s] in (10, 13):
            return True
        if self.active and buf.startswith(b"--", s):
            key = buf[s:e].rstrip(b"\r\n").rstrip(b" \t")
            active = self.active
            return key[2:] in active or (key.endswith(b"--") and key[2:-2] in active)
        return False

    def readline(self):
        if self.back:
            line = self.back.pop()
            if line is not None and self._is_eof(*line):
                self.back.append(line)
                return None
            return line
        p = self.pos
        if p >= self.n:
            return None
        e = _LINE.match(self.buf, p).end()
        if self._is_eof(p, e):
            return None
        self.pos = e
        return p, e

    def _next_dash(self, boundary: bytes) -> int:
        """From pos (no pushback): the next line that ends the input (-> 0) or is
        ``boundary``'s delimiter (_SEP or _CLOSE); pos is moved to its start."""
        active = self.active
        sep = b"--" + boundary
        close = sep + b"--"
        at, keys = self.dash_at, self.dash_key
        for i in range(bisect_left(at, self.pos), len(at)):
            key = keys[i]
            if active and (key[2:] in active or (key.endswith(b"--") and key[2:-2] in active)):
                self.pos = at[i]
                return 0
            if key == sep:
                self.pos = at[i]
                return _SEP
            if key == close:
                self.pos = at[i]
                return _CLOSE
        self.pos = self.n
        return 0

    def read_rest(self) -> bytes:
        """All lines up to the (false) end of input."""
        chunks = []
        while self.back:
            line = self.readline()
            if line is None:
                return b"".join(chunks)
            chunks.append(self.buf[line[0]:line[1]])
        p = self.pos
        if self.blanks and self.lone_cr:
            while (line := self.readline()) is not None:
                pass
        elif self.blanks:  # up to a blank line or a delimiter
            end = self._eof_from(p)
            if p < end and self.buf[p] in (10, 13):
                self.pos = p
            else:
                m = _BLANK_LINE.search(self.buf, p, end)
                self.pos = end if m is None else m.start() + 1
        else:
            self.pos = self._eof_from(p)
        chunks.append(self.buf[p:self.pos])
        return b"".join(chunks) if len(chunks) > 1 else chunks[0]

    # -- headers ----------------------------------------------------------
    def read_headers(self, part: _Part) -> None:
        back = self.back
        if len(back) == 1 and not self.lone_cr and back[0] is not None and back[0][1] == self.pos:
            # the line after a delimiter, pushed back: the same as reading it
            # again from its start, which lets the fast path take the block
            self.pos = back.pop()[0]
        if not (back or self.lone_cr) and self._headers_fast(part):
            part.finish_headers()
            return
        buf = self.buf
        lines = []
        while (line := self.readline()) is not None:
            s, e = line
            if not (buf[s] in (32, 9) or buf.startswith(b"From ", s)
                    or ((i := buf.find(b":", s, e)) != -1 and _HEADER_NAME.fullmatch(buf, s, i) is not None)):
                if buf[s] not in (10, 13):
                    part.defects.append("MissingHeaderBodySeparatorDefect")
                    self.back.append(line)
                break
            lines.append(line)
        # email.feedparser.FeedParser._parse_headers
        value = None
        for lineno, (s, e) in enumerate(lines):
            if buf[s] in (32, 9):
                if value is None:
                    part.defects.append("FirstHeaderLineIsContinuationDefect")
                    continue
                value.append(buf[s:e])
                continue
            if value is not None:
                part.set_field(name, (b"".join(value)).rstrip(b"\r\n"))
                value = None
            if buf.startswith(b"From ", s):
                if lineno == 0:
                    continue
                if lineno == len(lines) - 1:
                    self.back.append((s, e))
                    part.finish_headers()
                    return
                part.defects.append("MisplacedEnvelopeHeaderDefect")
                continue
            i = buf.find(b":", s, e)
            if i == s:
                part.defects.append("InvalidHeaderDefect")
                continue
            name = buf[s:i]
            value = [buf[i + 1:e].lstrip(b" \t")]
        if value is not None:
            part.set_field(name, (b"".join(value)).rstrip(b"\r\n"))
        part.finish_headers()

    def _headers_fast(self, part: _Part) -> bool:
        """The common case in C: LF or CR LF lines, every line before the blank one a field."""
        buf, p = self.buf, self.pos
        end = self._eof_from(p)
        if p >= end:
            return True
        keep_blank = self.blanks  # in a delivery-status block the blank line is its end: not read
        if buf[p] in (10, 13):  # blank line (CR is CR LF here)
            if not keep_blank:
                self.pos = p + (1 if buf[p] == 10 else 2)
            return True
        if buf.startswith(b"From ", p):  # an envelope line first: skipped
            nl = buf.find(b"\n", p, end)
            p = end if nl == -1 else nl + 1
            if p < end and buf[p] in (10, 13):
                self.pos = p + (0 if keep_blank else 1 if buf[p] == 10 else 2)
                return True
        # the blank line, looked for in a window (the field-by-field loop
        # below takes longer blocks: no rescans of a long body per part)
        window = min(end, p + _HEADER_WINDOW)
        m = _BLANK_LINE.search(buf, p, window)
        if m is not None:
            stop = m.start() + 1
            after = stop if keep_blank else m.end()
        elif window == end:
            stop = after = end
        else:
            return False
        if p < stop:
            if buf[p] in (32, 9) or _BAD_HEADER_LINE.search(buf, p, stop) is not None:
                return False
            for name, value in _MIME_FIELD.findall(buf, p, stop):
                part.set_field(name, value.rstrip(b"\r\n"))
        self.pos = after
        return True

    def _eof_from(self, p: int) -> int:
        """Start of the first line at or after p that ends the input (no pushback, no blank matcher).

        Remembered while the enclosing boundaries stay the same: message/rfc822
        parts nested 100,000 deep above the same delimiter scan it once.
        """
        active = self.active
        if not active:
            return self.n
        lo, hi, boundaries = self.eof_seen
        if lo <= p <= hi and boundaries == active:
            return hi
        at, keys = self.dash_at, self.dash_key
        end = self.n
        for i in range(bisect_left(at, p), len(at)):
            key = keys[i]
            if key[2:] in active or (key.endswith(b"--") and key[2:-2] in active):
                end = at[i]
                break
        self.eof_seen = (p, end, dict(active))
        return end

    # -- structure --------------------------------------------------------
    def _new(self, parent: _Part | None) -> _Part:
        part = _Part("message/rfc822" if parent is not None and parent.content_type == "multipart/digest"
                     else "text/plain")
        if parent is not None:
            parent.payload.append(part)
        self.last = part
        return part

    def run(self) -> _Part:
        root = part = self._new(None)
        frames = []  # [kind, part, boundary, capturing_preamble, preamble_at, in_child]
        begin = True
        while True:
            if begin:
                self.read_headers(part)
                ctype = part.content_type
                if ctype == "message/delivery-status":
                    part.payload = []
                    frames.append(["ds", part])
                    self.blanks += 1
                    part = self._new(part)
                    continue
                if ctype.startswith("message/"):
                    part.payload = []
                    part = self._new(part)
                    continue
                if ctype.startswith("multipart/"):
                    boundary = get_boundary(part.ctype, self.mimescan)
                    if boundary is None:
                        part.defects.append("NoBoundaryInMultipartDefect")
                        part.payload = self.read_rest()
                    else:
                        if (part.cte if part.cte is not None else "8bit").lower() not in ("7bit", "8bit", "binary"):
                            part.defects.append("InvalidMultipartContentTransferEncodingDefect")
                        frames.append(["mp", part, boundary, True, None, False])
                else:
                    part.payload = self.read_rest()
                begin = False
            if not frames:
                break
            frame = frames[-1]
            if frame[0] == "ds":
                self.blanks -= 1
                self.readline()
                line = self.readline()
                if line is None:
                    frames.pop()
                    continue
                self.back.append(line)
                self.blanks += 1
                part = self._new(frame[1])
                begin = True
                continue
            part = self._step_multipart(frame, frames)
            begin = part is not None
        if root.content_type.startswith("multipart/") and not isinstance(root.payload, list):
            root.defects.append("MultipartInvariantViolationDefect")
        return root

    def _step_multipart(self, frame, frames):
        """Continue a multipart: the next subpart to parse, or None once it has ended."""
        _, mp, boundary, capturing, preamble, in_child = frame
        buf = self.buf
        if in_child:  # the line break before the delimiter is the delimiter's
            last = self.last
            if not last.content_type.startswith("multipart/") and isinstance(last.payload, bytes):
                payload = last.payload
                if payload.endswith(b"\r\n"):
                    last.payload = payload[:-2]
                elif payload.endswith((b"\n", b"\r")):
                    last.payload = payload[:-1]
            count = self.active[boundary] - 1
            if count:
                self.active[boundary] = count
            else:
                del self.active[boundary]
            self.last = mp
            frame[5] = False
        if capturing and preamble is None:
            preamble = frame[4] = [self.pos, []]
        # the next delimiter of this multipart, or the end of its input
        kind = 0
        while True:
            if self.back:
                line = self.readline()
                if line is None:
                    break
                key = buf[line[0]:line[1]].rstrip(b"\r\n").rstrip(b" \t")
                if key == b"--" + boundary:
                    kind = _SEP
                elif key == b"--" + boundary + b"--":
                    kind = _CLOSE
                else:
                    if capturing:
                        preamble[1].append(buf[line[0]:line[1]])
                        preamble[0] = self.pos
                    continue
                self.back.append(line)  # re-read below
                break
            if self.blanks:
                s = self.pos
                line = self.readline()
                if line is None:
                    break
                key = buf[s:line[1]].rstrip(b"\r\n").rstrip(b" \t")
                if key == b"--" + boundary:
                    kind = _SEP
                elif key == b"--" + boundary + b"--":
                    kind = _CLOSE
                else:
                    continue
                self.pos = s
                break
            kind = self._next_dash(boundary)
            break
        if kind == _SEP:
            if capturing:
                frame[3] = False
            line = self.readline()  # the delimiter
            while True:  # and any delimiter lines right after it
                line = self.readline()
                if line is None:
                    self.back.append(None)
                    break
                key = buf[line[0]:line[1]].rstrip(b"\r\n").rstrip(b" \t")
                if key != b"--" + boundary and key != b"--" + boundary + b"--":
                    self.back.append(line)
                    break
            if not isinstance(mp.payload, list):
                mp.payload = []
            self.active[boundary] = self.active.get(boundary, 0) + 1
            frame[5] = True
            return self._new(mp)
        frames.pop()
        if capturing:  # never saw the first delimiter: everything read is the payload
            mp.defects.append("StartBoundaryNotFoundDefect")
            pre_at, pre_lines = preamble
            mp.payload = b"".join(pre_lines) + buf[pre_at:self.pos] if pre_lines else buf[pre_at:self.pos]
            if kind == _CLOSE:
                self.readline()
            self.read_rest()
        elif kind == _CLOSE:
            self.readline()
            self.read_rest()  # the epilogue
        else:
            mp.defects.append("CloseBoundaryNotFoundDefect")
        return None


def walk(pm: ParsedMessage, root: _Part, limits: Limits, mimescan=None) -> None:
    """Depth-first over the parts with depth and part limits (no recursion); leaves go to add_leaf.

    ``mimescan``: the compiled helper add_leaf may use (None: the Python reference).
    """
    defects = pm.defects
    stack = [(root, 0)]
    seen = 0
    while stack:
        part, depth = stack.pop()
        seen += 1
        if seen > limits.max_parts:
            defects.append("too-many-parts")
            return
        if isinstance(part.payload, list):
            if depth >= limits.max_depth:
                defects.append("too-deep")
                continue
            for child in reversed(part.payload):
                stack.append((child, depth + 1))
        else:
            if part is not root:
                defects.extend(part.defects)
            add_leaf(pm, part.ctype, part.cte or "", part.disp or "", part.payload, limits, mimescan=mimescan)
