"""Header fields spliced into a raw message, byte for byte: what the pipe filter, the milter and spamd's PROCESS share.

Everything here works on bytes and never re-serialises the message: the
header fields we add are spliced in at the top of the header block (after an
mbox ``From `` line if there is one), our own stale markup headers are cut
out, and every other byte -- header order, folding, line endings, body,
attachments -- is copied through unchanged.

Stale markup: like SpamAssassin (which strips its own ``X-Spam-*`` markup
before it adds fresh headers), we remove incoming ``X-Spam-Flag``,
``X-Spam-Score``, ``X-Spam-Status`` and ``X-Spam-Level`` fields -- exactly the
fields we write (:func:`spamscore.serve.headers.spam_headers`) -- so a sender
cannot forge ``X-Spam-Flag: NO`` past a Sieve rule, and a message filtered
twice carries one verdict.  Other ``X-Spam-*`` fields (``X-Spam-Report``,
``X-Spam-Checker-Version`` of an upstream SpamAssassin...) are kept: they are
not ours.
"""

from __future__ import annotations

import re

__all__ = ["OWN_HEADERS", "line_ending", "mbox_from_end", "header_block_end", "sanitize_header_value", "fold_header",
           "mark_message"]

OWN_HEADERS = ("x-spam-flag", "x-spam-score", "x-spam-status", "x-spam-level")

_FIELD_NAME = re.compile(rb"([!-9;-~]{1,200})[ \t]*:")  # bounded: linear even when searched
_CTRL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def line_ending(raw: bytes) -> bytes:
    """The message's own line ending: CRLF if its first line ends so, CR if it has no LF at all, else LF."""
    nl = raw.find(b"\n")
    if nl < 0 and b"\r" in raw:
        return b"\r"
    return b"\r\n" if nl > 0 and raw[nl - 1:nl] == b"\r" else b"\n"


def _scan_copy(raw: bytes) -> bytes:
    """``raw`` with CR-only line endings read as LF: the same length, so offsets into it are offsets into raw.

    The parser reads mail with no LF at all the same way (``message.parse``);
    without this, such mail was one line and our headers went after its last byte.
    """
    if b"\r" in raw and b"\n" not in raw:
        return raw.replace(b"\r", b"\n")
    return raw


def _lines(raw: bytes, start: int, stop: int):
    """(start, end-including-newline) offsets of the lines in raw[start:stop]."""
    pos = start
    while pos < stop:
        nl = raw.find(b"\n", pos, stop)
        end = stop if nl < 0 else nl + 1
        yield pos, end
        pos = end


def mbox_from_end(raw: bytes) -> int:
    """Offset just after a leading mbox ``From `` line (0 if none)."""
    if raw.startswith(b"From "):
        nl = raw.find(b"\n")
        return len(raw) if nl < 0 else nl + 1
    return 0


def header_block_end(raw: bytes, start: int = 0) -> int:
    """Offset of the blank line that ends the header block (len(raw) if none)."""
    for s, e in _lines(raw, start, len(raw)):
        if raw[s:e].strip(b"\r\n") == b"":
            return s
    return len(raw)


def _fields(raw: bytes, start: int, stop: int) -> list[tuple[bytes | None, int, int]]:
    """Header fields as (lower-case name or None, start, end); continuation lines join their field."""
    out: list[list] = []
    for s, e in _lines(raw, start, stop):
        if raw[s:s + 1] in (b" ", b"\t") and out:
            out[-1][2] = e
            continue
        m = _FIELD_NAME.match(raw, s, e)
        out.append([m.group(1).lower() if m else None, s, e])
    return [tuple(f) for f in out]


def sanitize_header_value(value: str) -> str:
    """ASCII only, no control characters (a clue may carry any Unicode token)."""
    value = _CTRL.sub(" ", value)
    return value.encode("ascii", "backslashreplace").decode("ascii")


def fold_header(name: str, value: str, width: int = 78, hard: int = 900) -> list[str]:
    """Split ``name: value`` at spaces into lines no longer than ``width`` where possible.

    A run without spaces longer than ``hard`` characters is cut (RFC 5322 allows
    998 per line), so no line of ours can break a mail system's line limit.
    """
    words: list[str] = []
    for w in value.split(" "):
        if len(w) > hard:
            words.extend(w[i:i + hard] for i in range(0, len(w), hard))
        else:
            words.append(w)
    lines: list[str] = []
    cur = f"{name}: {words[0]}"
    for w in words[1:]:
        if len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = "\t" + w
        else:
            cur += " " + w
    lines.append(cur)
    return lines


def mark_message(raw: bytes, headers: list[tuple[str, str]], *, subject_tag: str | None = None,
                 remove: tuple[str, ...] = OWN_HEADERS) -> bytes:
    """``raw`` with ``headers`` added at the top of its header block.

    Fields named in ``remove`` (lower case) are cut out; ``subject_tag`` is put
    in front of the first Subject (a Subject field is added if there is none;
    an already-tagged subject is left alone).  All other bytes are unchanged.
    """
    eol = line_ending(raw)
    scan = _scan_copy(raw)         # where lines end; the bytes copied out come from raw
    top = mbox_from_end(scan)
    end = header_block_end(scan, top)
    removed = {n.lower().encode("ascii") for n in remove}
    new_lines: list[str] = []
    for name, value in headers:
        new_lines.extend(fold_header(name, sanitize_header_value(value)))
    tag = sanitize_header_value(subject_tag).encode("ascii") if subject_tag else None
    fields = _fields(scan, top, end)
    if tag and not any(n == b"subject" for n, _, _ in fields):
        new_lines.append(f"Subject: {tag.decode('ascii')}")
    # Lines at the top of the block that start with white space continue no
    # field: put ours after them, or they would become continuations of our
    # last line (and a sender could append text to X-Spam-Status).
    at = 0
    while at < len(fields) and fields[at][0] is None and scan[fields[at][1]:fields[at][1] + 1] in (b" ", b"\t"):
        at += 1
    split = fields[at][1] if at < len(fields) else end
    out = bytearray(raw[:top])
    for _, s, e in fields[:at]:
        out += raw[s:e]
    if new_lines and split == len(raw) and raw and scan[-1:] != b"\n":
        out += eol                 # a truncated last line (an mbox "From " line alone): end it first
    for line in new_lines:
        out += line.encode("ascii") + eol
    tagged = False
    for name, s, e in fields[at:]:
        if name in removed:
            continue
        if tag and not tagged and name == b"subject":
            tagged = True
            colon = raw.index(b":", s, e) + 1
            ws = colon
            while ws < e and raw[ws:ws + 1] in (b" ", b"\t"):
                ws += 1
            if raw[ws:e].startswith(tag):
                out += raw[s:e]
            else:
                out += raw[s:colon] + b" " + tag + b" " + raw[ws:e]
            continue
        out += raw[s:e]
    out += raw[end:]
    return bytes(out)
