"""Every offline finding of a message, in the order of :data:`~spamscore.check.report.FINDING_IDS`.

One module a part of the message: :mod:`.headers` (DKIM, From, Message-ID,
Date), :mod:`.unsubscribe` (bulk mail and its unsubscribe), :mod:`.content`
(text alternative, images, subject, size), :mod:`.links` (shorteners, IP
links, link text), :mod:`.charset` (strict charsets).  The DNS findings, which
need a resolver, are :mod:`spamscore.check.dns`.
"""

from __future__ import annotations

from datetime import datetime

from ...features import Analysis
from ...message import ParsedMessage
from ...sanity import input_warnings
from ..report import FAIL, PASS, Finding
from ..report import make_finding as _f  # one short call a finding
from .charset import charset_finding
from .content import image_ratio_finding, size_finding, subject_style_finding, text_alternative_finding
from .headers import addr_domain, date_finding, dkim_findings, dkim_tags, from_domain_finding, message_id_finding
from .links import url_findings
from .unsubscribe import looks_bulk, unsubscribe_findings

__all__ = ["content_findings"]


def content_findings(raw: bytes, pm: ParsedMessage, analysis: Analysis, *, now: datetime | None = None,
                     unsent: bool = True, bulk: bool | None = None) -> list[Finding]:
    """Every offline finding, in the order of :data:`FINDING_IDS`.

    ``unsent``: a missing Message-ID or Date is a note (the sending system adds
    them), not a failure.  ``bulk``: one-click unsubscribe is required (None:
    :func:`looks_bulk` decides).
    """
    if bulk is None:
        bulk = looks_bulk(pm, analysis)
    out: list[Finding] = [_input(raw)]
    from_dom = addr_domain(pm.get("from"))
    sigs = [dkim_tags(v) for v in pm.get_all("dkim-signature")]
    out += dkim_findings(sigs, from_dom, addr_domain(pm.get("return-path")))
    out.append(from_domain_finding(pm, from_dom))
    out.append(message_id_finding(pm, unsent))
    out.append(date_finding(pm, now, unsent))
    lu, lup = unsubscribe_findings(pm, sigs, bulk)
    out += [lu, lup]
    out.append(text_alternative_finding(pm, analysis))
    out.append(image_ratio_finding(analysis))
    out += url_findings(analysis)
    out.append(subject_style_finding(pm.subject))
    out.append(size_finding(pm, raw))
    out.append(charset_finding(raw))
    return out


def _input(raw: bytes) -> Finding:
    """Is this mail at all?  :func:`spamscore.sanity.input_warnings` (empty, no header block, binary...)."""
    warnings = input_warnings(raw)
    if warnings:
        return _f("input", FAIL, "this does not look like an email message: " + "; ".join(warnings[:4]),
                  "check an .eml file exported from your email tool (headers, a blank line, then the body)")
    return _f("input", PASS, "an email message (header block and body)")
