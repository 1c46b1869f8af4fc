"""Pre-send checks for campaign senders: the score, its clues in words, and findings.

``check_message(raw, model)`` returns a :class:`CheckReport`: the model's
verdict (probability and label, from :meth:`Model.explain`), the spammiest
and hammiest clues explained in words a marketer understands and located in
the message ("the subject word FREE", "the Date header's time zone +0900":
:mod:`spamscore.explain`), and a list of :class:`Finding` with stable ids.

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
"""

from __future__ import annotations

import email
import email.utils
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email import policy as _policy

from ..errors import SpamscoreError
from ..features.esp import embedded_destination, esp_for_host
from .explain import Context as _Context
from .explain import ExplainedClue, explain_clue
from ..features import Analysis, analyze
from ..features.auth import from_domain
from ..features.urls import link_mismatch, parse_url, registered_domain
from ..message import ParsedMessage, decode_transfer, parse
from ..sanity import input_warnings
from ..scoring import Model, Verdict

__all__ = [
    "PASS", "NOTE", "WARN", "FAIL", "Finding", "ExplainedClue", "CheckReport", "check_message",
    "content_findings", "dns_findings", "explain_clue", "dns_txt_resolver", "DnsLookupError",
    "FINDING_IDS", "DNS_FINDING_IDS", "UNSENT_NOTE", "looks_bulk", "is_list_post",
]

PASS, NOTE, WARN, FAIL = "pass", "note", "warn", "fail"
_RANK = {PASS: 0, NOTE: 1, WARN: 2, FAIL: 3}

FINDING_IDS = (
    "input", "dkim-signature", "dkim-alignment", "from-domain", "message-id", "date", "list-unsubscribe",
    "list-unsubscribe-post", "text-alternative", "image-ratio", "url-shortener", "ip-url", "link-mismatch",
    "link-count", "subject-style", "size", "charset",
)
DNS_FINDING_IDS = ("dns-spf", "dns-dmarc", "dns-dkim-key")

UNSENT_NOTE = ("scored as an unsent message: delivery headers (Received, Authentication-Results...) "
               "are not counted")
DELIVERED_NOTE = "scored as a delivered message: every header counts, delivery headers included"

# What each finding rests on (the ``basis`` of a Finding), by id.
GMAIL_2024 = "Gmail and Yahoo sender requirements (2024)"
BASIS = {
    "input": "RFC 5322 (a message is a header block, a blank line and a body)",
    "dkim-signature": f"{GMAIL_2024}: bulk senders sign with DKIM; RFC 6376",
    "dkim-alignment": f"{GMAIL_2024}: From aligned with the DKIM or SPF domain (DMARC, RFC 7489 section 3.1)",
    "from-domain": "RFC 5322 section 3.6.2 (From is required); DMARC SPF alignment (RFC 7489)",
    "message-id": "RFC 5322 section 3.6.4; Gmail sender guidelines (format per RFC 5322)",
    "date": "RFC 5322 section 3.6.1 (Date is required)",
    "list-unsubscribe": f"{GMAIL_2024}: one-click unsubscribe for bulk mail; RFC 2369",
    "list-unsubscribe-post": f"{GMAIL_2024}: one-click unsubscribe for bulk mail; RFC 8058",
    "text-alternative": "SpamAssassin MIME_HTML_ONLY (a small score); mailbox providers deliver HTML-only mail",
    "image-ratio": "SpamAssassin HTML_IMAGE_ONLY_* and HTML_IMAGE_RATIO_* rules",
    "url-shortener": "shared shortener domains carry other senders' reputation (URI blocklists list abused ones)",
    "ip-url": "SpamAssassin NUMERIC_HTTP_ADDR, Rspamd HTTP_TO_IP",
    "link-mismatch": "phishing checks: Rspamd PHISHING, Thunderbird's scam warning; ESP click tracking excepted",
    "link-count": "heuristic: long link lists read as link farms; no provider rule",
    "subject-style": "SpamAssassin SUBJ_ALL_CAPS, Rspamd SUBJ_ALL_CAPS and trigger-word rules (small scores)",
    "size": "Gmail clips HTML over 102 KB; receivers cap message size",
    "charset": "RFC 2045/2047 and Gmail sender guidelines (format per RFC 5322 and MIME); Rspamd R_BAD_CTE_7BIT",
    "dns-spf": f"{GMAIL_2024}: SPF; RFC 7208",
    "dns-dmarc": f"{GMAIL_2024}: a DMARC record for bulk senders; RFC 7489",
    "dns-dkim-key": f"{GMAIL_2024}: DKIM; RFC 6376 section 3.6",
}


class DnsLookupError(SpamscoreError):
    """A DNS lookup failed for another reason than 'no such record' (timeout, SERVFAIL...)."""


@dataclass(frozen=True, slots=True)
class Finding:
    id: str
    status: str          # pass, note, warn or fail
    message: str         # what was found
    fix: str             # one line: what to do ('' when it passes)
    basis: str = ""      # the rule or evidence behind the status

    def to_dict(self) -> dict:
        return {"id": self.id, "status": self.status, "message": self.message, "fix": self.fix,
                "basis": self.basis or BASIS.get(self.id, "")}


@dataclass(slots=True)
class CheckReport:
    path: str | None
    verdict: Verdict
    spammy: list[ExplainedClue]
    hammy: list[ExplainedClue]
    findings: list[Finding]
    subject: str = ""
    from_: str = ""
    body_text: str = ""          # the visible text (plain part, else HTML text), for rendering
    spam_cutoff: float = 0.9
    ham_cutoff: float = 0.2
    unsent: bool = True          # scored as an unsent message (campaign mode)
    bulk: bool = True            # judged as bulk mail (one-click unsubscribe required)

    @property
    def probability(self) -> float:
        return self.verdict.probability

    @property
    def label(self) -> str:
        return self.verdict.label

    @property
    def scoring_note(self) -> str:
        return UNSENT_NOTE if self.unsent else DELIVERED_NOTE

    @property
    def worst(self) -> str:
        return max((f.status for f in self.findings), key=_RANK.__getitem__, default=PASS)

    def counts(self) -> dict[str, int]:
        out = {PASS: 0, NOTE: 0, WARN: 0, FAIL: 0}
        for f in self.findings:
            out[f.status] += 1
        return out

    def finding(self, fid: str) -> Finding | None:
        return next((f for f in self.findings if f.id == fid), None)

    def to_dict(self) -> dict:
        d = {
            "path": self.path,
            "probability": self.verdict.probability,
            "label": self.verdict.label,
            "spam_cutoff": self.spam_cutoff,
            "ham_cutoff": self.ham_cutoff,
            "scored_as": "unsent" if self.unsent else "delivered",
            "scoring_note": self.scoring_note,
            "mail_type": "bulk" if self.bulk else "transactional",
            "subject": self.subject,
            "clues": [c.to_dict() for c in self.spammy] + [c.to_dict() for c in self.hammy],
            "findings": [f.to_dict() for f in self.findings],
            "summary": self.counts(),
        }
        return d


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
    ctx = _Context(pm, analysis)
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


# Words of an unsubscribe or opt-out footer (English, Japanese: 配信停止 "stop delivery",
# 配信解除 "cancel delivery", 購読解除 "cancel subscription", メルマガ "mail magazine").
_OPT_OUT = re.compile(r"unsubscribe|(?<![a-z])opt[ -]?out|email preferences|"
                      r"manage (?:your )?(?:subscription|preferences)|"
                      r"配信停止|配信解除|購読解除|配信を停止|メルマガ|メールマガジン", re.I)


def is_list_post(pm: ParsedMessage) -> bool:
    """Whether the message is a post relayed by mailing-list software (Mailman, Google Groups...).

    RFC 2369's List-Post, Google Groups' Mailing-list header, or a To address
    that is the list itself: an author's post to a discussion or announce
    list, not a sender's campaign.  Gmail's one-click rule binds senders of
    5,000+ messages a day; list software adds it for large lists (Mailman
    3.3.9, Google Groups), so its absence there is a warning, not a failure.
    """
    if pm.get("list-post") is not None or pm.get("mailing-list") is not None:
        return True
    list_id = (pm.get("list-id") or "").lower()
    to = _addr_domain(pm.get("to"))
    m = re.search(r"<([^<>@\s]{1,200})>", list_id)
    if not (m and to):
        return False
    addr = (pm.get("to") or "").lower()
    local = m.group(1).split(".", 1)[0]
    return f"{local}@" in addr


def looks_bulk(pm: ParsedMessage, analysis: Analysis) -> bool:
    """Whether a message is bulk (marketing, newsletter) rather than transactional or personal mail.

    Gmail's one-click rule applies to "marketing and subscribed messages",
    not to receipts or password resets, so ``list-unsubscribe`` and
    ``list-unsubscribe-post`` fail only for bulk mail.  Signs of bulk mail:
    list headers (List-Unsubscribe, List-Id, Precedence: bulk/list), an
    unsubscribe or opt-out footer, or undisclosed recipients.
    """
    if pm.get("list-unsubscribe") is not None or pm.get("list-unsubscribe-post") is not None:
        return True
    if pm.get("list-id") is not None:
        return True
    if (pm.get("precedence") or "").strip().lower() in ("bulk", "list", "junk"):
        return True
    to = (pm.get("to") or "").lower()
    if "undisclosed" in to or (pm.get("to") is None and pm.get("cc") is None):
        return True
    text = analysis.plain_text[:200_000] + "\n" + analysis.html.visible_text[:200_000]
    if _OPT_OUT.search(text):
        return True
    return any(_OPT_OUT.search(t[:200]) or _OPT_OUT.search(h[:300]) for h, t in analysis.html.links[:500])


# ----------------------------------------------------------------------------
# content findings

_SPAMMY_SUBJECT_WORDS = (
    # English: the classic SpamAssassin / mail-tester subject triggers
    "free", "winner", "win", "won", "cash", "prize", "urgent", "act now", "limited time", "guarantee",
    "guaranteed", "viagra", "100%", "$$$", "congratulations", "click here", "buy now", "risk-free",
    "no cost", "earn money", "make money", "double your", "lowest price", "cheap", "casino", "lottery",
    "miracle", "credit card", "no obligation", "order now", "extra income", "weight loss",
    # Japanese: free, urgent, won (a prize), now, limited, high income, side job, can earn, huge discount,
    # encounters (dating), cash, profitable, claim it
    "無料", "緊急", "当選", "今すぐ", "限定", "高収入", "副業", "稼げる", "激安", "出会い", "現金", "儲かる",
    "当選者", "今だけ", "必ず儲",
)
_ASCII_WORD = {w: re.compile(r"(?<![a-z0-9])" + re.escape(w) + r"(?![a-z0-9])") for w in _SPAMMY_SUBJECT_WORDS
               if w.isascii()}
_ANGLE_URI = re.compile(r"<([^<>]{1,2000})>")
_MSGID = re.compile(r"^\s*<[^<>@\s]{1,250}@[^<>@\s]{1,250}>\s*$")
_DKIM_TAG = re.compile(r"\s*([a-z][a-z0-9_]{0,30})\s*=\s*([^;]*)", re.I)

# Gmail clips messages whose HTML is larger than about 102 KB.
GMAIL_CLIP_BYTES = 102 * 1024
MAX_MESSAGE_BYTES = 1024 * 1024
LINKS_WARN, LINKS_FAIL = 50, 100
MIN_TEXT_CHARS = 200          # below this an image message is "image only" (SpamAssassin HTML_IMAGE_ONLY_*)
MIN_CHARS_PER_IMAGE = 100


def _f(fid: str, status: str, message: str, fix: str = "", basis: str = "") -> Finding:
    return Finding(fid, status, message, fix if status != PASS else "", basis or BASIS.get(fid, ""))


def dkim_tags(value: str) -> dict[str, str]:
    """Tags of a DKIM-Signature value (lower-case names, white space removed from values)."""
    out: dict[str, str] = {}
    for piece in value[:8000].split(";"):
        m = _DKIM_TAG.match(piece)
        if m:
            out.setdefault(m.group(1).lower(), re.sub(r"\s+", "", m.group(2)))
    return out


def _addr_domain(value: str | None) -> str:
    return from_domain(value) if value else ""


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
    from_dom = _addr_domain(pm.get("from"))
    sigs = [dkim_tags(v) for v in pm.get_all("dkim-signature")]
    out += _dkim_findings(sigs, from_dom, _addr_domain(pm.get("return-path")))
    out.append(_from_domain(pm, from_dom))
    out.append(_message_id(pm, unsent))
    out.append(_date(pm, now, unsent))
    lu, lup = _unsubscribe(pm, sigs, bulk)
    out += [lu, lup]
    out.append(_text_alternative(pm, analysis))
    out.append(_image_ratio(analysis))
    out += _url_findings(analysis)
    out.append(_subject_style(pm.subject))
    out.append(_size(pm, raw))
    out.append(_charset(raw))
    return out


def _input(raw: bytes) -> Finding:
    """Is this mail at all?  :func:`spamscore.sanity.input_warnings` (empty, no header block, binary...)."""
    warnings = input_warnings(raw)
    if warnings:
        return _f("input", FAIL, "this does not look like an email message: " + "; ".join(warnings[:4]),
                  "check an .eml file exported from your email tool (headers, a blank line, then the body)")
    return _f("input", PASS, "an email message (header block and body)")


def _dkim_findings(sigs: list[dict[str, str]], from_dom: str, rpath_dom: str = "") -> list[Finding]:
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


def _from_domain(pm: ParsedMessage, from_dom: str) -> Finding:
    if not from_dom:
        return _f("from-domain", FAIL, "no From address with a domain", "set a From address in your own domain")
    org = registered_domain(from_dom)
    reply = _addr_domain(pm.get("reply-to"))
    rpath = _addr_domain(pm.get("return-path"))
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


def _message_id(pm: ParsedMessage, unsent: bool = True) -> Finding:
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


def _date(pm: ParsedMessage, now: datetime | None, unsent: bool = True) -> Finding:
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


def _unsubscribe(pm: ParsedMessage, sigs: list[dict[str, str]], bulk: bool = True) -> tuple[Finding, Finding]:
    """List-Unsubscribe and RFC 8058 one-click: failures for bulk mail, notes for transactional mail."""
    value = pm.get("list-unsubscribe")
    post = pm.get("list-unsubscribe-post")
    # transactional mail (receipts, password resets) needs no unsubscribe: Gmail's rule is for bulk mail;
    # a post relayed by list software is held to it only when the list is large
    listpost = bulk and is_list_post(pm)
    missing = WARN if listpost else FAIL if bulk else NOTE
    kind = ("a mailing-list post: Gmail requires one-click of senders of 5,000+ messages a day" if listpost
            else "bulk mail" if bulk else "transactional mail: no list headers or unsubscribe footer")
    if value is None:
        lu = _f("list-unsubscribe", missing, f"no List-Unsubscribe header ({kind})",
                "add List-Unsubscribe: <https://...>, <mailto:...> (Gmail and Yahoo require it of bulk senders)")
        uris: list[str] = []
    else:
        uris = [u.strip() for u in _ANGLE_URI.findall(value)]
        good = [u for u in uris if u.lower().startswith(("https://", "mailto:"))]
        if good:
            lu = _f("list-unsubscribe", PASS, "List-Unsubscribe: " + ", ".join(good)[:200])
        elif any(u.lower().startswith("http://") for u in uris):
            lu = _f("list-unsubscribe", WARN, "List-Unsubscribe has only a plain http:// URI",
                    "give an https:// (and/or mailto:) unsubscribe URI")
        else:
            lu = _f("list-unsubscribe", missing,
                    f"List-Unsubscribe has no https or mailto URI in <...>: {value.strip()[:80]!r}",
                    "write it as <https://example.com/unsub?id=...>, <mailto:unsub@example.com>")
    https = [u for u in uris if u.lower().startswith("https://")]
    if post is None:
        lup = _f("list-unsubscribe-post", missing,
                 f"no List-Unsubscribe-Post header (no one-click unsubscribe; {kind})",
                 "add List-Unsubscribe-Post: List-Unsubscribe=One-Click with an https List-Unsubscribe URI (RFC 8058)")
    elif post.strip() != "List-Unsubscribe=One-Click":
        lup = _f("list-unsubscribe-post", missing, f"List-Unsubscribe-Post is {post.strip()[:60]!r}",
                 "its value must be exactly List-Unsubscribe=One-Click (RFC 8058)")
    elif not https:
        lup = _f("list-unsubscribe-post", missing, "one-click unsubscribe needs an https URI in List-Unsubscribe",
                 "add <https://...> to List-Unsubscribe: RFC 8058 one-click works by POST to that URI")
    else:
        covered = any({"list-unsubscribe", "list-unsubscribe-post"} <=
                      {h.strip().lower() for h in s.get("h", "").split(":")} for s in sigs)
        if not covered:
            # RFC 8058 section 4: both headers MUST be in a valid DKIM signature's h=, and
            # receivers SHOULD NOT offer one-click unsubscribe otherwise.
            lup = _f("list-unsubscribe-post", missing, "one-click unsubscribe present, but no DKIM signature covers "
                     "both List-Unsubscribe and List-Unsubscribe-Post",
                     "include both headers in the DKIM h= list (RFC 8058 section 4)")
        else:
            lup = _f("list-unsubscribe-post", PASS, "one-click unsubscribe (RFC 8058), signed by DKIM")
    return lu, lup


def _text_alternative(pm: ParsedMessage, a: Analysis) -> Finding:
    if not pm.html:
        return _f("text-alternative", PASS, "plain-text message (no HTML)")
    if not a.plain_text.strip():
        # a warning, not a failure: mailbox providers deliver HTML-only newsletters every day
        return _f("text-alternative", WARN, "HTML message without a text/plain part",
                  "send multipart/alternative with a text/plain version of the HTML (read by text-only clients "
                  "and screen readers)")
    return _f("text-alternative", PASS, "HTML message with a text/plain alternative")


def _image_ratio(a: Analysis) -> Finding:
    info = a.html
    if not info.images:
        return _f("image-ratio", PASS, "no images")
    # visible text (alt text counts: a reader without images sees it)
    text_len = len(" ".join(info.visible_text.split()))
    if text_len < MIN_TEXT_CHARS:
        return _f("image-ratio", FAIL, f"{info.images} image(s) and only {text_len} characters of text",
                  "put your message in real text; images should illustrate it, not carry it")
    per = text_len / info.images
    if per < MIN_CHARS_PER_IMAGE:
        return _f("image-ratio", WARN, f"{info.images} images for {text_len} characters of text ({per:.0f} per image)",
                  f"use fewer images or more text (at least {MIN_CHARS_PER_IMAGE} characters per image)")
    return _f("image-ratio", PASS, f"{info.images} image(s), {text_len} characters of text")


def _link_verdict(href: str, text: str) -> tuple[str, str] | None:
    """('fail'|'tracking', what was found) for one link whose text names another domain, else None.

    A link through an ESP's tracking host (:mod:`spamscore.features.esp`) is tracking,
    unless it carries its destination in clear and that names another domain
    than the text (a phisher on a real ESP).
    """
    mm = link_mismatch(href, text)
    if not mm:
        return None
    real = parse_url(href)
    host = real.host if real else mm[1]
    esp = esp_for_host(host) if real else None
    if esp is None:
        return FAIL, f"link text shows {mm[0]} but the link goes to {host}"
    dest = embedded_destination(href)
    if dest is not None:
        mm2 = link_mismatch(dest, text)
        if mm2:
            d = parse_url(dest)
            return FAIL, (f"link text shows {mm2[0]} but the link goes through {esp} tracking to "
                          f"{d.host if d else mm2[1]}")
    return "tracking", f"{esp} click tracking ({host})"


def _url_findings(a: Analysis) -> list[Finding]:
    infos = [(u, parse_url(u)) for u in a.urls]
    infos = [(u, i) for u, i in infos if i is not None]
    short = sorted({i.host for _, i in infos if i.shortener})
    ips = sorted({i.host for _, i in infos if i.ip_host})
    out = []
    if short:
        out.append(_f("url-shortener", WARN, "links through URL shorteners: " + ", ".join(short[:5]),
                      "link to your own domain directly; shorteners are shared with spammers"))
    else:
        out.append(_f("url-shortener", PASS, "no URL shorteners"))
    if ips:
        out.append(_f("ip-url", FAIL, "links to bare IP addresses: " + ", ".join(ips[:5]),
                      "link to a domain name, never to an IP address"))
    else:
        out.append(_f("ip-url", PASS, "no links to IP addresses"))
    mismatches: list[str] = []
    tracked: list[str] = []
    for href, text in a.html.links:
        scheme = href.strip().split(":", 1)[0].lower() if ":" in href else ""
        if scheme in ("javascript", "vbscript", "data"):
            shown = f"'{text[:40]}'" if text else "a link"
            mismatches.append(f"{shown} is a {scheme}: link, not a web address")
            continue
        verdict = _link_verdict(href, text)
        if verdict is None:
            continue
        if verdict[0] == FAIL:
            mismatches.append(verdict[1])
        elif verdict[1] not in tracked:
            tracked.append(verdict[1])
    if mismatches:
        out.append(_f("link-mismatch", FAIL, "; ".join(mismatches[:3]),
                      "make the visible link text name the domain the link really goes to (or not a domain at all)"))
    elif tracked:
        out.append(_f("link-mismatch", NOTE,
                      "link texts name your domain, the links go through " + "; ".join(tracked[:3]),
                      "fine as it is; a branded tracking domain (links.your-domain) keeps the names consistent"))
    else:
        out.append(_f("link-mismatch", PASS, "link texts match where the links go"))
    n_links = len({u for u, _ in infos if u not in set(a.html.srcs)})
    if n_links > LINKS_FAIL:
        out.append(_f("link-count", WARN, f"{n_links} links", f"keep a campaign under {LINKS_WARN} links"))
    elif n_links > LINKS_WARN:
        out.append(_f("link-count", NOTE, f"{n_links} links", f"keep a campaign under {LINKS_WARN} links"))
    else:
        out.append(_f("link-count", PASS, f"{n_links} link(s)"))
    return out


def spammy_subject_words(subject: str) -> list[str]:
    s = unicodedata.normalize("NFKC", subject).lower()
    found = []
    for w in _SPAMMY_SUBJECT_WORDS:
        if w.isascii():
            if _ASCII_WORD[w].search(s):
                found.append(w)
        elif w in s:
            found.append(w)
    return found


def _subject_style(subject: str) -> Finding:
    s = subject.strip()
    if not s:
        return _f("subject-style", WARN, "empty subject", "write a subject that says what the message is about",
                  "SpamAssassin EMPTY_SUBJECT / MISSING_SUBJECT (small scores)")
    letters = [c for c in s if c.isalpha() and c.lower() != c.upper()]
    problems, fixes = [], []
    if len(letters) >= 8 and sum(c.isupper() for c in letters) / len(letters) > 0.8:
        problems.append("written in capitals")
        fixes.append("write it in sentence case")
    norm = unicodedata.normalize("NFKC", s)
    if "!!" in norm or norm.count("!") >= 3:
        problems.append("repeated '!'")
        fixes.append("use at most one '!'")
    if problems:
        return _f("subject-style", WARN, "subject " + " and ".join(problems) + f": {s[:80]!r}", "; ".join(fixes))
    words = spammy_subject_words(s)
    if words:
        return _f("subject-style", NOTE, "spam-trigger words in the subject: " + ", ".join(words[:6]),
                  "say what the message offers in your own words instead",
                  "heuristic: trigger-word lists (mail-tester, SpamAssassin); the model's clues say what they weigh")
    if len(s) > 150:
        return _f("subject-style", NOTE, f"subject is {len(s)} characters long", "keep the subject under 80 characters",
                  "heuristic: clients cut subjects at about 60-80 characters")
    return _f("subject-style", PASS, f"subject {s[:80]!r}")


def _size(pm: ParsedMessage, raw: bytes) -> Finding:
    html_bytes = sum(len(h.encode("utf-8", "replace")) for h in pm.html)
    if len(raw) > MAX_MESSAGE_BYTES:
        return _f("size", WARN, f"message is {len(raw) // 1024} KiB",
                  f"keep campaign mail under {MAX_MESSAGE_BYTES // 1024} KiB: link to files instead of attaching them")
    if html_bytes > GMAIL_CLIP_BYTES:
        return _f("size", WARN, f"HTML is {html_bytes // 1024} KiB: Gmail clips messages over 102 KiB",
                  "trim the HTML (inline CSS, comments, repeated blocks) under 102 KiB")
    return _f("size", PASS, f"message is {len(raw) / 1024:.1f} KiB")


# strict codecs for the check: what the label says, not the lenient reading the parser uses
_STRICT = {"us-ascii": "ascii", "ascii": "ascii", "iso-2022-jp": "iso2022_jp", "csiso2022jp": "iso2022_jp",
           "iso-2022-jp-1": "iso2022_jp_1", "iso-2022-jp-2": "iso2022_jp_2", "iso-2022-jp-3": "iso2022_jp_3",
           "shift_jis": "cp932", "shift-jis": "cp932", "windows-31j": "cp932", "utf8": "utf-8"}
_ESC_JIS = re.compile(rb"\x1b\$[@B]|\x1b\([BJ]")


def _strict_codec(label: str) -> str | None:
    label = label.strip().strip("\"'").lower()
    if label in _STRICT:
        return _STRICT[label]
    import codecs

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


def _charset(raw: bytes) -> Finding:
    """Declared charsets are known and the bytes of every text part decode strictly with them."""
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


# ----------------------------------------------------------------------------
# DNS findings

def dns_txt_resolver(nameservers: list[str] | None = None, port: int = 53, timeout: float = 5.0
                     ) -> Callable[[str], list[str]]:
    """A ``txt(name) -> list[str]`` lookup on dnspython.

    Returns ``[]`` when the name or the TXT record does not exist; raises
    :class:`DnsLookupError` on timeouts and server failures.  ``nameservers``
    and ``port`` default to the system's resolver configuration.
    """
    try:
        import dns.exception
        import dns.resolver
    except ImportError as exc:  # pragma: no cover - dnspython is a dependency
        raise DnsLookupError("DNS checks need dnspython (pip install dnspython)") from exc
    res = dns.resolver.Resolver(configure=nameservers is None)
    if nameservers is not None:
        res.nameservers = list(nameservers)
    res.port = port
    res.timeout = res.lifetime = timeout

    def txt(name: str) -> list[str]:
        try:
            answer = res.resolve(name, "TXT")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except (dns.exception.DNSException, OSError) as exc:
            raise DnsLookupError(f"{name}: {type(exc).__name__}: {exc}") from None
        return [b"".join(r.strings).decode("utf-8", "replace") for r in answer]

    return txt


_SPF_MECH = re.compile(r"^[+\-~?]?(all|include:\S+|a(:\S+)?(/\d+)?|mx(:\S+)?(/\d+)?|ptr(:\S+)?|"
                       r"ip4:[0-9./]+|ip6:[0-9a-f:./]+|exists:\S+)$", re.I)
_SPF_MOD = re.compile(r"^(redirect|exp)=\S+$|^[a-z][a-z0-9_.-]*=\S*$", re.I)


def _lookup(resolver, name: str) -> tuple[list[str] | None, str]:
    try:
        return list(resolver(name)), ""
    except DnsLookupError as exc:
        return None, str(exc)


def dns_findings(pm: ParsedMessage, resolver: Callable[[str], list[str]]) -> list[Finding]:
    """SPF, DMARC and DKIM key records of the From (and DKIM) domain, through ``resolver``."""
    dom = _addr_domain(pm.get("from"))
    if not dom:
        why = "no From domain to look up"
        return [_f(i, FAIL, why, "set a From address in your own domain") for i in DNS_FINDING_IDS]
    return [_dns_spf(dom, resolver), _dns_dmarc(dom, resolver),
            _dns_dkim(dom, [dkim_tags(v) for v in pm.get_all("dkim-signature")], resolver)]


def _dns_spf(dom: str, resolver) -> Finding:
    txts, err = _lookup(resolver, dom)
    if txts is None:
        return _f("dns-spf", WARN, f"SPF lookup failed ({err})", "check again; make sure your DNS answers")
    spf = [t for t in txts if t.lower().startswith("v=spf1") and (len(t) == 6 or t[6] == " ")]
    if not spf:
        return _f("dns-spf", FAIL, f"no SPF record (TXT v=spf1) at {dom}",
                  f"publish TXT \"v=spf1 include:<your ESP> ~all\" at {dom}")
    if len(spf) > 1:
        return _f("dns-spf", FAIL, f"{len(spf)} SPF records at {dom} (RFC 7208: permerror)",
                  "merge them into one v=spf1 record")
    terms = spf[0].split()[1:]
    bad = [t for t in terms if not (_SPF_MECH.match(t) or _SPF_MOD.match(t))]
    if bad:
        return _f("dns-spf", FAIL, f"invalid SPF term(s) {', '.join(bad[:3])} in {spf[0][:120]!r}",
                  "fix the record's syntax (RFC 7208)")
    if any(t.lower() in ("+all", "all") for t in terms):
        return _f("dns-spf", FAIL, f"SPF record allows every sender (+all): {spf[0][:120]!r}",
                  "end the record with ~all or -all")
    if not any(t.lower().lstrip("+-~?") == "all" or t.lower().startswith("redirect=") for t in terms):
        return _f("dns-spf", WARN, f"SPF record has no 'all' term: {spf[0][:120]!r}", "end the record with ~all or -all")
    return _f("dns-spf", PASS, f"SPF: {spf[0][:160]}")


def _dmarc_tags(rec: str) -> dict[str, str]:
    out = {}
    for piece in rec.split(";"):
        k, sep, v = piece.partition("=")
        if sep:
            out.setdefault(k.strip().lower(), v.strip())
    return out


def _dns_dmarc(dom: str, resolver) -> Finding:
    names = [f"_dmarc.{dom}"]
    org = registered_domain(dom)
    if org != dom:
        names.append(f"_dmarc.{org}")
    for name in names:
        txts, err = _lookup(resolver, name)
        if txts is None:
            return _f("dns-dmarc", WARN, f"DMARC lookup failed ({err})", "check again; make sure your DNS answers")
        recs = [t for t in txts if t.replace(" ", "").lower().startswith("v=dmarc1")]
        if not recs:
            continue
        if len(recs) > 1:
            return _f("dns-dmarc", FAIL, f"{len(recs)} DMARC records at {name}", "publish exactly one")
        tags = _dmarc_tags(recs[0])
        p = tags.get("p", "").lower()
        if p not in ("none", "quarantine", "reject"):
            return _f("dns-dmarc", FAIL, f"DMARC record at {name} has no valid policy p=: {recs[0][:120]!r}",
                      "add p=none, p=quarantine or p=reject")
        if p == "none":
            # Gmail and Yahoo (2024) ask bulk senders for a DMARC record; p=none satisfies them
            return _f("dns-dmarc", NOTE, f"DMARC policy p=none at {name} (monitoring only: enough for Gmail and "
                      "Yahoo)", "once reports show your mail aligns, move to p=quarantine or p=reject")
        return _f("dns-dmarc", PASS, f"DMARC policy p={p} at {name}")
    return _f("dns-dmarc", FAIL, f"no DMARC record at _dmarc.{dom}",
              f"publish TXT \"v=DMARC1; p=none; rua=mailto:dmarc@{org}\" at _dmarc.{org} (Gmail and Yahoo require one)")


def _dns_dkim(dom: str, sigs: list[dict[str, str]], resolver) -> Finding:
    sigs = [s for s in sigs if s.get("s") and s.get("d")]
    if not sigs:
        return _f("dns-dkim-key", FAIL, "no DKIM signature with a selector to look up",
                  "sign with DKIM and publish the key at <selector>._domainkey.<domain>")
    problems = []
    for s in sigs[:5]:
        name = f"{s['s']}._domainkey.{s['d'].strip('.')}"
        txts, err = _lookup(resolver, name)
        if txts is None:
            return _f("dns-dkim-key", WARN, f"DKIM key lookup failed ({err})", "check again; make sure your DNS answers")
        keys = [_dmarc_tags(t) for t in txts if "p=" in t.replace(" ", "")]
        if not keys:
            problems.append(f"no DKIM key at {name}")
            continue
        if not keys[0].get("p", "").replace(" ", ""):
            problems.append(f"the DKIM key at {name} is revoked (empty p=)")
            continue
        return _f("dns-dkim-key", PASS, f"DKIM key published at {name}")
    return _f("dns-dkim-key", FAIL, "; ".join(problems),
              "publish the public key your ESP gives you as TXT at <selector>._domainkey.<domain>")


# ----------------------------------------------------------------------------
# text output

def report_text(rep: CheckReport) -> str:
    """A report for a terminal: verdict, clues, then findings (failures first)."""
    c = rep.counts()
    lines = [f"{rep.path or 'message'}: {rep.label.upper()}  P(spam) {rep.probability:.4f}  "
             f"(spam from {rep.spam_cutoff:.3f}, ham below {rep.ham_cutoff:.3f})",
             f"  {rep.scoring_note}"]
    if rep.subject:
        lines.append(f"  Subject: {rep.subject[:120]}")
    for title, clues in (("spammy clues", rep.spammy), ("hammy clues", rep.hammy)):
        if clues:
            lines.append(f"  {title}:")
            lines += [f"    {cl.weight:+6.2f}  {cl.text}  [{cl.where}]" for cl in clues]
    lines.append(f"  findings: {c[FAIL]} fail, {c[WARN]} warn, {c[NOTE]} note, {c[PASS]} pass"
                 f"  (judged as {'bulk' if rep.bulk else 'transactional'} mail)")
    for f in sorted(rep.findings, key=lambda f: -_RANK[f.status]):
        lines.append(f"    {f.status.upper():4}  {f.id:22} {f.message}")
        if f.fix:
            lines.append(f"          {'':22} fix: {f.fix}")
        if f.status in (FAIL, WARN) and f.basis:
            lines.append(f"          {'':22} why: {f.basis}")
    return "\n".join(lines)


def summary_text(reports: list[CheckReport]) -> str:
    """A table of several reports: verdict, probability, failed and warned findings."""
    width = min(max((len(r.path or "") for r in reports), default=7), 60)
    head = f"{'message':{width}}  {'verdict':7}  {'P(spam)':>7}  {'fail':>4}  {'warn':>4}  failed checks"
    lines = [head, "-" * len(head)]
    for r in reports:
        c = r.counts()
        failed = ",".join(f.id for f in r.findings if f.status == FAIL)
        path = (r.path or "")[-width:]
        lines.append(f"{path:{width}}  {r.label:7}  {r.probability:7.4f}  {c[FAIL]:4}  {c[WARN]:4}  {failed}")
    return "\n".join(lines)
