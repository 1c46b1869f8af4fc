"""Headers: the top-level header block split into fields, and header values decoded.

Splitting: :func:`split_headers` cuts the block at the first blank line and
splits it with one regex; :func:`split_headers_by_field` is its field-by-field
fallback (a garbage line inside the block, no blank line), which decides where
the body starts.  Decoding: :func:`decode_header_value` turns RFC 2047 words
and raw 8-bit bytes (in the top-level charset, :func:`charset_hint`) into text
without control characters; :func:`decode_headers` does it for a whole block,
the plain values in one pass.  Nothing here raises on hostile input.
"""

from __future__ import annotations

import email.header
import re

from .charsets import decode_bytes
from .parsed import Limits, ParsedMessage

__all__ = [
    "CHARSET_HINT", "ENCODED_WORD", "HEADER_CONTROLS", "HEADER_FIELD", "charset_hint", "decode_header_value",
    "decode_headers", "decode_special", "split_headers", "split_headers_by_field",
]


# --------------------------------------------------------------------------
# header values

def _raw(value) -> bytes:
    """compat32 header values: str with 8-bit bytes as surrogates, or Header."""
    if isinstance(value, email.header.Header):
        value = str(value)
    return value.encode("ascii", "surrogateescape")


# C0 controls and DEL in a decoded header become spaces: an encoded word can
# carry CR LF (header injection downstream), NUL or ESC (terminal escapes in
# reports).  Tab, CR and LF are white space to every feature anyway.
# HEADER_CONTROLS is the str.translate table (the compiled split's test checks its values against it).
_HEADER_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
HEADER_CONTROLS = dict.fromkeys([*range(0x00, 0x09), *range(0x0a, 0x20), 0x7f], " ")


def decode_header_value(value, default_charset: str | None = None) -> str:
    """RFC 2047 words and raw 8-bit bytes in a header -> str without control characters; never raises."""
    text = _decode_header_value(value, default_charset)
    if _HEADER_CONTROL.search(text) is not None:
        text = text.translate(HEADER_CONTROLS)
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
    for m in ENCODED_WORD.finditer(value):
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


# One RFC 2047 encoded word: its text can hold neither "?" nor white space,
# so the pattern cannot span words (see _decode_header_value).
ENCODED_WORD = re.compile(r"=\?[^?\s]{1,80}\?[qQbB]\?[^?\s]*\?=")


# --------------------------------------------------------------------------
# the top-level header block

# One header field: a name, a colon, the value and its continuation lines
# (bytes, matched at each field start by split_headers_by_field).
HEADER_FIELD = re.compile(rb"([!-9;-~]{1,200})[ \t]*:[ \t]*([^\n]*(?:\n[ \t][^\n]*)*+)(?:\n|\Z)")
# The charset parameter of a top-level Content-Type value (charset_hint).
CHARSET_HINT = re.compile(r"charset\s*=\s*\"?([A-Za-z0-9_.:-]+)", re.I)
# The same fields as HEADER_FIELD over a whole block decoded to str (split_headers' findall).
_HEADER_FIELD_STR = re.compile(r"^([!-9;-~]{1,200})[ \t]*:[ \t]*(.*(?:\n[ \t].*)*)", re.M)


def split_headers(raw: bytes, limits: Limits, defects: list[str]) -> tuple[list[tuple[str, str]], int]:
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
    return split_headers_by_field(raw, pos, limits, defects)


def split_headers_by_field(raw: bytes, pos: int, limits: Limits, defects: list[str]) -> tuple[list[tuple[str, str]], int]:
    """Field by field from ``pos``: the body starts at the first line that is not a field.

    split_headers' fallback for blocks its one-regex split cannot take (and the
    reference its fast path is tested against, tests/test_features_tune.py).
    """
    fields = []
    n = len(raw)
    while pos < n:
        m = HEADER_FIELD.match(raw, pos)
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

def charset_hint(ctype_value: str) -> str | None:
    """The charset a top-level Content-Type value names, or None: the best guess for raw 8-bit bytes in headers.

    (Japanese spam often has raw Shift_JIS in its Subject.)
    """
    m = CHARSET_HINT.search(ctype_value)
    return m.group(1) if m else None


# --------------------------------------------------------------------------
# a whole block's values, decoded

# C0 controls and DEL but NUL (parse removes NULs; here it separates values) -> space, on bytes
_HEADER_CONTROL_BYTES = bytes(0x20 if 0 < i < 0x20 and i != 0x09 or i == 0x7f else i for i in range(256))


def decode_headers(pm: ParsedMessage, fields: list[tuple[str, str]], hint: str | None) -> None:
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


def decode_special(defects: list[str], headers: list, special: list[int], hint: str | None) -> list:
    """``_mimescan.split_headers``' raw values (8-bit bytes or "=?") through ``decode_header_value``."""
    failed = False
    for i in special:
        name, value = headers[i]
        try:
            headers[i] = (name, decode_header_value(value, hint))
        except Exception:  # never let one header sink the message (as decode_headers)
            defects.append("bad-header")
            headers[i] = None
            failed = True
    if failed:
        headers = [pair for pair in headers if pair is not None]
    return headers
