"""Clues in words (issue 18, item 8): every feature family has its own wording.

``date:tz:+0900`` was explained as "the word '+0900' in the body", ``boundary:a9``
likewise, and one clue read "a In-Reply-To header".  These tests walk every
prefix the tokenizer can emit (found by extracting the features of every
fixture and hostile case, and by grepping the features package for prefix
literals) and fail when anything that is not a body word gets the body-word
wording.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from spamscore.check.explain import PREFIX_WORDING, Context, explain_clue, is_word_wording
from spamscore.features import FeatureOptions, analyze, extract
from spamscore.features.tokens import body_tokens
from spamscore.message import parse

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
FEATURES_PKG = HERE.parent / "spamscore" / "features"

# Authentication features appear only for a trusted receiver: one message carries them all.
AUTH_MSG = (
    b"Received: from mx.example.net (mx.example.net [192.0.2.10]) by mail.example.org; Tue, 4 Mar 2025 09:00:05 +0000\n"
    b"Authentication-Results: mx.example.org; dkim=pass header.d=example-shop.com; spf=pass "
    b"smtp.mailfrom=example-shop.com; dmarc=pass header.from=example-shop.com\n"
    b"Authentication-Results: other.example; spf=fail\n"
    b"Received-SPF: pass (example.org: domain of example-shop.com designates 192.0.2.1)\n"
    b"DKIM-Signature: v=1; a=rsa-sha256; d=example-shop.com; s=k1; h=from; bh=x; b=eHg=\n"
    b"From: Shop <news@example-shop.com>\nTo: sam@example.net\nIn-Reply-To: <a@b.example>\n"
    b"Subject: Re: your question about seedlings\nDate: Tue, 04 Mar 2025 09:00:00 +0900\n"
    b"Message-ID: <x1@mail.example-shop.com>\nX-Mailer: BlastMailer 9.1\n"
    b'Content-Type: multipart/mixed; boundary="=_Part_12_abc"\n\n'
    b"--=_Part_12_abc\nContent-Type: text/plain; charset=utf-8\n\n"
    b"CLICK HERE NOW for the seedlings supercalifragilisticexpialidocious http://198.51.100.7:8080/x "
    b"https://bit.ly/abc https://user@xn--80ak6aa92e.com/path/seg\n"
    b"--=_Part_12_abc\nContent-Type: application/zip; name=a.zip\nContent-Transfer-Encoding: base64\n\nUEsDBA==\n"
    b"--=_Part_12_abc--\n"
)
OPTIONS = FeatureOptions(trusted_authserv_ids=frozenset({"mx.example.org"}))


def _messages() -> list[tuple[str, bytes]]:
    out = [(str(p.relative_to(FIXTURES)), p.read_bytes()) for p in sorted(FIXTURES.rglob("*.eml"))]
    out.append(("auth", AUTH_MSG))
    return out


def _hostile() -> list[tuple[str, bytes]]:
    from hostile import hostile_cases  # tests/ is on sys.path

    return [(f"hostile:{name}", raw) for name, raw in hostile_cases(huge=False)]


def _prefix(feature: str) -> str:
    return feature.split(":", 1)[0] if ":" in feature else ""


def _body_words(pm, a) -> set[str]:
    texts = [a.plain_text] + ([a.html.visible_text] if a.html.parts else [])
    return {w for w in body_tokens(texts, OPTIONS.max_text_chars) if not w.startswith(("skip:", "body:caps:"))}


def _check_all(raw: bytes, name: str, feats: list[str] | None = None) -> list[str]:
    """The features of ``raw`` (or ``feats``) whose wording is the body-word one but which are no body word."""
    pm = parse(raw)
    a = analyze(pm, OPTIONS)
    if feats is None:
        feats = extract(pm, OPTIONS, a)
    ctx = Context(pm, a)
    words = _body_words(pm, a)
    bad = []
    for f in feats:
        c = explain_clue(f, 1.0, ctx)
        assert c.text and c.where in ("subject", "body", "header", "link", "html", "message"), (name, f, c)
        if is_word_wording(c.text) and f not in words:
            bad.append(f"{name}: {f!r} -> {c.text!r}")
        assert not c.text.startswith("a In-") and " a In-" not in c.text, (f, c.text)
    return bad


@pytest.mark.parametrize("name,raw", _messages(), ids=[n for n, _ in _messages()])
def test_no_feature_of_a_fixture_is_explained_as_a_body_word_unless_it_is_one(name, raw):
    assert _check_all(raw, name) == []


def test_no_feature_of_a_hostile_case_is_explained_as_a_body_word_unless_it_is_one():
    """One feature per prefix per case (the cases carry up to millions of tokens)."""
    bad = []
    for name, raw in _hostile():
        feats = extract(parse(raw), OPTIONS)
        by_prefix: dict[str, list[str]] = {}
        for f in sorted(feats)[:20000]:
            lst = by_prefix.setdefault(_prefix(f) if _prefix(f).isascii() else "", [])
            if len(lst) < 3:
                lst.append(f)
        bad += _check_all(raw, name, [f for lst in by_prefix.values() for f in lst])
    assert bad == []


# Prefix literals in the features package: "name:..." strings and f"name:..." prefixes.
_LITERAL = re.compile(r"""[f]?["']([a-z][a-z0-9-]{1,30}):""")


def _grepped_prefixes() -> set[str]:
    found = set()
    for path in FEATURES_PKG.glob("*.py"):
        for m in _LITERAL.finditer(path.read_text(encoding="utf-8")):
            found.add(m.group(1))
    # not prefixes of features: XPath axes, doctest pieces, URL schemes, test prefixes of the hashing check
    return found - {"descendant", "http", "https", "mailto", "p", "x", "ftp", "data", "javascript", "vbscript"}


def test_every_grepped_prefix_has_a_family_wording():
    """A feature ``prefix:sample`` of every prefix the package names is said as its family, not a body word."""
    prefixes = _grepped_prefixes() | {"ja", "bulk"}
    assert {"date", "boundary", "received", "hdr", "url", "html", "auth", "dkim"} <= prefixes  # the grep works
    pm = parse(b"From: a@example.com\nSubject: hello\n\nsome body text\n")
    ctx = Context(pm, analyze(pm))
    bad = []
    for prefix in sorted(prefixes):
        for sample in ("sample", "domain:example.com", "2**3"):
            f = f"{prefix}:{sample}"
            c = explain_clue(f, 1.0, ctx)
            if is_word_wording(c.text):
                bad.append(f"{f} -> {c.text}")
    assert bad == []


def test_every_emitted_prefix_is_a_known_family():
    """Prefixes seen in the fixtures' features are all in PREFIX_WORDING or are header names."""
    seen = set()
    for _, raw in _messages():
        pm = parse(raw)
        a = analyze(pm, OPTIONS)
        words = _body_words(pm, a)  # body words may hold a colon ("15:30")
        seen |= {_prefix(f) for f in extract(pm, OPTIONS, a) if ":" in f and f not in words and _prefix(f).isascii()}
    seen.discard("")
    assert {"date", "hdr", "url", "html", "auth"} <= seen  # the walk sees the families
    from spamscore.check.explain import _HDR_NAMES

    unknown = {p for p in seen if p not in PREFIX_WORDING and p not in _HDR_NAMES and not p.startswith("x-")}
    assert unknown == set()


def _ctx(raw: bytes) -> Context:
    pm = parse(raw)
    return Context(pm, analyze(pm, OPTIONS))


@pytest.mark.parametrize("feature,expected,where", [
    ("date:tz:+0900", "the Date header's time zone +0900", "header"),
    ("date:shape:Aa, 9 Aa 9 9:9:9 +9", "the shape of the Date header (Aa, 9 Aa 9 9:9:9 +9: digits as 9, letters as a "
     "and A, as in 'Tue, 04 Mar 2025 09:00:00 +0900')", "header"),
    ("boundary:=_Aa_9_a", "the MIME boundary's shape (=_Aa_9_a: the separator string the mailing software chose, "
     "digits as 9, letters as a and A)", "header"),
    ("hdr:in-reply-to", "an In-Reply-To header", "header"),
    ("hdr:x-mailer", "an X-Mailer header", "header"),
    ("hdr:user-agent", "a User-Agent header", "header"),
    ("hdr:received-count:1", "1 Received header (relays the message passed through)", "header"),
    ("hdr:received-count:3", "3 Received headers (relays the message passed through)", "header"),
    ("received:mx.example.net", "relayed through mx.example.net (a Received header)", "header"),
    ("received:ip:192.0.2", "relayed through addresses 192.0.2.* (a Received header)", "header"),
    ("message-id:mail.example-shop.com", "a Message-ID made at mail.example-shop.com", "header"),
    ("url:bit.ly", "a link to bit.ly", "link"),
    ("url-host:www.example.com", "a link to the host www.example.com", "link"),
    ("url-path:seg", "'seg' in a link's address", "link"),
    ("proto:http", "plain http (not https) links", "link"),
    ("html:images:2**3", "number of images: 8-15", "html"),
    ("part:application/zip", "a application/zip part", "message"),
    ("charset:utf-8", "text in the utf-8 character set", "message"),
    ("attach:ext:zip", "a .zip attachment", "message"),
    ("defect:truncated", "a formatting defect (cut short)", "message"),
    ("msg:size:2**10", "message size 1024-2047 bytes", "message"),
    ("auth:dkim=pass:aligned", "authentication result dkim=pass, aligned (Authentication-Results header)", "header"),
    ("dkim:aligned", "a DKIM signature aligned with the From domain", "header"),
    ("spf-hdr:pass", "SPF result pass (Received-SPF header)", "header"),
    ("body:caps:4", "capitals make up 20-24% of the body's letters", "body"),
    ("skip:s 30", "a very long word (30+ characters) starting with 's' in the body", "body"),
    ("subject:seedlings", "the subject word seedlings", "subject"),
    ("click here", "the phrase 'click here' in the body", "body"),
    ("x-mailer:blastmailer", "the word 'BlastMailer' in the X-Mailer header", "header"),
    ("from:user:news", "the From address user 'news'", "header"),
    ("ja:配信停止", "the Japanese phrase '配信停止' in the body", "body"),
    ("bulk:one-click", "bulk-sending structure: one click", "message"),
])
def test_family_wordings(feature, expected, where):
    c = explain_clue(feature, 1.0, _ctx(AUTH_MSG))
    assert (c.text, c.where) == (expected, where)


def test_japanese_bigram_is_shown_in_its_phrase():
    """信停 is a bigram of 配信停止 (unsubscribe): the reader is shown the phrase, not the fragment."""
    raw = (FIXTURES / "campaigns" / "japanese-utf8.eml").read_bytes()
    c = explain_clue("信停", 2.0, _ctx(raw))
    assert "'配信停止'" in c.text and "信停" in c.text and c.where == "body"
    assert c.terms == ("配信停止",)


def test_long_japanese_run_is_bounded_around_the_bigram():
    run = "いつもご利用いただきありがとうございます本日は配信停止のご案内です"
    raw = ("From: a@example.jp\nSubject: x\nContent-Type: text/plain; charset=utf-8\n\n" + run + "\n").encode()
    c = explain_clue("信停", 1.0, _ctx(raw))
    shown = c.text.split("'")[1]
    assert "配信停止" in shown and shown.startswith("…") and len(shown.strip("…")) <= 12


def test_body_word_keeps_the_word_wording():
    raw = b"From: a@example.com\nSubject: hello\n\nPlease click the button.\n"
    assert explain_clue("click", 1.0, _ctx(raw)).text == "the word 'click' in the body"
    # a body word that holds a colon is still a body word, not a family
    raw = b"From: a@example.com\nSubject: hello\n\nwrite to ref:abc123 today\n"
    assert explain_clue("ref:abc123", 1.0, _ctx(raw)).text == "the word 'ref:abc123' in the body"
