"""Charsets, read strictly: every text part's bytes decode with the charset its label declares.

The parser (:mod:`spamscore.message`) reads mislabelled text leniently, as a
reader's client would; this finding reads what the label says, as a strict
receiver would (RFC 2045/2047, Rspamd R_BAD_CTE_7BIT), with the standard
library's parser on a bounded copy of the input.
"""

from __future__ import annotations

import codecs
import email
import re
from email import policy as _policy

from ...message import decode_transfer
from ..report import FAIL, PASS, Finding
from ..report import make_finding as _f  # one short call a finding

__all__ = ["CHARSET_MAX_BOUNDARIES", "CHARSET_MAX_BYTES", "charset_finding"]

# strict codecs for the check: what the label says, not the lenient reading the parser uses
_STRICT = {"us-ascii": "ascii", "ascii": "ascii", "iso-2022-jp": "iso2022_jp", "csiso2022jp": "iso2022_jp",
           "iso-2022-jp-1": "iso2022_jp_1", "iso-2022-jp-2": "iso2022_jp_2", "iso-2022-jp-3": "iso2022_jp_3",
           "shift_jis": "cp932", "shift-jis": "cp932", "windows-31j": "cp932", "utf8": "utf-8"}
_ESC_JIS = re.compile(rb"\x1b\$[@B]|\x1b\([BJ]")


def _strict_codec(label: str) -> str | None:
    label = label.strip().strip("\"'").lower()
    if label in _STRICT:
        return _STRICT[label]
    try:
        return codecs.lookup(label).name
    except (LookupError, ValueError):
        return None


# The stdlib parser the charset check uses tests every line against every open
# boundary: quadratic in the nesting.  The hostile case of 900 nested
# multiparts over 120k lines took 25-40 s in _charset alone; the input is cut
# before the 31st boundary parameter (the parser's own --max-depth default is 30)
# and at 4 MiB, which keeps it under a second.
_BOUNDARY_PARAM = re.compile(rb"boundary[ \t]*=", re.I)
CHARSET_MAX_BOUNDARIES = 30
CHARSET_MAX_BYTES = 4 * 1024 * 1024


def _charset_input(raw: bytes) -> bytes:
    data = raw[:CHARSET_MAX_BYTES]
    for n, m in enumerate(_BOUNDARY_PARAM.finditer(data)):
        if n >= CHARSET_MAX_BOUNDARIES:
            return data[:m.start()]
    return data


def charset_finding(raw: bytes) -> Finding:
    """``charset``: declared charsets are known and the bytes of every text part decode strictly with them."""
    try:
        msg = email.message_from_bytes(_charset_input(raw), policy=_policy.compat32)
    except Exception:  # compat32 is lenient; belt and braces
        return _f("charset", FAIL, "the message cannot be parsed", "send well-formed MIME")
    problems: list[str] = []
    for name, value in msg.raw_items():
        if isinstance(value, str) and not value.isascii():
            problems.append(f"raw 8-bit bytes in the {name} header")
            break
    checked = 0
    for n, part in enumerate(msg.walk()):
        if n > 200:
            break
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        if not ctype.startswith("text/") or part.get_filename():
            continue
        checked += 1
        # the payload as stored: get_payload() would re-decode surrogate-escaped 8-bit bytes with
        # replacement characters, hiding the very bytes this finding judges
        payload = part._payload if isinstance(part._payload, str) else ""
        data = decode_transfer(payload.encode("ascii", "surrogateescape"),
                               str(part.get("content-transfer-encoding", "")), [])
        label = part.get_param("charset")
        if isinstance(label, tuple):  # RFC 2231
            label = label[2]
        where = f"{ctype} part"
        if not label:
            if not data.isascii():
                problems.append(f"{where} has 8-bit text but no charset")
            elif _ESC_JIS.search(data):
                problems.append(f"{where} holds ISO-2022-JP text but no charset")
            continue
        label = str(label)
        codec = _strict_codec(label)
        if codec is None:
            problems.append(f"{where} declares unknown charset {label[:40]!r}")
            continue
        if codec in ("ascii",) or codec.startswith("iso2022"):
            if not data.isascii():
                problems.append(f"{where} is labelled {label} but has 8-bit bytes")
                continue
            if codec == "ascii" and _ESC_JIS.search(data):
                problems.append(f"{where} is labelled {label} but holds ISO-2022-JP text")
                continue
        try:
            data.decode(codec)
        except (UnicodeDecodeError, LookupError):
            problems.append(f"{where} does not decode as its declared {label}")
    if problems:
        return _f("charset", FAIL, "; ".join(problems[:3]),
                  "label every text part with the charset its bytes are in (UTF-8 is safest), "
                  "and encode non-ASCII headers as RFC 2047 words")
    return _f("charset", PASS, f"{checked} text part(s) decode with their declared charsets")
