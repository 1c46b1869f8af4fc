"""Pre-send checks for campaign senders: the score, its clues in words, and findings.

``check_message(raw, model)`` returns a :class:`CheckReport`: the model's
verdict (probability and label, from :meth:`Model.explain`), the spammiest
and hammiest clues explained in words a marketer understands and located in
the message ("the subject word FREE", "the Date header's time zone +0900":
:mod:`spamscore.check.explain`), and a list of :class:`Finding` with stable ids.

A finding is ``fail`` only for what a mailbox provider's published rules or a
real filter punishes, and names that rule in its ``basis``:

* Gmail's and Yahoo's sender requirements (February 2024): DKIM (and SPF),
  From aligned with the DKIM or SPF domain (DMARC), one-click unsubscribe for
  bulk mail (RFC 8058: ``List-Unsubscribe`` with an HTTPS URI plus
  ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``, both covered by the
  DKIM signature), a valid From, messages formatted per RFC 5322 / MIME;
* filter rules with real weight: links to IP literals (SpamAssassin
  NUMERIC_HTTP_ADDR, Rspamd HTTP_TO_IP), link text naming another domain than
  the link's (phishing: Rspamd PHISHING, Thunderbird's scam warning),
  image-only HTML (SpamAssassin HTML_IMAGE_ONLY_*).

Everything else is ``warn`` (worth fixing, a filter may count it a little) or
``note`` (for information: what the sending system will add, a choice that is
fine).  Issue 18 measured the old report at 2.7 ``fail`` findings per
legitimate newsletter: ESP click tracking taken for link mismatches
(:mod:`spamscore.features.esp` now knows the providers' tracking hosts), HTML-only
newsletters, and the Message-ID and Date that the sending system adds.

Campaign mode (the default, ``unsent=True``): the message is scored as it will
look on arrival, without the features only delivery creates (Received
chain, trace headers, a receiver's Authentication-Results:
``FeatureOptions(unsent=True)``, :mod:`spamscore.features.profiles`), and a missing Message-ID or
Date is a note, since the sending system adds them.  ``unsent=False`` judges a
received message as it is.

DNS checks (``dns_findings``) run only when a resolver is passed in: a
callable ``txt(name) -> list[str]`` (dkimpy's ``dnsfunc`` idea), so tests
serve canned records and nothing reaches the network unless asked.
:func:`dns_txt_resolver` builds one on dnspython.

The rooms of this folder (this module is the entry point and the public API):

* ``report.py``: statuses, :class:`Finding`, :class:`CheckReport`, each finding's basis;
* ``findings/``: the offline findings, one module a part of the message
  (``headers``, ``unsubscribe``, ``content``, ``links``, ``charset``);
* ``dns.py``: the DNS findings and the dnspython resolver;
* ``explain.py``: each clue in words, located in the message;
* ``text.py`` and ``html.py``: a report for a terminal, and the self-contained HTML page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from ..features import analyze
from ..message import parse
from ..scoring import Model
from .dns import DnsLookupError, dns_findings, dns_txt_resolver
from .explain import Context, ExplainedClue, explain_clue
from .findings import content_findings
from .findings.content import spammy_subject_words
from .findings.unsubscribe import is_list_post, looks_bulk
from .html import render_html
from .report import (
    DELIVERED_NOTE, DNS_FINDING_IDS, FAIL, FINDING_IDS, NOTE, PASS, UNSENT_NOTE, WARN, CheckReport, Finding,
)
from .text import report_text, summary_text

__all__ = [
    "PASS", "NOTE", "WARN", "FAIL", "Finding", "ExplainedClue", "CheckReport", "check_message",
    "content_findings", "dns_findings", "explain_clue", "dns_txt_resolver", "DnsLookupError",
    "FINDING_IDS", "DNS_FINDING_IDS", "UNSENT_NOTE", "looks_bulk", "is_list_post",
    "DELIVERED_NOTE", "spammy_subject_words", "report_text", "summary_text", "render_html",
]


# ----------------------------------------------------------------------------
# entry point

def check_message(raw: bytes, model: Model, *, path: str | None = None, n_clues: int = 8,
                  resolver: Callable[[str], list[str]] | None = None,
                  now: datetime | None = None, unsent: bool = True, bulk: bool | None = None) -> CheckReport:
    """Score ``raw`` and check it as a campaign message.

    ``unsent`` (default): score it as it will look on arrival, without the
    features only delivery creates (``FeatureOptions(unsent=True)``, as ``Model.score(raw, unsent=True)``);
    False judges a received message as it is.  ``bulk``: whether it is bulk
    mail (one-click unsubscribe required); None decides from the message
    (:func:`looks_bulk`).  ``resolver`` (a ``txt(name) -> list[str]``
    callable) adds the DNS findings; ``now`` (for tests) is the clock the Date
    check compares against.
    """
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise TypeError(f"expected the raw message as bytes, got {type(raw).__name__}")
    raw = bytes(raw)
    pm = parse(raw, model.limits)
    analysis = analyze(pm, model.options)
    from ..features import extract

    # unsent: extracted as Model.score(raw, unsent=True) extracts (delivery features left out)
    feats = extract(pm, model.unsent_options if unsent else model.options, analysis)
    verdict, toks, weights = model.explain(feats)  # one clue lookup for the verdict and the explanations
    pairs = sorted(zip(toks, weights.tolist()), key=lambda tw: (-abs(tw[1]), tw[0]))  # ties: stable order
    ctx = Context(pm, analysis)
    spammy = [explain_clue(t, w, ctx) for t, w in [tw for tw in pairs if tw[1] > 0][:n_clues]]
    hammy = [explain_clue(t, w, ctx) for t, w in [tw for tw in pairs if tw[1] < 0][:n_clues]]
    is_bulk = looks_bulk(pm, analysis) if bulk is None else bool(bulk)
    findings = content_findings(raw, pm, analysis, now=now, unsent=unsent, bulk=is_bulk)
    if resolver is not None:
        findings += dns_findings(pm, resolver)
    body = _tidy(analysis.plain_text) or _tidy(analysis.html.visible_text, strip_lines=True)
    return CheckReport(path, verdict, spammy, hammy, findings, subject=pm.subject, from_=pm.get("from", "") or "",
                       body_text=body[:100_000], spam_cutoff=model.spam_cutoff, ham_cutoff=model.ham_cutoff,
                       unsent=unsent, bulk=is_bulk)


def _tidy(text: str, strip_lines: bool = False) -> str:
    """Text for display: no runs of blank lines (HTML text also loses its indentation)."""
    if strip_lines:
        text = "\n".join(line.strip() for line in text.splitlines())
    return re.sub(r"\n[ \t]*(?:\n[ \t]*)+\n", "\n\n", text).strip()
