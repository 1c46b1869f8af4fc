"""Raw bytes -> :class:`ParsedMessage`.

Top-level header fields are split with one regex (``_split_headers``); the
MIME structure of multipart/* and message/* mail comes from ``_MimeSplitter``,
an iterative stand-in for :mod:`email`'s feedparser with ``policy.compat32``
that builds the same tree and records the same defect names (about 2x faster
over the whole parse on the SpamAssassin test half: ~110 against ~230
CPU-us a message; training/experiments/parser_equivalence.py checks both
agree on all 6,046 corpus messages).  Neither raises on malformed input; they
record defects instead.  We decode only what the features need: the header
values (RFC 2047 words and raw 8-bit bytes), and the text and HTML bodies, in
their declared charset with safe fallbacks.

When the optional C module ``spamscore._mimescan`` is built, ``parse`` takes
the top-level header block (``_split_headers``' fast path and the plain
values of ``_decode_headers``) and a multipart's size counts from it in one
pass each, and (round 2) what ``_leaf`` reads of a part's Content-Type and
Content-Disposition values (``leaf_info``), the top-level charset hint
(``charset_hint``) and a multipart's boundary (``boundary``, instead of
email.message's get_boundary) for ASCII values; parse went ~48 -> ~36
CPU-us a message.  Round 3: ``split_mime`` does ``_MimeSplitter(raw).run()``
and ``_walk``'s order of the parts in C for multiparts without lone CRs,
delivery-status parts, part headers that need the line loop or 8-bit
Content-* values (498 of the 506 corpus multiparts); multipart parse
~165 -> ~73 CPU-us a message, all messages ~44 -> ~28.  The Python code
stays the reference (tests/test_mimescan.py,
training/experiments/equiv_mimescan.py).

Nothing here raises on hostile input.  Anything odd becomes an entry in
``ParsedMessage.defects``, which the tokenizer turns into ``defect:...``
features (the SpamBayes ``control: couldn't decode`` idea).
"""

from __future__ import annotations

import binascii
import codecs
import email
import email.charset
import email.header
import email.message
import re
from bisect import bisect_left
from dataclasses import dataclass, field
from functools import lru_cache

from . import _native

_mimescan = _native.load("_mimescan")  # None (not built, or SPAMSCORE_PURE=1): the Python code below

__all__ = ["Attachment", "Limits", "ParsedMessage", "parse", "decode_bytes", "decode_header_value"]


@dataclass(frozen=True, slots=True)
class Limits:
    """Resource limits applied while parsing (safe defaults for hostile mail).

    ``max_bytes``: only the first ``max_bytes`` of a message are parsed (the
    rest is still counted in ``size``); like SpamAssassin's 500 KB limit.
    ``max_parts``: MIME parts looked at.  ``max_depth``: MIME nesting followed.
    ``max_part_bytes``: decoded bytes kept per text or HTML part.
    ``max_headers``: header fields kept.
    """

    max_bytes: int = 512 * 1024
    max_parts: int = 200
    max_depth: int = 30
    max_part_bytes: int = 256 * 1024
    max_headers: int = 500


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class Attachment:
    name: str
    content_type: str
    size: int


@dataclass(slots=True)
class ParsedMessage:
    """What the feature extractors see of a message.

    ``headers`` holds ``(lower-case name, decoded value)`` pairs in message order.
    ``text`` and ``html`` hold the decoded text/plain and text/html bodies.
    ``parts`` holds ``(content type, charset)`` per leaf part, for the report.
    """

    headers: list[tuple[str, str]] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    parts: list[tuple[str, str]] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    size: int = 0
    truncated: bool = False

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first header called ``name`` (case-insensitive), decoded."""
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        name = name.lower()
        return [value for key, value in self.headers if key == name]

    @property
    def subject(self) -> str:
        return self.get("subject", "") or ""


# --------------------------------------------------------------------------
# charsets

# Labels seen in real mail mapped to the Python codec that decodes what such
# mail really contains: Shift_JIS mail uses Microsoft's cp932 extensions
# (NEC/IBM characters, circled digits), "iso-8859-1" is mostly cp1252, GB2312
# is a subset of GB18030, KS C 5601 is cp949 in practice.
_CHARSET_ALIASES = {
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932",
    "ms_kanji": "cp932", "windows-31j": "cp932", "cp932": "cp932", "x-ms-cp932": "cp932",
    "iso-2022-jp": "iso2022_jp_ext", "iso-2022-jp-1": "iso2022_jp_ext", "csiso2022jp": "iso2022_jp_ext",
    "iso-2022-jp-2": "iso2022_jp_2", "iso-2022-jp-3": "iso2022_jp_3",
    "euc-jp": "euc_jis_2004", "x-euc-jp": "euc_jis_2004", "eucjp": "euc_jis_2004",
    "gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb_2312-80": "gb18030",
    "euc-cn": "gb18030", "cp936": "gb18030", "gb18030": "gb18030",
    "big5": "big5hkscs", "x-big5": "big5hkscs", "big5-hkscs": "big5hkscs",
    "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "euc-kr": "cp949", "x-euc-kr": "cp949",
    "iso-8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "us-ascii": "cp1252",
    "ascii": "cp1252", "iso8859-1": "cp1252", "iso_8859-1": "cp1252",
    "utf8": "utf-8", "utf-8": "utf-8", "unicode-1-1-utf-7": "utf-7",
}
_FALLBACKS = ("utf-8", "cp1252")
_ESC_JIS = re.compile(rb"\x1b\$[@B]")


@lru_cache(maxsize=256)
def codec_for(label: str | None) -> str | None:
    """Python codec name for a MIME charset label, or None if unknown."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()[:40]
    if label in _CHARSET_ALIASES:
        return _CHARSET_ALIASES[label]
    try:
        return codecs.lookup(label).name
    except (LookupError, ValueError):
        return None


def decode_bytes(data: bytes, charset: str | None = None, defects: list[str] | None = None) -> str:
    """Decode ``data`` labelled ``charset``; never raises.

    A wrong or unknown label falls back to ISO-2022-JP (when its escapes are
    present), UTF-8, then cp1252 and finally latin-1, which accepts any byte.
    """
    codec = codec_for(charset)
    if charset and codec is None and defects is not None:
        defects.append("unknown-charset")
    if codec == "cp1252" or codec is None:
        # "us-ascii"/"iso-8859-1" labels and unlabelled 8-bit text are often
        # really UTF-8 or ISO-2022-JP; try those first if the bytes allow.
        if data.isascii():
            if b"\x1b" in data and _ESC_JIS.search(data):
                try:
                    return data.decode("iso2022_jp_ext")
                except UnicodeDecodeError:
                    pass
            return data.decode("ascii")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            pass
    if codec is not None:
        try:
            return data.decode(codec)
        except (UnicodeDecodeError, LookupError, ValueError, TypeError):
            if defects is not None:
                defects.append("charset-mismatch")
    for fallback in _FALLBACKS:
        try:
            return data.decode(fallback)
        except UnicodeDecodeError:
            continue
    if codec is not None:
        try:
            return data.decode(codec, errors="replace")
        except (LookupError, ValueError, TypeError):
            pass
    return data.decode("latin-1")


# --------------------------------------------------------------------------
# headers

def _raw(value) -> bytes:
    """compat32 header values: str with 8-bit bytes as surrogates, or Header."""
    if isinstance(value, email.header.Header):
        value = str(value)
    return value.encode("ascii", "surrogateescape")


# C0 controls and DEL in a decoded header become spaces: an encoded word can
# carry CR LF (header injection downstream), NUL or ESC (terminal escapes in
# reports).  Tab, CR and LF are white space to every feature anyway.
_HEADER_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_HEADER_CONTROLS = dict.fromkeys([*range(0x00, 0x09), *range(0x0a, 0x20), 0x7f], " ")


def decode_header_value(value, default_charset: str | None = None) -> str:
    """RFC 2047 words and raw 8-bit bytes in a header -> str without control characters; never raises."""
    text = _decode_header_value(value, default_charset)
    if _HEADER_CONTROL.search(text) is not None:
        text = text.translate(_HEADER_CONTROLS)
    return text


def _decode_header_value(value, default_charset: str | None = None) -> str:
    if isinstance(value, email.header.Header):
        value = str(value)
    if not isinstance(value, str):
        return ""
    if value.isascii():
        if "=?" not in value:
            return value
    else:
        try:
            value = decode_bytes(_raw(value), default_charset)
        except UnicodeEncodeError:  # already text, not compat32's surrogate-escaped bytes
            value = value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
        if "=?" not in value:
            return value
    # email.header.decode_header's own pattern (.*? up to "?=") rescans the
    # rest of the line from every "=?": "=?a?q?x" x 4,000 (28 KB) took 3 s,
    # a 512 KB header hours.  Find the words with a pattern that cannot span
    # a "?" or a space (RFC 2047 encoded-text holds neither), then let
    # email.header decode each word alone.
    out = []
    pos = 0
    for m in _ENCODED_WORD.finditer(value):
        between = value[pos : m.start()]
        if not (pos and not between.strip()):  # space between adjacent words is dropped
            out.append(between)
        pos = m.end()
        try:
            chunks = email.header.decode_header(m.group(0))
        except Exception:  # email.header raises assorted errors on garbage
            out.append(m.group(0))
            continue
        for chunk, charset in chunks:
            if isinstance(chunk, str):
                out.append(chunk)
            else:
                out.append(decode_bytes(chunk, charset or default_charset))
    out.append(value[pos:])
    return "".join(out)


_ENCODED_WORD = re.compile(r"=\?[^?\s]{1,80}\?[qQbB]\?[^?\s]*\?=")


# --------------------------------------------------------------------------
# bodies

_B64_JUNK = re.compile(rb"[^A-Za-z0-9+/]")
_B64_JUNK_BYTES = bytes(c for c in range(256) if _B64_JUNK.fullmatch(bytes([c])))


def decode_transfer(raw: bytes, cte: str, defects: list[str]) -> bytes:
    """Undo a Content-Transfer-Encoding, leniently; never raises."""
    cte = cte.strip().lower()
    if cte == "base64":
        data = raw.translate(None, _B64_JUNK_BYTES)  # _B64_JUNK.sub(b"", raw), ~10x faster
        data = data[: len(data) - len(data) % 4]
        try:
            return binascii.a2b_base64(data)
        except binascii.Error:
            defects.append("bad-base64")
            return raw
    if cte == "quoted-printable":
        try:
            return binascii.a2b_qp(raw)
        except (ValueError, binascii.Error):
            defects.append("bad-quoted-printable")
            return raw
    if cte not in ("", "7bit", "8bit", "binary") and not cte.startswith("x-"):
        defects.append("unknown-transfer-encoding")
    return raw


def _payload_raw(part) -> bytes:
    # the raw payload: get_payload() would already decode 8-bit bytes with
    # the declared charset, and raise on a wrong one
    payload = part._payload
    if not isinstance(payload, str):  # a multipart without a usable boundary
        return b""
    try:
        return payload.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return payload.encode("utf-8", "surrogateescape")


_CTYPE = re.compile(r"^\s*([a-z0-9!#$&^_.+-]{1,100}/[a-z0-9!#$&^_.+-]{1,100})", re.I)
_PARAM = {
    name: re.compile(rf"(?:^|;)\s*{name}\*?\s*=\s*(?:\"([^\"]{{0,300}})\"|([^;\s]{{1,300}}))", re.I)
    for name in ("charset", "name", "filename", "boundary")
}


def _param(value: str, name: str) -> str:
    m = _PARAM[name].search(value)
    if m is None:
        return ""
    v = m.group(1) if m.group(1) is not None else m.group(2)
    if "''" in v:  # RFC 2231: charset'lang'value
        v = v.split("''", 1)[1]
    return v


def _leaf(pm: ParsedMessage, ctype_value: str | None, cte: str, disposition: str,
          raw: bytes, limits: Limits, info: tuple | None = None) -> None:
    """Record one leaf part: a text or HTML body, or an attachment.

    ``info``: ``_mimescan.leaf_info(ctype_value, disposition)`` when the
    caller has it already.
    """
    defects = pm.defects
    if info is None and _mimescan is not None:
        info = _mimescan.leaf_info(ctype_value, disposition)
    if info is not None:  # the same values from C (ASCII header values)
        ctype, charset, filename, bad, attachment = info
        if bad:
            defects.append("bad-content-type")
        if filename:
            filename = decode_header_value(filename)
        is_attachment = bool(filename) or attachment
    else:
        if ctype_value is None:
            ctype, charset, filename = "text/plain", "", ""
        else:
            m = _CTYPE.match(ctype_value)
            ctype = m.group(1).lower() if m else "text/plain"
            if m is None and ctype_value.strip():
                defects.append("bad-content-type")
            charset = _param(ctype_value, "charset")
            filename = _param(ctype_value, "name")
        disposition = disposition.lower()
        if disposition:
            filename = _param(disposition, "filename") or filename
        if filename:
            filename = decode_header_value(filename)
        charset = charset.lower()
        is_attachment = bool(filename) or disposition.lstrip().startswith("attachment")
    pm.parts.append((ctype, charset))
    if ctype in ("text/plain", "text/html") and not is_attachment:
        data = decode_transfer(raw, cte, defects)
        if len(data) > limits.max_part_bytes:
            data = data[: limits.max_part_bytes]
            defects.append("part-truncated")
        text = decode_bytes(data, charset or None, defects)
        (pm.html if ctype == "text/html" else pm.text).append(text)
    elif ctype.startswith(("multipart/", "message/")):
        return
    else:
        size = len(raw) * 3 // 4 if cte.strip().lower() == "base64" else len(raw)
        pm.attachments.append(Attachment(filename, ctype, size))


# One header field: a name, a colon, the value and its continuation lines.
_HEADER_FIELD = re.compile(rb"([!-9;-~]{1,200})[ \t]*:[ \t]*([^\n]*(?:\n[ \t][^\n]*)*+)(?:\n|\Z)")
_HEADER_CHARSET_HINT = re.compile(r"charset\s*=\s*\"?([A-Za-z0-9_.:-]+)", re.I)


_HEADER_FIELD_STR = re.compile(r"^([!-9;-~]{1,200})[ \t]*:[ \t]*(.*(?:\n[ \t].*)*)", re.M)


def _split_headers(raw: bytes, limits: Limits, defects: list[str]) -> tuple[list[tuple[str, str]], int]:
    """Raw header fields ``(lower-case name, undecoded value)`` and the body offset.

    Fast path: cut the header block at the first blank line and split it with
    one ``findall``; if every line was a field or a continuation (the count
    of fields matches the count of lines that do not start with white space)
    the result is exact.  Otherwise (a garbage line inside the block, no
    blank line) the field-by-field loop below decides where the body starts.
    On the corpus the fast path takes ~1/3 of the loop's time.
    """
    pos = 0
    if raw.startswith(b"From "):  # mbox separator line
        pos = raw.find(b"\n") + 1 or len(raw)
    end = raw.find(b"\n\n", pos)
    end_crlf = raw.find(b"\n\r\n", pos, len(raw) if end == -1 else end + 2)  # only one before end matters
    if end_crlf != -1 and (end == -1 or end_crlf < end):
        end, sep = end_crlf + 1, 2
    elif end != -1:
        end, sep = end + 1, 1
    if end != -1 and end > pos:
        block = raw[pos:end]
        if b"\r" in block:
            block = block.replace(b"\r\n", b"\n")
        text = block.decode("ascii", "surrogateescape")
        found = _HEADER_FIELD_STR.findall(text)
        lines = text.count("\n") - text.count("\n ") - text.count("\n\t")
        if len(found) == lines and not text.startswith((" ", "\t")):
            if len(found) > limits.max_headers:
                found = found[: limits.max_headers]
                defects.append("too-many-headers")
            if not found:
                return [], end + sep
            names, values = zip(*found)
            return list(zip(map(str.lower, names), values)), end + sep
    return _split_headers_slow(raw, pos, limits, defects)


def _split_headers_slow(raw: bytes, pos: int, limits: Limits, defects: list[str]) -> tuple[list[tuple[str, str]], int]:
    """Field by field: the body starts at the first line that is not a field."""
    fields = []
    n = len(raw)
    while pos < n:
        m = _HEADER_FIELD.match(raw, pos)
        if m is None:
            break
        if len(fields) < limits.max_headers:
            value = m.group(2).rstrip(b"\r").decode("ascii", "surrogateescape")
            fields.append((m.group(1).decode("ascii").lower(), value))
        pos = m.end()
    if len(fields) >= limits.max_headers:
        defects.append("too-many-headers")
    if raw.startswith(b"\r\n", pos):
        pos += 2
    elif raw.startswith(b"\n", pos):
        pos += 1
    elif pos < n:
        defects.append("missing-header-body-separator")
    return fields, pos


# --------------------------------------------------------------------------
# MIME structure
#
# An iterative stand-in for email's feedparser (policy compat32), which cost
# ~150 us a message on its own: it reads every line in Python and recurses.
# _MimeSplitter yields the same tree (same parts, payload bytes, defect
# names) for the same input, but finds delimiter lines with C searches over
# the lines that start with "--", parses part headers with one regex over
# the header block when the block is plain, and keeps explicit stacks
# instead of recursion.  The feedparser's rules it keeps (RFC 2046 plus
# email's own quirks):
#
# * lines end at CR LF, CR or LF;
# * a delimiter line is "--" boundary, optionally "--" (close), then spaces
#   or tabs; inside a part, a delimiter of *any* enclosing multipart ends it;
# * the line break before a delimiter belongs to it (stripped from the last
#   leaf part created), duplicated delimiter lines are skipped;
# * part headers end at the first line that is neither a field nor a
#   continuation (MissingHeaderBodySeparatorDefect unless it is blank);
# * parts of multipart/digest default to message/rfc822; message/* parts
#   hold one message; message/delivery-status holds header blocks separated
#   by blank lines;
# * the boundary comes from email.message.Message.get_boundary itself.

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


def _boundary(ctype: str) -> bytes | None:
    """The boundary as the feedparser matches it; None if absent, b"\\xff" if it can match no line."""
    if _mimescan is not None:
        b = _mimescan.boundary(ctype)  # ASCII values without RFC 2231 or backslashes in C
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


class _MimeSplitter:
    """email.feedparser's structure of ``buf`` without its per-line Python loop or recursion."""

    def __init__(self, buf: bytes, lone_cr: bool | None = None):
        self.buf = buf
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
                    boundary = _boundary(part.ctype)
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


def _walk(pm: ParsedMessage, root: _Part, limits: Limits) -> None:
    """Depth-first over the parts with depth and part limits (no recursion); leaves go to _leaf."""
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
            _leaf(pm, part.ctype, part.cte or "", part.disp or "", part.payload, limits)


# C0 controls and DEL but NUL (parse removes NULs; here it separates values) -> space, on bytes
_HEADER_CONTROL_BYTES = bytes(0x20 if 0 < i < 0x20 and i != 0x09 or i == 0x7f else i for i in range(256))


def _decode_headers(pm: ParsedMessage, fields: list[tuple[str, str]], hint: str | None) -> None:
    """``decode_header_value`` of every field, the plain ones (ASCII, no "=?") in one pass.

    The values hold no NUL (parse removed them): joined with NULs, they are
    translated at once; only values with RFC 2047 words or 8-bit bytes go
    through ``decode_header_value`` one by one.
    """
    if not fields:
        return
    values = [value for _, value in fields]
    blob = "\x00".join(values)
    plain = (blob.encode("ascii", "surrogateescape").translate(_HEADER_CONTROL_BYTES)
             .decode("ascii", "surrogateescape").split("\x00"))
    headers = pm.headers
    if "=?" not in blob and blob.isascii():
        headers.extend(zip([name for name, _ in fields], plain))
        return
    for (name, value), clean in zip(fields, plain):
        if "=?" not in value and value.isascii():
            headers.append((name, clean))
            continue
        try:
            headers.append((name, decode_header_value(value, hint)))
        except Exception:  # never let one header sink the message
            pm.defects.append("bad-header")


def _decode_special(defects: list[str], headers: list, special: list[int], hint: str | None) -> list:
    """``_mimescan.split_headers``' raw values (8-bit bytes or "=?") through ``decode_header_value``."""
    failed = False
    for i in special:
        name, value = headers[i]
        try:
            headers[i] = (name, decode_header_value(value, hint))
        except Exception:  # never let one header sink the message (as _decode_headers)
            defects.append("bad-header")
            headers[i] = None
            failed = True
    if failed:
        headers = [pair for pair in headers if pair is not None]
    return headers


# lines x boundary parameters the feedparser may be given (about 0.3 s of
# work; the largest in the SpamAssassin corpus is 6,160)
_MIME_WORK_BUDGET = 300_000
_DELIMITER_LINE = re.compile(rb"[\r\n]--")


def parse(raw: bytes, limits: Limits = DEFAULT_LIMITS) -> ParsedMessage:
    """Parse raw RFC 5322 bytes into a :class:`ParsedMessage`.

    Never raises on malformed input; any bytes are a message, even an empty
    or binary one (which simply yields few features).
    """
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    elif not isinstance(raw, (bytes, bytearray, memoryview)):
        raise TypeError(f"expected bytes, got {type(raw).__name__}")
    raw = bytes(raw)
    pm = ParsedMessage(size=len(raw))
    if len(raw) > limits.max_bytes:
        raw = raw[: limits.max_bytes]
        pm.truncated = True
    if b"\x00" in raw:
        pm.defects.append("nul-byte")
        raw = raw.replace(b"\x00", b"")
    if b"\r" in raw and b"\n" not in raw:
        # CR-only line endings (old Mac mail; 17 messages of a public corpus):
        # the header scanners split at LF only, so such mail was one long
        # header line, or an mbox "From " line that swallowed the whole
        # message (no clues at all).  Read every CR as a line end.  Only
        # mail with no LF at all changes: every other score is unchanged.
        raw = raw.replace(b"\r", b"\n")
    defects = pm.defects
    scanned = None
    max_headers = limits.max_headers
    if _mimescan is not None and type(max_headers) is int and 0 <= max_headers < 1 << 62:
        # _split_headers' fast path and _decode_headers' plain values in one
        # C pass; None when the block needs the field-by-field loop
        scanned = _mimescan.split_headers(raw, max_headers)
    if scanned is not None:
        headers, special, body_at, ctype_value, cte, disposition, too_many = scanned
        if too_many:
            defects.append("too-many-headers")
        hint = None
        if ctype_value is not None:
            hint = _mimescan.charset_hint(ctype_value)
            if hint is None:  # not ASCII: the regex decides
                m = _HEADER_CHARSET_HINT.search(ctype_value)
                hint = m.group(1) if m else None
            else:
                hint = hint or None
        if special is not None:
            headers = _decode_special(defects, headers, special, hint)
        pm.headers = headers
    else:
        fields, body_at = _split_headers(raw, limits, defects)

        # The top-level charset is the best guess for raw 8-bit bytes in headers
        # (Japanese spam often has raw Shift_JIS in its Subject).
        ctype_value = cte = disposition = None
        for name, value in fields:
            if name == "content-type" and ctype_value is None:
                ctype_value = value
            elif name == "content-transfer-encoding" and cte is None:
                cte = value
            elif name == "content-disposition" and disposition is None:
                disposition = value
        hint = None
        if ctype_value is not None:
            m = _HEADER_CHARSET_HINT.search(ctype_value)
            hint = m.group(1) if m else None
        _decode_headers(pm, fields, hint)

    info = None
    if _mimescan is not None:
        info = _mimescan.leaf_info(ctype_value, disposition or "")
    if info is not None:  # its ctype is _CTYPE's group lower-cased, or "text/plain" (no match)
        single = not info[0].startswith(("multipart/", "message/"))
    else:
        top = _CTYPE.match(ctype_value) if ctype_value else None
        single = top is None or not top.group(1).lower().startswith(("multipart/", "message/"))
    if single:
        body = raw[body_at:]
        if b"\r" in body:  # (replace's own search for "\r\n" is slower than this memchr)
            body = body.replace(b"\r\n", b"\n")
        _leaf(pm, ctype_value, cte or "", disposition or "", body, limits, info)
        return pm

    # email's feedparser tests every line against the boundary of every
    # enclosing multipart: lines x nesting regex matches.  A 100 KB message of
    # blank lines nested 900 deep took 23 s (512 KB: minutes).  The number of
    # boundary parameters bounds the nesting; past a budget the body is read
    # as plain text instead (tests/hostile.py: multipart-nested-deep-lines).
    counts = _mimescan.mime_counts(raw, body_at) if _mimescan is not None else None
    if counts is not None:  # the counts below in a few memchr passes
        lines, n_boundary, n_delims, lone_cr = counts
    else:
        lines = max(raw.count(b"\n"), raw.count(b"\r"))
        n_boundary = raw.lower().count(b"boundary")
        n_delims = lone_cr = None
    if lines * max(n_boundary, 1) > _MIME_WORK_BUDGET:
        defects.append("mime-too-complex")
        pm.text.append(decode_bytes(raw[body_at:][: limits.max_part_bytes]))
        return pm
    # The feedparser builds every part before _walk can stop at max_parts:
    # 74,000 empty parts in 512 KB took 3.2 s.  Give it only the first
    # 5 x max_parts delimiter lines' worth of the message.
    if n_delims is None:
        n_delims = raw.count(b"\n--", body_at) + raw.count(b"\r--", body_at)
    if n_delims > 5 * limits.max_parts:
        lone_cr = None  # raw may be cut below
        n_delims = 0
        for m in _DELIMITER_LINE.finditer(raw, body_at):
            n_delims += 1
            if n_delims > 5 * limits.max_parts:
                raw = raw[: m.start() + 1]
                defects.append("too-many-parts")
                break
    split = None
    max_parts, max_depth = limits.max_parts, limits.max_depth
    if (_mimescan is not None and type(max_parts) is int and type(max_depth) is int
            and -(1 << 62) < max_parts < 1 << 62 and -(1 << 62) < max_depth < 1 << 62):
        # _MimeSplitter(raw).run() and _walk's order of the parts in C; None
        # when the Python splitter must decide (lone CRs, delivery-status
        # parts, part headers that need the line loop, 8-bit values)
        split = _mimescan.split_mime(raw, max_parts, max_depth)
    if split is not None:
        root_defects, events = split
        defects.extend(root_defects)
        for event in events:
            if type(event) is str:  # "too-deep", "too-many-parts"
                defects.append(event)
                continue
            part_defects, ctype_value, cte, disposition, payload = event
            if part_defects:
                defects.extend(part_defects)
            _leaf(pm, ctype_value, cte, disposition, payload, limits)
        return pm
    try:
        root = _MimeSplitter(raw, lone_cr).run()
    except Exception:  # defensive: the splitter is iterative and should never raise
        defects.append("unparseable")
        pm.text.append(decode_bytes(raw[body_at:]))
        return pm
    defects.extend(root.defects)
    _walk(pm, root, limits)
    return pm
