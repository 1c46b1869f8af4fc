"""Bodies: one leaf part -> a decoded text or HTML body, or an attachment.

A leaf's Content-Type and Content-Disposition values say what it is
(:func:`media_type`, :func:`param`); :func:`decode_transfer` undoes its
transfer encoding leniently, and :mod:`.charsets` its charset.  Only text and
HTML bodies are decoded (and cut at ``Limits.max_part_bytes``); any other leaf
is recorded as an :class:`Attachment` by name, type and size.  Malformed
values become defects (``bad-base64``, ``bad-content-type``...), never errors.
"""

from __future__ import annotations

import binascii
import re

from .charsets import decode_bytes
from .headers import decode_header_value
from .parsed import Attachment, Limits, ParsedMessage

__all__ = ["B64_JUNK", "B64_JUNK_BYTES", "CONTENT_TYPE", "PARAMS", "add_leaf", "decode_transfer", "media_type", "param"]

# The bytes base64 decoding skips (line breaks, padding, junk), as a pattern and
# as the deletion table decode_transfer uses (the two are tested to agree).
B64_JUNK = re.compile(rb"[^A-Za-z0-9+/]")
B64_JUNK_BYTES = bytes(c for c in range(256) if B64_JUNK.fullmatch(bytes([c])))


def decode_transfer(raw: bytes, cte: str, defects: list[str]) -> bytes:
    """Undo a Content-Transfer-Encoding, leniently; never raises."""
    cte = cte.strip().lower()
    if cte == "base64":
        data = raw.translate(None, B64_JUNK_BYTES)  # B64_JUNK.sub(b"", raw), ~10x faster
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


# A Content-Type value's media type (group 1), and its parameters by name;
# both are applied to one header value, so their lengths are bounded.
CONTENT_TYPE = re.compile(r"^\s*([a-z0-9!#$&^_.+-]{1,100}/[a-z0-9!#$&^_.+-]{1,100})", re.I)
PARAMS = {
    name: re.compile(rf"(?:^|;)\s*{name}\*?\s*=\s*(?:\"([^\"]{{0,300}})\"|([^;\s]{{1,300}}))", re.I)
    for name in ("charset", "name", "filename", "boundary")
}


def media_type(ctype_value: str | None) -> str:
    """The lower-cased media type of a Content-Type value; "text/plain" when it is missing or unreadable.

    (RFC 2045's default, and what ``_mimescan.leaf_info`` reports.)
    """
    m = CONTENT_TYPE.match(ctype_value) if ctype_value else None
    return m.group(1).lower() if m else "text/plain"


def param(value: str, name: str) -> str:
    """Parameter ``name`` (a key of :data:`PARAMS`) of a header value, "" if absent; RFC 2231's charset'lang' dropped."""
    m = PARAMS[name].search(value)
    if m is None:
        return ""
    v = m.group(1) if m.group(1) is not None else m.group(2)
    if "''" in v:  # RFC 2231: charset'lang'value
        v = v.split("''", 1)[1]
    return v


def add_leaf(pm: ParsedMessage, ctype_value: str | None, cte: str, disposition: str,
             raw: bytes, limits: Limits, info: tuple | None = None, mimescan=None) -> None:
    """Record one leaf part: a text or HTML body, or an attachment.

    ``info``: ``mimescan.leaf_info(ctype_value, disposition)`` when the
    caller has it already.  ``mimescan``: the compiled helper parse uses
    (None: the Python code below, the reference).
    """
    defects = pm.defects
    if info is None and mimescan is not None:
        info = mimescan.leaf_info(ctype_value, disposition)
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
            m = CONTENT_TYPE.match(ctype_value)
            ctype = m.group(1).lower() if m else "text/plain"
            if m is None and ctype_value.strip():
                defects.append("bad-content-type")
            charset = param(ctype_value, "charset")
            filename = param(ctype_value, "name")
        disposition = disposition.lower()
        if disposition:
            filename = param(disposition, "filename") or filename
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
