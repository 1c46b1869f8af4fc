"""Pre-send checks for campaign senders: the score, its clues in words, and findings.

``check_message(raw, model)`` returns a :class:`CheckReport`: the model's
verdict (probability and label, from :meth:`Model.score_features`), the
spammiest and hammiest clues explained in words a marketer understands and
located in the message ("the subject word FREE", "a link to bit.ly"), and a
list of :class:`Finding` (``pass`` / ``warn`` / ``fail`` with a one-line fix)
with stable ids, modelled on what mailbox providers ask of bulk senders:

* Gmail's and Yahoo's bulk-sender requirements (February 2024): SPF and DKIM,
  a DMARC record, From aligned with the DKIM or SPF domain, and one-click
  unsubscribe (RFC 8058: ``List-Unsubscribe`` with an HTTPS URI plus
  ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``, both covered by the
  DKIM signature);
* the content heuristics every spam filter has (SpamAssassin's
  HTML_IMAGE_RATIO, shorteners, IP-literal links, link text naming another
  domain, shouting subjects, mislabelled charsets).

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
from functools import lru_cache

from .errors import SpamscoreError
from .features import Analysis, analyze
from .features.auth import from_domain
from .features.urls import link_mismatch, parse_url, registered_domain
from .message import ParsedMessage, decode_transfer, parse
from .scoring import Model, Verdict

__all__ = [
    "PASS", "WARN", "FAIL", "Finding", "ExplainedClue", "CheckReport", "check_message",
    "content_findings", "dns_findings", "explain_clue", "dns_txt_resolver", "DnsLookupError",
    "FINDING_IDS", "DNS_FINDING_IDS",
]

PASS, WARN, FAIL = "pass", "warn", "fail"
_RANK = {PASS: 0, WARN: 1, FAIL: 2}

FINDING_IDS = (
    "dkim-signature", "dkim-alignment", "from-domain", "message-id", "date", "list-unsubscribe",
    "list-unsubscribe-post", "text-alternative", "image-ratio", "url-shortener", "ip-url", "link-mismatch",
    "link-count", "subject-style", "size", "charset",
)
DNS_FINDING_IDS = ("dns-spf", "dns-dmarc", "dns-dkim-key")


class DnsLookupError(SpamscoreError):
    """A DNS lookup failed for another reason than 'no such record' (timeout, SERVFAIL...)."""


@dataclass(frozen=True, slots=True)
class Finding:
    id: str
    status: str          # pass, warn or fail
    message: str         # what was found
    fix: str             # one line: what to do ('' when it passes)

    def to_dict(self) -> dict:
        return {"id": self.id, "status": self.status, "message": self.message, "fix": self.fix}


@dataclass(frozen=True, slots=True)
class ExplainedClue:
    feature: str
    weight: float        # log-odds, > 0 spammy
    text: str            # the clue in words
    where: str           # subject, body, header, link, html, message
    terms: tuple[str, ...] = ()   # words to highlight in the rendered message

    def to_dict(self) -> dict:
        return {"feature": self.feature, "weight": round(self.weight, 4), "explanation": self.text,
                "where": self.where}


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

    @property
    def probability(self) -> float:
        return self.verdict.probability

    @property
    def label(self) -> str:
        return self.verdict.label

    @property
    def worst(self) -> str:
        return max((f.status for f in self.findings), key=_RANK.__getitem__, default=PASS)

    def counts(self) -> dict[str, int]:
        out = {PASS: 0, WARN: 0, FAIL: 0}
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
                  now: datetime | None = None) -> CheckReport:
    """Score ``raw`` and check it as a campaign message.

    ``resolver`` (a ``txt(name) -> list[str]`` callable) adds the DNS findings;
    ``now`` (for tests) is the clock the Date check compares against.
    """
    if not isinstance(raw, (bytes, bytearray, memoryview)):
        raise TypeError(f"expected the raw message as bytes, got {type(raw).__name__}")
    raw = bytes(raw)
    pm = parse(raw, model.limits)
    analysis = analyze(pm, model.options)
    from .features import extract

    feats = extract(pm, model.options, analysis)
    verdict, toks, weights = model.explain(feats)  # one clue lookup for the verdict and the explanations
    pairs = sorted(zip(toks, weights.tolist()), key=lambda tw: (-abs(tw[1]), tw[0]))  # ties: stable order
    ctx = _Context(pm, analysis)
    spammy = [explain_clue(t, w, ctx) for t, w in [tw for tw in pairs if tw[1] > 0][:n_clues]]
    hammy = [explain_clue(t, w, ctx) for t, w in [tw for tw in pairs if tw[1] < 0][:n_clues]]
    findings = content_findings(raw, pm, analysis, now=now)
    if resolver is not None:
        findings += dns_findings(pm, resolver)
    body = _tidy(analysis.plain_text) or _tidy(analysis.html.visible_text, strip_lines=True)
    return CheckReport(path, verdict, spammy, hammy, findings, subject=pm.subject, from_=pm.get("from", "") or "",
                       body_text=body[:100_000], spam_cutoff=model.spam_cutoff, ham_cutoff=model.ham_cutoff)


def _tidy(text: str, strip_lines: bool = False) -> str:
    """Text for display: no runs of blank lines (HTML text also loses its indentation)."""
    if strip_lines:
        text = "\n".join(line.strip() for line in text.splitlines())
    return re.sub(r"\n[ \t]*(?:\n[ \t]*)+\n", "\n\n", text).strip()


# ----------------------------------------------------------------------------
# clue explanations

class _Context:
    """What explaining a clue needs to look things up in the message."""

    def __init__(self, pm: ParsedMessage, analysis: Analysis):
        self.pm = pm
        self.analysis = analysis
        self.subject = pm.subject
        self.subject_n = unicodedata.normalize("NFKC", self.subject).lower()
        self.plain = unicodedata.normalize("NFKC", analysis.plain_text).lower()
        self.html_text = unicodedata.normalize("NFKC", analysis.html.visible_text).lower()
        self._urls = None

    def urls(self):
        if self._urls is None:
            self._urls = [u for u in (parse_url(x) for x in self.analysis.urls) if u is not None]
        return self._urls

    def original_case(self, word: str, text: str) -> str:
        """``word`` as written in ``text`` (e.g. FREE for subject:free)."""
        if not text.isascii():
            text = unicodedata.normalize("NFKC", text)
        m = _word_re(word, re.I).search(text)
        return m.group(0) if m else word


_HDR_NAMES = {"from": "From", "to": "To", "cc": "Cc", "reply-to": "Reply-To", "return-path": "Return-Path",
              "sender": "Sender", "errors-to": "Errors-To", "x-mailer": "X-Mailer", "user-agent": "User-Agent",
              "content-type": "Content-Type", "list-id": "List-Id", "message-id": "Message-ID",
              "mime-version": "MIME-Version", "x-priority": "X-Priority", "precedence": "Precedence",
              "organization": "Organization", "content-transfer-encoding": "Content-Transfer-Encoding",
              "x-originating-ip": "X-Originating-IP", "x-msmail-priority": "X-MSMail-Priority",
              "x-mimeole": "X-MimeOLE"}

_HTML_TEXT = {
    "html:image-only": "little text for its images (an image-only message)",
    "html:no-text-alternative": "an HTML message without a plain-text version",
    "html:form": "a form in the message",
    "html:script": "a script in the HTML",
    "html:iframe": "an iframe in the HTML",
    "html:yes": "an HTML body",
}
_URL_TEXT = {
    "url:ip-host": "a link to a bare IP address",
    "url:port": "a link to an unusual port",
    "url:userinfo": "a link with a user@ part (hides the real host)",
    "url:idn": "a link to an internationalised (punycode) domain",
}


def _hname(name: str) -> str:
    return _HDR_NAMES.get(name, "-".join(p.capitalize() for p in name.split("-")))


def _bucket_range(b: str) -> str:
    if b.startswith("2**"):
        try:
            k = int(b[3:])
        except ValueError:
            return b
        return str(2 ** k) if k == 0 else f"{2 ** k}-{2 ** (k + 1) - 1}"
    return b


def explain_clue(feature: str, weight: float, ctx: _Context) -> ExplainedClue:
    """One clue in words, located in the message."""
    text, where, terms = _explain(feature, ctx)
    return ExplainedClue(feature, weight, text, where, terms)


def _explain(f: str, ctx: _Context) -> tuple[str, str, tuple[str, ...]]:
    a = ctx.analysis
    prefix, sep, rest = f.partition(":")
    if not sep or (not prefix.isascii()):
        return _explain_word(f, ctx)
    if prefix == "subject":
        if rest == "ALLCAPS":
            return "the subject is written in capitals", "subject", ()
        if rest == "!!":
            return "'!!' in the subject", "subject", ("!!",)
        if rest == "empty":
            return "an empty subject", "subject", ()
        if rest.startswith("skip:"):
            return f"a very long word in the subject starting with '{rest[5:6]}'", "subject", ()
        shown = ctx.original_case(rest, ctx.subject)
        return f"the subject word {shown}", "subject", (rest,)
    if prefix == "skip":
        first, _, n = rest.partition(" ")
        return f"a very long word ({n}+ characters) starting with '{first}' in the body", "body", ()
    if prefix == "url":
        if rest == "shortener":
            short = [u.host for u in ctx.urls() if u.shortener]
            return (f"a link through a URL shortener ({short[0]})" if short else "a link through a URL shortener"), "link", ()
        if rest == "text-mismatch":
            for href, txt in a.html.links:
                mm = link_mismatch(href, txt)
                if mm:
                    real = parse_url(href)
                    return (f"link text shows {mm[0]} but the link goes to {real.host if real else mm[1]}",
                            "link", ())
            return "link text shows one domain but the link goes to another", "link", ()
        if f in _URL_TEXT:
            if f == "url:ip-host":
                ips = [u.host for u in ctx.urls() if u.ip_host]
                if ips:
                    return f"a link to a bare IP address ({ips[0]})", "link", ()
            return _URL_TEXT[f], "link", ()
        if rest.startswith("count:"):
            return f"the number of links ({_bucket_range(rest[6:])})", "link", ()
        if rest.startswith("domains:"):
            return f"the number of linked domains ({_bucket_range(rest[8:])})", "link", ()
        return f"a link to {rest}", "link", (rest,)
    if prefix == "url-host":
        return f"a link to {rest}", "link", (rest,)
    if prefix == "url-path":
        return f"'{rest}' in a link's address", "link", ()
    if prefix == "proto":
        return (f"{rest} links" if rest != "http" else "plain http (not https) links"), "link", ()
    if prefix == "html":
        if f in _HTML_TEXT:
            return _HTML_TEXT[f], "html", ()
        kind, _, b = rest.partition(":")
        words = {"text-len": "visible HTML text length", "images": "number of images",
                 "image-area": "total image area (pixels)", "chars-per-image": "characters of text per image",
                 "hidden-text": "hidden text (characters)"}
        if kind in words:
            return f"{words[kind]}: {_bucket_range(b)}", "html", ()
        return f"HTML: {rest}", "html", ()
    if prefix == "hdr":
        if rest.startswith("received-count:"):
            return f"{rest.split(':', 1)[1]} Received headers (relays)", "header", ()
        return f"a {_hname(rest)} header", "header", ()
    if prefix == "received":
        if rest.startswith("ip:"):
            return f"relayed through addresses {rest[3:]}.*", "header", ()
        return f"relayed through {rest}", "header", ()
    if prefix == "message-id":
        if rest == "invalid":
            return "a malformed Message-ID", "header", ()
        return f"a Message-ID made at {rest}", "header", ()
    if prefix in ("auth", "spf-hdr", "dkim"):
        return _explain_auth(prefix, rest), "header", ()
    if prefix == "part":
        return f"a {rest} part", "message", ()
    if prefix == "charset":
        return f"text in the {rest} character set", "message", ()
    if prefix == "attach":
        if rest.startswith("ext:"):
            return f"a .{rest[4:]} attachment", "message", ()
        if rest.startswith("size:"):
            return f"an attachment of {_bucket_range(rest[5:])} bytes", "message", ()
        return f"a {rest} attachment", "message", ()
    if prefix == "defect":
        return f"a formatting defect ({rest})", "message", ()
    if prefix == "msg":
        if rest.startswith("size:"):
            return f"message size {_bucket_range(rest[5:])} bytes", "message", ()
        if rest == "truncated":
            return "a very large message (only the start was read)", "message", ()
    # header-derived tokens: name:domain:x, name:user:x, name:name:w, name:word
    hname, sep2, rest2 = rest.partition(":")
    if prefix in _HDR_NAMES or prefix.startswith("x-"):
        label = _hname(prefix)
        if hname == "domain" and sep2:
            return f"the {label} address domain {rest2}", "header", ()
        if hname == "user" and sep2:
            return f"the {label} address user '{rest2}'", "header", ()
        if hname == "name" and sep2:
            return f"the word '{rest2}' in the {label} name", "header", (rest2,)
        if rest in ("empty", "no-domain"):
            return f"an {label} header without an address", "header", ()
        value = ctx.pm.get(prefix, "") or ""
        return f"the word '{ctx.original_case(rest, value)}' in the {label} header", "header", ()
    return _explain_word(f, ctx)


def _explain_auth(prefix: str, rest: str) -> str:
    if prefix == "dkim":
        if rest == "signed":
            return "a DKIM signature"
        if rest.startswith("d="):
            return f"a DKIM signature by {rest[2:]}"
        return "a DKIM signature " + ("aligned with the From domain" if rest == "aligned" else "by another domain than From")
    if prefix == "spf-hdr":
        return f"SPF result {rest} (Received-SPF)"
    if rest == "ar-untrusted":
        return "an Authentication-Results header from an untrusted server"
    return "authentication result " + rest.replace(":", ", ")


def _explain_word(word: str, ctx: _Context) -> tuple[str, str, tuple[str, ...]]:
    places = []
    if _contains(ctx.plain, word) or _contains(ctx.html_text, word):
        places.append("body")
    if _contains(ctx.subject_n, word):
        places.append("subject")
    if not places:
        for name, value in ctx.pm.headers:
            if _contains(unicodedata.normalize("NFKC", value).lower(), word):
                places.append("header " + _hname(name))
                header_value = value
                break
    where = places[0] if places else "body"
    shown = word
    if where == "body":
        src = ctx.analysis.plain_text if _contains(ctx.plain, word) else ctx.analysis.html.visible_text
        shown = ctx.original_case(word, src)
    if places and places[0].startswith("header "):
        shown = ctx.original_case(word, header_value)
        return f"the word '{shown}' in the {places[0][7:]} header", "header", (word,)
    also = " and the subject" if len(places) > 1 and "subject" in places and where == "body" else ""
    return f"the word '{shown}' in the {where}{also}", where, (word,)


@lru_cache(maxsize=4096)
def _word_re(word: str, flags: int = 0) -> re.Pattern:
    return re.compile(r"(?<!\w)" + re.escape(word) + r"(?!\w)", flags)


def _contains(text: str, word: str) -> bool:
    if not word or word not in text:
        return False
    if not word.isascii():
        return True
    return _word_re(word).search(text) is not None


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


def _f(fid: str, status: str, message: str, fix: str = "") -> Finding:
    return Finding(fid, status, message, fix if status != PASS else "")


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


def content_findings(raw: bytes, pm: ParsedMessage, analysis: Analysis, *, now: datetime | None = None) -> list[Finding]:
    """Every offline finding, in the order of :data:`FINDING_IDS`."""
    out: list[Finding] = []
    from_dom = _addr_domain(pm.get("from"))
    sigs = [dkim_tags(v) for v in pm.get_all("dkim-signature")]
    out += _dkim_findings(sigs, from_dom)
    out.append(_from_domain(pm, from_dom))
    out.append(_message_id(pm))
    out.append(_date(pm, now))
    lu, lup = _unsubscribe(pm, sigs)
    out += [lu, lup]
    out.append(_text_alternative(pm, analysis))
    out.append(_image_ratio(analysis))
    out += _url_findings(analysis)
    out.append(_subject_style(pm.subject))
    out.append(_size(pm, raw))
    out.append(_charset(raw))
    return out


def _dkim_findings(sigs: list[dict[str, str]], from_dom: str) -> list[Finding]:
    if not sigs:
        return [
            _f("dkim-signature", FAIL, "no DKIM-Signature header",
               "sign outgoing mail with DKIM (Gmail and Yahoo require it of bulk senders)"),
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
        return _f("from-domain", FAIL, f"Reply-To domain {reply} differs from From domain {from_dom}",
                  f"use a Reply-To address in {org}, or drop Reply-To")
    if rpath and registered_domain(rpath) != org:
        return _f("from-domain", WARN, f"Return-Path domain {rpath} differs from From domain {from_dom} (no SPF alignment)",
                  f"use a bounce domain under {org} (custom Return-Path at your ESP)")
    parts = [f"From {from_dom}"] + ([f"Reply-To {reply}"] if reply else []) + ([f"Return-Path {rpath}"] if rpath else [])
    return _f("from-domain", PASS, ", ".join(parts) + " agree")


def _message_id(pm: ParsedMessage) -> Finding:
    mid = pm.get("message-id")
    if mid is None:
        return _f("message-id", FAIL, "no Message-ID header", "let your mail server add a Message-ID <unique@your.domain>")
    if not _MSGID.match(mid):
        return _f("message-id", FAIL, f"malformed Message-ID {mid.strip()[:80]!r}",
                  "use the form <unique-part@your.domain>")
    return _f("message-id", PASS, f"Message-ID {mid.strip()[:80]}")


def _date(pm: ParsedMessage, now: datetime | None) -> Finding:
    value = pm.get("date")
    if value is None:
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


def _unsubscribe(pm: ParsedMessage, sigs: list[dict[str, str]]) -> tuple[Finding, Finding]:
    value = pm.get("list-unsubscribe")
    post = pm.get("list-unsubscribe-post")
    if value is None:
        lu = _f("list-unsubscribe", FAIL, "no List-Unsubscribe header",
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
            lu = _f("list-unsubscribe", FAIL, f"List-Unsubscribe has no https or mailto URI in <...>: {value.strip()[:80]!r}",
                    "write it as <https://example.com/unsub?id=...>, <mailto:unsub@example.com>")
    https = [u for u in uris if u.lower().startswith("https://")]
    if post is None:
        lup = _f("list-unsubscribe-post", FAIL, "no List-Unsubscribe-Post header (no one-click unsubscribe)",
                 "add List-Unsubscribe-Post: List-Unsubscribe=One-Click with an https List-Unsubscribe URI (RFC 8058)")
    elif post.strip() != "List-Unsubscribe=One-Click":
        lup = _f("list-unsubscribe-post", FAIL, f"List-Unsubscribe-Post is {post.strip()[:60]!r}",
                 "its value must be exactly List-Unsubscribe=One-Click (RFC 8058)")
    elif not https:
        lup = _f("list-unsubscribe-post", FAIL, "one-click unsubscribe needs an https URI in List-Unsubscribe",
                 "add <https://...> to List-Unsubscribe: RFC 8058 one-click works by POST to that URI")
    else:
        covered = any({"list-unsubscribe", "list-unsubscribe-post"} <=
                      {h.strip().lower() for h in s.get("h", "").split(":")} for s in sigs)
        if not covered:
            # RFC 8058 section 4: both headers MUST be in a valid DKIM signature's h=, and
            # receivers SHOULD NOT offer one-click unsubscribe otherwise.
            lup = _f("list-unsubscribe-post", FAIL, "one-click unsubscribe present, but no DKIM signature covers "
                     "both List-Unsubscribe and List-Unsubscribe-Post",
                     "include both headers in the DKIM h= list (RFC 8058 section 4)")
        else:
            lup = _f("list-unsubscribe-post", PASS, "one-click unsubscribe (RFC 8058), signed by DKIM")
    return lu, lup


def _text_alternative(pm: ParsedMessage, a: Analysis) -> Finding:
    if not pm.html:
        return _f("text-alternative", PASS, "plain-text message (no HTML)")
    if not a.plain_text.strip():
        return _f("text-alternative", FAIL, "HTML message without a text/plain part",
                  "send multipart/alternative with a text/plain version of the HTML")
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


def _url_findings(a: Analysis) -> list[Finding]:
    infos = [(u, parse_url(u)) for u in a.urls]
    infos = [(u, i) for u, i in infos if i is not None]
    short = sorted({i.host for _, i in infos if i.shortener})
    ips = sorted({i.host for _, i in infos if i.ip_host})
    out = []
    if short:
        out.append(_f("url-shortener", FAIL, "links through URL shorteners: " + ", ".join(short[:5]),
                      "link to your own domain directly; shorteners are shared with spammers"))
    else:
        out.append(_f("url-shortener", PASS, "no URL shorteners"))
    if ips:
        out.append(_f("ip-url", FAIL, "links to bare IP addresses: " + ", ".join(ips[:5]),
                      "link to a domain name, never to an IP address"))
    else:
        out.append(_f("ip-url", PASS, "no links to IP addresses"))
    mismatches = []
    for href, text in a.html.links:
        scheme = href.strip().split(":", 1)[0].lower() if ":" in href else ""
        if scheme in ("javascript", "vbscript", "data"):
            shown = f"'{text[:40]}'" if text else "a link"
            mismatches.append(f"{shown} is a {scheme}: link, not a web address")
            continue
        mm = link_mismatch(href, text)
        if mm:
            real = parse_url(href)
            mismatches.append(f"link text shows {mm[0]} but the link goes to {real.host if real else mm[1]}")
    if mismatches:
        out.append(_f("link-mismatch", FAIL, "; ".join(mismatches[:3]),
                      "make the visible link text name the domain the link really goes to (or not a domain at all)"))
    else:
        out.append(_f("link-mismatch", PASS, "link texts match where the links go"))
    n_links = len({u for u, _ in infos if u not in set(a.html.srcs)})
    if n_links > LINKS_FAIL:
        out.append(_f("link-count", FAIL, f"{n_links} links", f"keep a campaign under {LINKS_WARN} links"))
    elif n_links > LINKS_WARN:
        out.append(_f("link-count", WARN, f"{n_links} links", f"keep a campaign under {LINKS_WARN} links"))
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
        return _f("subject-style", FAIL, "empty subject", "write a subject that says what the message is about")
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
        return _f("subject-style", FAIL, "subject " + " and ".join(problems) + f": {s[:80]!r}", "; ".join(fixes))
    words = spammy_subject_words(s)
    if words:
        return _f("subject-style", WARN, "spam-trigger words in the subject: " + ", ".join(words[:6]),
                  "say what the message offers in your own words instead")
    if len(s) > 150:
        return _f("subject-style", WARN, f"subject is {len(s)} characters long", "keep the subject under 80 characters")
    return _f("subject-style", PASS, f"subject {s[:80]!r}")


def _size(pm: ParsedMessage, raw: bytes) -> Finding:
    html_bytes = sum(len(h.encode("utf-8", "replace")) for h in pm.html)
    if len(raw) > MAX_MESSAGE_BYTES:
        return _f("size", FAIL, f"message is {len(raw) // 1024} KiB",
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


def _charset(raw: bytes) -> Finding:
    """Declared charsets are known and the bytes of every text part decode strictly with them."""
    try:
        msg = email.message_from_bytes(raw[: 4 * 1024 * 1024], policy=_policy.compat32)
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
            return _f("dns-dmarc", WARN, f"DMARC policy p=none at {name} (monitoring only)",
                      "once reports show your mail aligns, move to p=quarantine or p=reject")
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
             f"(spam from {rep.spam_cutoff:.3f}, ham below {rep.ham_cutoff:.3f})"]
    if rep.subject:
        lines.append(f"  Subject: {rep.subject[:120]}")
    for title, clues in (("spammy clues", rep.spammy), ("hammy clues", rep.hammy)):
        if clues:
            lines.append(f"  {title}:")
            lines += [f"    {cl.weight:+6.2f}  {cl.text}  [{cl.where}]" for cl in clues]
    lines.append(f"  findings: {c[FAIL]} fail, {c[WARN]} warn, {c[PASS]} pass")
    for f in sorted(rep.findings, key=lambda f: -_RANK[f.status]):
        lines.append(f"    {f.status.upper():4}  {f.id:22} {f.message}")
        if f.fix:
            lines.append(f"          {'':22} fix: {f.fix}")
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
