"""The sender's set-up, read from the headers: DKIM signature and alignment, From domain, Message-ID, Date.

These are the findings Gmail's and Yahoo's 2024 sender requirements and RFC
5322 decide: a missing DKIM signature or one not aligned with the From domain
fails (DMARC), a Reply-To in another domain warns.  In campaign mode
(``unsent``) a missing Message-ID or Date is a note: the sending system adds
them.
"""

from __future__ import annotations

import email.utils
import re
from datetime import datetime, timedelta, timezone

from ...features.auth import from_domain
from ...features.urls import registered_domain
from ...message import ParsedMessage
from ..report import FAIL, NOTE, PASS, WARN, Finding
from ..report import make_finding as _f  # one short call a finding

__all__ = ["dkim_tags", "addr_domain", "dkim_findings", "from_domain_finding", "message_id_finding", "date_finding"]

_MSGID = re.compile(r"^\s*<[^<>@\s]{1,250}@[^<>@\s]{1,250}>\s*$")
_DKIM_TAG = re.compile(r"\s*([a-z][a-z0-9_]{0,30})\s*=\s*([^;]*)", re.I)


def dkim_tags(value: str) -> dict[str, str]:
    """Tags of a DKIM-Signature value (lower-case names, white space removed from values)."""
    out: dict[str, str] = {}
    for piece in value[:8000].split(";"):
        m = _DKIM_TAG.match(piece)
        if m:
            out.setdefault(m.group(1).lower(), re.sub(r"\s+", "", m.group(2)))
    return out


def addr_domain(value: str | None) -> str:
    """The domain of an address header's value ('' for none): :func:`spamscore.features.auth.from_domain`."""
    return from_domain(value) if value else ""


def dkim_findings(sigs: list[dict[str, str]], from_dom: str, rpath_dom: str = "") -> list[Finding]:
    """``dkim-signature`` (a complete signature) and ``dkim-alignment`` (its d= in the From domain: DMARC)."""
    if not sigs:
        return [
            _f("dkim-signature", FAIL, "no DKIM-Signature header",
               "sign outgoing mail with DKIM (Gmail and Yahoo require it of bulk senders); most ESPs sign "
               "when you set up your sending domain"),
            _f("dkim-alignment", FAIL, "no DKIM signature, so none aligned with the From domain",
               f"sign with d={from_dom or 'your From domain'} (DMARC alignment)"),
        ]
    incomplete = [s for s in sigs if not (s.get("d") and s.get("s") and s.get("b") and s.get("h"))]
    first = sigs[0]
    if len(incomplete) == len(sigs):
        sig = _f("dkim-signature", FAIL, "the DKIM-Signature lacks d=, s=, h= or b=",
                 "let your mail server or ESP generate a complete DKIM signature")
    else:
        ok = next(s for s in sigs if s not in incomplete)
        sig = _f("dkim-signature", PASS, f"DKIM-Signature present (d={ok.get('d')}, s={ok.get('s')})")
    ds = [s.get("d", "").lower().strip(".") for s in sigs if s.get("d")]
    if not from_dom:
        align = _f("dkim-alignment", FAIL, "no From domain to align the DKIM signature with",
                   "give the message a From address in your own domain")
    elif any(registered_domain(d) == registered_domain(from_dom) for d in ds):
        d = next(d for d in ds if registered_domain(d) == registered_domain(from_dom))
        align = _f("dkim-alignment", PASS, f"DKIM d={d} is aligned with From domain {from_dom}")
    elif rpath_dom and registered_domain(rpath_dom) == registered_domain(from_dom):
        # DMARC passes on SPF alignment alone, but forwarding breaks SPF and Gmail asks bulk senders for both.
        align = _f("dkim-alignment", WARN,
                   f"DKIM d={ds[0] if ds else first.get('d', '?')} is not aligned with From domain {from_dom} "
                   f"(DMARC can still pass by SPF: Return-Path {rpath_dom})",
                   f"sign with a key in {registered_domain(from_dom)} (custom DKIM at your ESP): forwarded mail "
                   "loses SPF")
    else:
        align = _f("dkim-alignment", FAIL,
                   f"DKIM d={ds[0] if ds else first.get('d', '?')} is not aligned with From domain {from_dom}",
                   f"sign with a key in {registered_domain(from_dom)} (set up custom DKIM at your ESP)")
    return [sig, align]


def from_domain_finding(pm: ParsedMessage, from_dom: str) -> Finding:
    """``from-domain``: a From domain, and Reply-To and Return-Path in the same organisation."""
    if not from_dom:
        return _f("from-domain", FAIL, "no From address with a domain", "set a From address in your own domain")
    org = registered_domain(from_dom)
    reply = addr_domain(pm.get("reply-to"))
    rpath = addr_domain(pm.get("return-path"))
    if reply and registered_domain(reply) != org:
        # no provider rule; a Reply-To elsewhere is what reply-harvesting scams do (and what help desks do)
        return _f("from-domain", WARN, f"Reply-To domain {reply} differs from From domain {from_dom}",
                  f"use a Reply-To address in {org}, or drop Reply-To",
                  "heuristic: a Reply-To in another domain is common in scams (no provider rule)")
    if rpath and registered_domain(rpath) != org:
        return _f("from-domain", NOTE,
                  f"Return-Path domain {rpath} differs from From domain {from_dom} (no SPF alignment; "
                  "DKIM alignment is enough for DMARC)",
                  f"optional: a bounce domain under {org} (custom Return-Path at your ESP) aligns SPF too")
    parts = [f"From {from_dom}"] + ([f"Reply-To {reply}"] if reply else []) + ([f"Return-Path {rpath}"] if rpath else [])
    return _f("from-domain", PASS, ", ".join(parts) + " agree")


def message_id_finding(pm: ParsedMessage, unsent: bool = True) -> Finding:
    """``message-id``: present (unsent: a note if not, the sending system adds it) and <local@domain>."""
    mid = pm.get("message-id")
    if mid is None:
        if unsent:
            return _f("message-id", NOTE, "no Message-ID header yet: the sending system (your ESP or mail server) "
                      "adds one", "nothing to do if you send through an ESP or a mail server; Gmail refuses mail "
                      "without one")
        return _f("message-id", FAIL, "no Message-ID header", "let your mail server add a Message-ID <unique@your.domain>")
    if not _MSGID.match(mid):
        return _f("message-id", FAIL, f"malformed Message-ID {mid.strip()[:80]!r}",
                  "use the form <unique-part@your.domain>")
    return _f("message-id", PASS, f"Message-ID {mid.strip()[:80]}")


def date_finding(pm: ParsedMessage, now: datetime | None, unsent: bool = True) -> Finding:
    """``date``: present (unsent: a note if not), RFC 5322, with a time zone, not in the future."""
    value = pm.get("date")
    if value is None:
        if unsent:
            return _f("date", NOTE, "no Date header yet: the sending system adds it when the message goes out",
                      "nothing to do if you send through an ESP or a mail server")
        return _f("date", FAIL, "no Date header", "add a Date header (RFC 5322) when sending")
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        when = None
    if when is None:
        return _f("date", FAIL, f"unparsable Date {value.strip()[:60]!r}",
                  "use an RFC 5322 date such as 'Tue, 1 Apr 2025 09:00:00 +0000'")
    if when.tzinfo is None:
        return _f("date", WARN, f"Date {value.strip()[:60]} has no time zone", "add a numeric time zone such as +0000")
    now = now or datetime.now(timezone.utc)
    if when - now > timedelta(days=1):
        return _f("date", WARN, f"Date {value.strip()[:60]} is in the future",
                  "set the Date when the message is sent, from a correct clock")
    return _f("date", PASS, f"Date {value.strip()[:60]}")
