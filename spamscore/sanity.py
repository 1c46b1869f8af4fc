"""Is this mail at all?  Cheap warnings about input that is scored but is not a message.

A filter must not drop anything, so ``spamscore score /bin/ls`` still gives a
verdict; but ``spam 0.996`` for an executable (or ``unsure 0.736`` for an
empty file) is a silent guess.  :func:`input_warnings` says what is odd about
the bytes, so that ``score`` can flag the verdict and ``check`` can fail the
message.  It looks at the first :data:`SNIFF_BYTES` bytes only (bounded time
whatever the size), never parses MIME and never raises.
"""

from __future__ import annotations

import re

__all__ = ["input_warnings", "SNIFF_BYTES", "EMPTY", "NO_HEADERS", "BINARY"]

SNIFF_BYTES = 64 * 1024  # looked at for NUL bytes (memchr: about 0.4 µs a message)
SHARE_BYTES = 8 * 1024   # looked at for the share of control bytes (a copy: about 2 µs a message)

EMPTY = "empty message"
NO_HEADERS = "no header block"
BINARY = "binary content"

# A header field's start (RFC 5322 field name, then a colon), as message.py's splitter reads one.
_FIELD = re.compile(rb"[!-9;-~]{1,200}[ \t]*:")  # bounded: .match at one position only
# Bytes that text never holds: C0 controls but tab, LF, VT, FF, CR and ESC (ISO-2022-JP
# shifts with ESC), and DEL.  8-bit bytes are not counted: legacy charsets use them all.
_CONTROL = bytes(b for b in range(32) if b not in b"\t\n\x0b\x0c\r\x1b") + b"\x7f"
# Share of control bytes in the first 8 KiB above which the content is called binary.
# Measured on the SpamAssassin public corpus (6,046 messages): no message has a NUL byte,
# the most control bytes any message has is 0.8% of its first 64 KiB, and no message gets a
# warning at all (nor does any of the 1,989 files of the CSDMC2010 corpus); executables,
# images and archives have far more (/bin/ls: 44%, small PNGs: 20% to 39%, gzip files:
# about 11%, all with NUL bytes too).  The whole check costs about
# 4 µs a message there (0.025 s for the 6,046), under 1% of scoring one.
BINARY_SHARE = 0.02


def input_warnings(raw: bytes) -> list[str]:
    """What is odd about ``raw`` as a mail message: ``[]`` for ordinary mail.

    * ``"empty message"``: no bytes, or only white space.
    * ``"no header block"``: the first line is not a header field (after an
      mbox ``From `` line, if any), or the message starts with a blank line.
    * ``"binary content"``: a NUL byte in the first 64 KiB, or more than 2%
      control bytes in the first 8 KiB: an executable, an image, an archive.
    """
    try:
        head = bytes(raw[:SNIFF_BYTES])
    except Exception:  # noqa: BLE001 - not bytes-like: nothing to say about it here
        return []
    if not head or head.isspace():
        return [EMPTY]
    out: list[str] = []
    start = 0
    if head.startswith(b"From "):  # an mbox From_ line (procmail, mailbox files) precedes the header
        nl = head.find(b"\n")
        start = len(head) if nl == -1 else nl + 1
    if not _FIELD.match(head, start):
        out.append(NO_HEADERS)
    share = head[:SHARE_BYTES]
    if b"\0" in head or len(share) - len(share.translate(None, _CONTROL)) > BINARY_SHARE * len(share):
        out.append(BINARY)
    return out
