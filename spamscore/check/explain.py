"""Clues in words: what a feature string means, said to a campaign sender, and where it is.

``explain_clue("date:tz:+0900", w, ctx)`` -> "the Date header's time zone
+0900" (header).  Every feature family the tokenizer emits has its own
wording (:data:`PREFIX_WORDING` names them); a body word is "the word 'x' in
the body", and only a body word.  Issue 18 found ``date:tz:+0900``,
``date:shape:...`` and ``boundary:a9`` explained as words of the body: a
Japanese sender was told that the word "+0900" in their text made the mail
spam.  ``tests/test_check_explain.py`` walks every prefix the features can
emit and fails on that wording for anything that is not a body word.

CJK text has no spaces, so its body words are character bigrams (``信停``
from 配信停止); a bigram is shown inside the run of CJK characters it came
from in the message (bounded to about 12 characters), which is what a reader
recognises.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from ..features import Analysis
from ..features.urls import link_mismatch, parse_url
from ..message import ParsedMessage

__all__ = ["ExplainedClue", "Context", "explain_clue", "PREFIX_WORDING", "is_word_wording"]


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


class Context:
    """What explaining a clue needs to look things up in the message."""

    def __init__(self, pm: ParsedMessage, analysis: Analysis):
        self.pm = pm
        self.analysis = analysis
        self.subject = pm.subject
        self.subject_n = _norm(self.subject).lower()
        self.plain = _norm(analysis.plain_text).lower()
        self.html_text = _norm(analysis.html.visible_text).lower()
        self._urls = None

    def urls(self):
        if self._urls is None:
            self._urls = [u for u in (parse_url(x) for x in self.analysis.urls) if u is not None]
        return self._urls

    def original_case(self, word: str, text: str) -> str:
        """``word`` as written in ``text`` (e.g. FREE for subject:free)."""
        if not text.isascii():
            text = _norm(text)
        m = _word_re(word, re.I).search(text)
        return m.group(0) if m else word


def _norm(text: str) -> str:
    """NFKC without zero-width characters: the text the tokenizer saw."""
    if text.isascii():
        return text
    for ch in ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e"):
        text = text.replace(ch, "")
    return unicodedata.normalize("NFKC", text)


# Every prefix the feature extractors emit (spamscore/features/*.py), and the
# ones the lead announced for issue 18 (``ja:`` Japanese phrases, ``bulk:``
# bulk-sending structure), with the family's wording.  A prefix missing here
# still gets a family wording (see _generic), never "the word ... in the body".
PREFIX_WORDING: dict[str, str] = {
    "subject": "a word or the style of the subject",
    "skip": "a very long word in the body",
    "url": "a link's domain or a property of the links",
    "url-host": "a link's host name",
    "url-path": "a piece of a link's path",
    "proto": "the links' scheme (http, https...)",
    "html": "the shape of the HTML (images, text, forms...)",
    "hdr": "a header's presence",
    "received": "a relay in the Received headers",
    "message-id": "the host part of the Message-ID",
    "date": "the Date header's shape or time zone",
    "boundary": "the MIME boundary's shape",
    "auth": "an Authentication-Results verdict",
    "spf-hdr": "a Received-SPF verdict",
    "dkim": "a DKIM signature",
    "part": "a MIME part's type",
    "charset": "a text part's character set",
    "attach": "an attachment",
    "defect": "a formatting defect",
    "msg": "the message's size",
    "body": "the share of capitals in the body",
    "ja": "a Japanese phrase",
    "bulk": "the structure of bulk sending",
}

_HDR_NAMES = {"from": "From", "to": "To", "cc": "Cc", "reply-to": "Reply-To", "return-path": "Return-Path",
              "sender": "Sender", "errors-to": "Errors-To", "x-mailer": "X-Mailer", "user-agent": "User-Agent",
              "content-type": "Content-Type", "list-id": "List-Id", "message-id": "Message-ID",
              "mime-version": "MIME-Version", "x-priority": "X-Priority", "precedence": "Precedence",
              "organization": "Organization", "content-transfer-encoding": "Content-Transfer-Encoding",
              "x-originating-ip": "X-Originating-IP", "x-msmail-priority": "X-MSMail-Priority",
              "x-mimeole": "X-MimeOLE", "in-reply-to": "In-Reply-To", "dkim-signature": "DKIM-Signature",
              "list-unsubscribe": "List-Unsubscribe", "list-unsubscribe-post": "List-Unsubscribe-Post",
              "received-spf": "Received-SPF", "authentication-results": "Authentication-Results",
              "arc-seal": "ARC-Seal", "arc-message-signature": "ARC-Message-Signature",
              "arc-authentication-results": "ARC-Authentication-Results", "feedback-id": "Feedback-ID",
              "x-ms-exchange-organization-scl": "X-MS-Exchange-Organization-SCL", "mime": "MIME"}

_HTML_TEXT = {
    "html:image-only": "little text for its images (an image-only message)",
    "html:no-text-alternative": "an HTML message without a plain-text version",
    "html:form": "a form in the message",
    "html:script": "a script in the HTML",
    "html:iframe": "an iframe in the HTML",
    "html:yes": "an HTML body",
}
_HTML_BUCKETS = {"text-len": "visible HTML text length (characters)", "images": "number of images",
                 "image-area": "total image area (pixels)", "chars-per-image": "characters of text per image",
                 "hidden-text": "hidden text (characters)"}
_URL_TEXT = {
    "url:ip-host": "a link to a bare IP address",
    "url:port": "a link to an unusual port",
    "url:userinfo": "a link with a user@ part (hides the real host)",
    "url:idn": "a link to an internationalised (punycode) domain",
}
_DEFECTS = {"truncated": "cut short", "nested-too-deep": "MIME nested too deep", "too-many-parts": "too many parts"}


def _hname(name: str) -> str:
    return _HDR_NAMES.get(name, "-".join(p.upper() if len(p) <= 2 and p != "to" else p.capitalize()
                                         for p in name.split("-")))


def _article(word: str) -> str:
    """'a' or 'an' before a header name: an In-Reply-To, an X-Mailer, a User-Agent, a MIME-Version."""
    w = word.lower()
    if w[:1] == "x" or (w[:1] != "" and w[:1] in "aeio" and not w.startswith("one")):
        return "an"
    return "a"


def _bucket_range(b: str) -> str:
    if b.startswith("2**"):
        try:
            k = int(b[3:])
        except ValueError:
            return b
        return str(2 ** k) if k == 0 else f"{2 ** k}-{2 ** (k + 1) - 1}"
    return b


def explain_clue(feature: str, weight: float, ctx: Context) -> ExplainedClue:
    """One clue in words, located in the message."""
    text, where, terms = _explain(feature, ctx)
    return ExplainedClue(feature, weight, text, where, terms)


def is_word_wording(text: str) -> bool:
    """Whether ``text`` is the wording of a plain body word (what only a body word may get)."""
    return text.startswith("the word '") and (" in the body" in text)


def _explain(f: str, ctx: Context) -> tuple[str, str, tuple[str, ...]]:
    a = ctx.analysis
    if " " in f and ":" not in f.split(" ", 1)[0]:
        return _explain_phrase(f, ctx)
    prefix, sep, rest = f.partition(":")
    if not sep or not prefix.isascii() or not prefix:
        return _explain_word(f, ctx)
    if prefix == "subject":
        if rest == "ALLCAPS":
            return "the subject is written in capitals", "subject", ()
        if rest == "!!":
            return "'!!' in the subject", "subject", ("!!",)
        if rest == "empty":
            return "an empty subject", "subject", ()
        if rest.startswith("skip:"):
            first, _, n = rest[5:].partition(" ")
            return f"a very long word ({n}+ characters) starting with '{first}' in the subject", "subject", ()
        shown = ctx.original_case(rest, ctx.subject)
        if not rest.isascii():
            run = _cjk_run(rest, ctx.subject_n)
            if run and run != rest:
                return f"'{run}' in the subject (the clue is its part '{rest}')", "subject", (run,)
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
        return f"a link to the host {rest}", "link", (rest,)
    if prefix == "url-path":
        return f"'{rest}' in a link's address", "link", ()
    if prefix == "proto":
        return (f"{rest} links" if rest != "http" else "plain http (not https) links"), "link", ()
    if prefix == "html":
        if f in _HTML_TEXT:
            return _HTML_TEXT[f], "html", ()
        kind, _, b = rest.partition(":")
        if kind in _HTML_BUCKETS:
            return f"{_HTML_BUCKETS[kind]}: {_bucket_range(b)}", "html", ()
        return f"the HTML's {rest.replace(':', ' ')}", "html", ()
    if prefix == "hdr":
        if rest.startswith("received-count:"):
            n = rest.split(":", 1)[1]
            return (f"{n} Received header{'s' if n != '1' else ''} (relays the message passed through)",
                    "header", ())
        name = _hname(rest)
        return f"{_article(name)} {name} header", "header", ()
    if prefix == "received":
        if rest.startswith("ip:"):
            return f"relayed through addresses {rest[3:]}.* (a Received header)", "header", ()
        return f"relayed through {rest} (a Received header)", "header", ()
    if prefix == "message-id":
        if rest == "invalid":
            return "a malformed Message-ID (no @domain)", "header", ()
        return f"a Message-ID made at {rest}", "header", ()
    if prefix == "date":
        return _explain_date(rest, ctx), "header", ()
    if prefix == "boundary":
        return (f"the MIME boundary's shape ({rest}: the separator string the mailing software chose, "
                "digits as 9, letters as a and A)"), "header", ()
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
        return f"a formatting defect ({_DEFECTS.get(rest, rest.replace('-', ' '))})", "message", ()
    if prefix == "msg":
        if rest.startswith("size:"):
            return f"message size {_bucket_range(rest[5:])} bytes", "message", ()
        if rest == "truncated":
            return "a very large message (only the start was read)", "message", ()
        return f"the message's {rest.replace(':', ' ')}", "message", ()
    if prefix == "body" and rest.startswith("caps:"):
        try:
            k = int(rest[5:])
        except ValueError:
            return f"the share of capitals in the body ({rest[5:]})", "body", ()
        if k >= 10:
            return "capitals make up half or more of the body's letters", "body", ()
        return f"capitals make up {k * 5}-{k * 5 + 4}% of the body's letters", "body", ()
    if prefix == "ja":
        return _explain_ja(rest, ctx)
    if prefix == "bulk":
        return f"bulk-sending structure: {rest.replace('-', ' ').replace(':', ' ')}", "message", ()
    # header-derived tokens: name:domain:x, name:user:x, name:name:w, name:word
    if prefix in _HDR_NAMES or prefix.startswith("x-") or prefix in _ADDRESS_LIKE:
        return _explain_header_token(prefix, rest, ctx)
    return _generic(f, prefix, rest, ctx)


_ADDRESS_LIKE = frozenset({"from", "to", "cc", "reply-to", "return-path", "sender", "errors-to"})


def _explain_header_token(prefix: str, rest: str, ctx: Context) -> tuple[str, str, tuple[str, ...]]:
    label = _hname(prefix)
    hname, sep2, rest2 = rest.partition(":")
    if hname == "domain" and sep2:
        return f"the {label} address domain {rest2}", "header", ()
    if hname == "user" and sep2:
        if rest2.startswith("skip "):
            return f"a long user name ({rest2[5:]}+ characters) in the {label} address", "header", ()
        return f"the {label} address user '{rest2}'", "header", ()
    if hname == "name" and sep2:
        if rest2.startswith("skip:"):
            first, _, n = rest2[5:].partition(" ")
            return f"a very long word ({n}+ characters) starting with '{first}' in the {label} name", "header", ()
        return f"the word '{rest2}' in the {label} name", "header", (rest2,)
    if rest in ("empty", "no-domain"):
        return f"{_article(label)} {label} header without an address", "header", ()
    if rest.startswith("skip:"):
        first, _, n = rest[5:].partition(" ")
        return f"a very long word ({n}+ characters) starting with '{first}' in the {label} header", "header", ()
    value = ctx.pm.get(prefix, "") or ""
    return f"the word '{ctx.original_case(rest, value)}' in the {label} header", "header", ()


def _generic(f: str, prefix: str, rest: str, ctx: Context) -> tuple[str, str, tuple[str, ...]]:
    """A prefix this module does not know: a body word that holds a colon, or a new feature family."""
    if _contains(ctx.plain, f) or _contains(ctx.html_text, f) or _contains(ctx.subject_n, f):
        return _explain_phrase(f, ctx) if " " in f else _explain_word(f, ctx)
    family = PREFIX_WORDING.get(prefix)
    if family:
        return f"{family}: {rest}", "message", ()
    return f"the '{prefix}' signal {rest}", "message", ()


def _explain_date(rest: str, ctx: Context) -> str:
    value = (ctx.pm.get("date") or "").strip()
    if rest.startswith("tz:"):
        return f"the Date header's time zone {rest[3:]}"
    if rest.startswith("shape:"):
        shown = f", as in '{value[:60]}'" if value else ""
        return f"the shape of the Date header ({rest[6:]}: digits as 9, letters as a and A{shown})"
    return f"the Date header ({rest})"


def _explain_auth(prefix: str, rest: str) -> str:
    if prefix == "dkim":
        if rest == "signed":
            return "a DKIM signature"
        if rest.startswith("d="):
            return f"a DKIM signature by {rest[2:]}"
        return "a DKIM signature " + ("aligned with the From domain" if rest == "aligned" else "by another domain than From")
    if prefix == "spf-hdr":
        return f"SPF result {rest} (Received-SPF header)"
    if rest == "ar-untrusted":
        return "an Authentication-Results header from an untrusted server"
    return "authentication result " + rest.replace(":", ", ") + " (Authentication-Results header)"


def _explain_ja(rest: str, ctx: Context) -> tuple[str, str, tuple[str, ...]]:
    where = "subject" if rest in ctx.subject_n and rest not in ctx.plain and rest not in ctx.html_text else "body"
    return f"the Japanese phrase '{rest}' in the {where}", where, (rest,)


def _explain_phrase(f: str, ctx: Context) -> tuple[str, str, tuple[str, ...]]:
    """A body bigram ("click here"): two adjacent words of the plain text."""
    first, _, second = f.partition(" ")
    return f"the phrase '{f}' in the body", "body", (first, second)


# A CJK run (what features.tokens segments into bigrams), and how much of it to show.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af\u1100-\u11ff\u3130-\u318f"
_CJK_SPAN = re.compile(rf"[{_CJK}]+")
_RUN_SHOWN = 12


def _cjk_run(token: str, text: str) -> str:
    """The run of CJK characters ``token`` came from in ``text``, at most about 12 characters around it."""
    k = text.find(token)
    if k < 0:
        return ""
    for m in _CJK_SPAN.finditer(text, max(0, k - 2000), k + len(token) + 2000):
        if m.start() <= k and k + len(token) <= m.end():
            run = m.group(0)
            if len(run) <= _RUN_SHOWN:
                return run
            i = k - m.start()
            lo = max(0, min(i - (_RUN_SHOWN - len(token)) // 2, len(run) - _RUN_SHOWN))
            return ("…" if lo > 0 else "") + run[lo:lo + _RUN_SHOWN] + ("…" if lo + _RUN_SHOWN < len(run) else "")
    return ""


def _explain_word(word: str, ctx: Context) -> tuple[str, str, tuple[str, ...]]:
    places = []
    if _contains(ctx.plain, word) or _contains(ctx.html_text, word):
        places.append("body")
    if _contains(ctx.subject_n, word):
        places.append("subject")
    header_value = ""
    if not places:
        for name, value in ctx.pm.headers:
            if _contains(_norm(value).lower(), word):
                places.append("header " + _hname(name))
                header_value = value
                break
    where = places[0] if places else "body"
    if places and places[0].startswith("header "):
        shown = ctx.original_case(word, header_value)
        return f"the word '{shown}' in the {places[0][7:]} header", "header", (word,)
    also = " and the subject" if len(places) > 1 and "subject" in places and where == "body" else ""
    if not word.isascii():
        text = ctx.plain if _contains(ctx.plain, word) else ctx.html_text if where == "body" else ctx.subject_n
        run = _cjk_run(word, text)
        if run and run != word:
            return f"'{run}' in the {where}{also} (the clue is its part '{word}')", where, (run.strip("…"),)
    shown = word
    if where == "body":
        src = ctx.analysis.plain_text if _contains(ctx.plain, word) else ctx.analysis.html.visible_text
        shown = ctx.original_case(word, src)
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
