"""The parse stage: raw bytes -> :class:`ParsedMessage` (headers, text and HTML bodies, attachments, defects).

One file a job:

* :mod:`.parsed`: what parse returns (``ParsedMessage``, ``Attachment``) and the ``Limits`` it works under;
* :mod:`.charsets`: a MIME charset label -> a Python codec; bytes -> str that never fails;
* :mod:`.headers`: the top-level header block split into fields; RFC 2047 and 8-bit header values decoded;
* :mod:`.bodies`: one leaf part -> a decoded text or HTML body, or an attachment;
* :mod:`.mime`: the MIME splitter (email's feedparser, iteratively) and the walk over its leaves;
* here: :func:`parse`, which runs them in order under the limits, and the switch to the compiled helper.

Top-level header fields are split with one regex (``headers.split_headers``); the
MIME structure of multipart/* and message/* mail comes from ``mime.MimeSplitter``,
an iterative stand-in for :mod:`email`'s feedparser with ``policy.compat32``
that builds the same tree and records the same defect names (about 2x faster
over the whole parse on the SpamAssassin test half: ~110 against ~230
CPU-us a message; tests/test_mimescan.py checks both
agree on all 6,046 corpus messages).  Neither raises on malformed input; they
record defects instead.  We decode only what the features need: the header
values (RFC 2047 words and raw 8-bit bytes), and the text and HTML bodies, in
their declared charset with safe fallbacks.

When the optional C module ``spamscore._mimescan`` is built, ``parse`` takes
the top-level header block (``split_headers``' fast path and the plain
values of ``headers.decode_headers``) and a multipart's size counts from it in one
pass each, and (round 2) what ``bodies.add_leaf`` reads of a part's Content-Type and
Content-Disposition values (``leaf_info``), the top-level charset hint
(``charset_hint``) and a multipart's boundary (``boundary``, instead of
email.message's get_boundary) for ASCII values; parse went ~48 -> ~36
CPU-us a message.  Round 3: ``split_mime`` does ``MimeSplitter(raw).run()``
and ``walk``'s order of the parts in C for multiparts without lone CRs,
delivery-status parts, part headers that need the line loop or 8-bit
Content-* values (498 of the 506 corpus multiparts); multipart parse
~165 -> ~73 CPU-us a message, all messages ~44 -> ~28.  The Python code
stays the reference (tests/test_mimescan.py,
tests/test_mimescan.py).  ``_mimescan`` below is the one
switch: parse reads it and hands it to the part modules, so setting it to
None (as the tests do) runs the whole stage on the Python reference.

Nothing here raises on hostile input.  Anything odd becomes an entry in
``ParsedMessage.defects``, which the tokenizer turns into ``defect:...``
features (the SpamBayes ``control: couldn't decode`` idea).
"""

from __future__ import annotations

import re

from .. import _native
from .bodies import add_leaf, decode_transfer, media_type
from .charsets import codec_for, decode_bytes
from .headers import (charset_hint, decode_header_value, decode_headers, decode_special, split_headers,
                      split_headers_by_field)
from .mime import MimeSplitter, get_boundary, walk
from .parsed import DEFAULT_LIMITS, Attachment, Limits, ParsedMessage

_mimescan = _native.load("_mimescan")  # None (not built, or SPAMSCORE_PURE=1): the Python code of the part modules

__all__ = [
    "Attachment", "DEFAULT_LIMITS", "Limits", "MimeSplitter", "ParsedMessage", "codec_for", "decode_bytes",
    "decode_header_value", "decode_transfer", "parse", "split_headers", "split_headers_by_field",
]

# The old private names, kept only for files that still use them (tests/test_mimescan.py,
# tests/test_regex_redos.py, tests/test_features_tune.py): switch those to the public names
# of the part modules, then delete these lines.  (test_regex_redos finds the patterns under
# the first name that binds them here: "spamscore.message._HEADER_FIELD", "..._CTYPE".)
from .bodies import B64_JUNK as _B64_JUNK  # noqa: E402
from .bodies import B64_JUNK_BYTES as _B64_JUNK_BYTES  # noqa: E402
from .bodies import CONTENT_TYPE as _CTYPE  # noqa: E402
from .bodies import PARAMS as _PARAM  # noqa: E402
from .bodies import param as _param  # noqa: E402
from .headers import CHARSET_HINT as _HEADER_CHARSET_HINT  # noqa: E402
from .headers import ENCODED_WORD as _ENCODED_WORD  # noqa: E402
from .headers import HEADER_CONTROLS as _HEADER_CONTROLS  # noqa: E402
from .headers import HEADER_FIELD as _HEADER_FIELD  # noqa: E402

_split_headers = split_headers
_split_headers_slow = split_headers_by_field
_MimeSplitter = MimeSplitter


def _boundary(ctype: str) -> bytes | None:
    """get_boundary with this module's switch, read at each call (as the old function read it)."""
    return get_boundary(ctype, _mimescan)


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
    ms = _mimescan  # the switch, read once: every step below uses the same helper (or none)
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
    if ms is not None and type(max_headers) is int and 0 <= max_headers < 1 << 62:
        # split_headers' fast path and decode_headers' plain values in one
        # C pass; None when the block needs the field-by-field loop
        scanned = ms.split_headers(raw, max_headers)
    if scanned is not None:
        headers, special, body_at, ctype_value, cte, disposition, too_many = scanned
        if too_many:
            defects.append("too-many-headers")
        hint = None
        if ctype_value is not None:
            hint = ms.charset_hint(ctype_value)
            if hint is None:  # not ASCII: the regex decides
                hint = charset_hint(ctype_value)
            else:
                hint = hint or None
        if special is not None:
            headers = decode_special(defects, headers, special, hint)
        pm.headers = headers
    else:
        fields, body_at = split_headers(raw, limits, defects)

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
        hint = charset_hint(ctype_value) if ctype_value is not None else None
        decode_headers(pm, fields, hint)

    info = None
    if ms is not None:
        info = ms.leaf_info(ctype_value, disposition or "")
    if info is not None:  # its ctype is media_type's: CONTENT_TYPE's group lower-cased, or "text/plain"
        single = not info[0].startswith(("multipart/", "message/"))
    else:
        single = not media_type(ctype_value).startswith(("multipart/", "message/"))
    if single:
        body = raw[body_at:]
        if b"\r" in body:  # (replace's own search for "\r\n" is slower than this memchr)
            body = body.replace(b"\r\n", b"\n")
        add_leaf(pm, ctype_value, cte or "", disposition or "", body, limits, info, ms)
        return pm

    # email's feedparser tests every line against the boundary of every
    # enclosing multipart: lines x nesting regex matches.  A 100 KB message of
    # blank lines nested 900 deep took 23 s (512 KB: minutes).  The number of
    # boundary parameters bounds the nesting; past a budget the body is read
    # as plain text instead (tests/hostile.py: multipart-nested-deep-lines).
    counts = ms.mime_counts(raw, body_at) if ms is not None else None
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
    # The feedparser builds every part before walk can stop at max_parts:
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
    if (ms is not None and type(max_parts) is int and type(max_depth) is int
            and -(1 << 62) < max_parts < 1 << 62 and -(1 << 62) < max_depth < 1 << 62):
        # MimeSplitter(raw).run() and walk's order of the parts in C; None
        # when the Python splitter must decide (lone CRs, delivery-status
        # parts, part headers that need the line loop, 8-bit values)
        split = ms.split_mime(raw, max_parts, max_depth)
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
            add_leaf(pm, ctype_value, cte, disposition, payload, limits, mimescan=ms)
        return pm
    try:
        root = MimeSplitter(raw, lone_cr, ms).run()
    except Exception:  # defensive: the splitter is iterative and should never raise
        defects.append("unparseable")
        pm.text.append(decode_bytes(raw[body_at:]))
        return pm
    defects.extend(root.defects)
    walk(pm, root, limits, ms)
    return pm
