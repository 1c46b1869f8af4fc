"""Property-based tests (hypothesis): any input yields a result, never an exception.

Bounded so the normal suite stays quick (``max_examples`` at most 200,
``deadline=None`` so a slow shared machine never fails a test on timing).
The strategies build arbitrary bytes and message-shaped input: header
fields with RFC 2047 words in real, bogus and mismatched charsets, and MIME
trees with random content types, charsets and transfer encodings, in any of
the line-ending conventions.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import quopri

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spamscore import Verdict
from spamscore.features import FeatureOptions, analyze, extract
from spamscore.features.auth import auth_features, parse_authentication_results
from spamscore.features.html import analyze_html
from spamscore.features.urls import find_urls, link_mismatch, parse_url, url_features
from spamscore.message import Limits, ParsedMessage, codec_for, decode_bytes, decode_header_value, parse

SETTINGS = settings(max_examples=200, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FEW = settings(max_examples=40, deadline=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

CHARSETS = ["utf-8", "us-ascii", "iso-8859-1", "windows-1252", "koi8-r", "shift_jis", "iso-2022-jp", "euc-kr",
            "gb2312", "big5", "utf-16", "utf-7", "x-unknown", "", "utf8", "latin1", "../../x", "idna", "rot13",
            "punycode", "uu_codec", "zlib", "base64", "hex"]
CTES = ["7bit", "8bit", "binary", "base64", "quoted-printable", "x-uuencode", "BASE64", " Quoted-Printable ", "bogus"]
CTYPES = ["text/plain", "text/html", "application/octet-stream", "image/png", "message/rfc822", "text/x-weird",
          "multipart/mixed", "multipart/alternative", "bogus", ""]
HEADER_NAMES = ["From", "To", "Cc", "Subject", "Reply-To", "Return-Path", "Received", "Message-ID", "X-Mailer",
                "Authentication-Results", "Received-SPF", "DKIM-Signature", "Content-Type", "X-Spam-Status",
                "Content-Transfer-Encoding", "Content-Disposition", "List-Id", "X-Weird"]
EOLS = ["\r\n", "\n", "\r"]

text_any = st.text(max_size=300)
safe_label = st.sampled_from(CHARSETS)


def _encode(text: str, charset: str) -> bytes:
    try:
        return text.encode(charset)
    except (LookupError, UnicodeError, TypeError, ValueError):
        return text.encode("utf-8", "surrogatepass")


@st.composite
def encoded_words(draw) -> str:
    charset = draw(safe_label)
    raw = _encode(draw(text_any), charset)
    if draw(st.booleans()):
        payload = base64.b64encode(raw).decode()
        if draw(st.booleans()):
            payload = payload[: draw(st.integers(0, len(payload)))]  # broken padding
        return f"=?{charset}?{draw(st.sampled_from('bB'))}?{payload}?="
    payload = binascii.b2a_qp(raw, header=True).decode("ascii", "replace").replace("\n", "")
    return f"=?{charset}?{draw(st.sampled_from('qQ'))}?{payload}?="


header_value = st.lists(st.one_of(text_any, encoded_words(), st.sampled_from([
    "<a@b.example>", "\"Name\" <x@y.example>", "mx.example.org; spf=pass smtp.mailfrom=y.example",
    "from a.example.com ([10.1.2.3]) by mx", "v=1; d=example.com; b=abc", "=?", "?=", "(comment (nested))",
])), max_size=6).map(" ".join)


@st.composite
def header_block(draw) -> list[tuple[str, bytes]]:
    fields = []
    for _ in range(draw(st.integers(0, 12))):
        name = draw(st.one_of(st.sampled_from(HEADER_NAMES), st.text(min_size=1, max_size=20)))
        value = draw(header_value)
        raw_value = value.encode("utf-8", "surrogatepass") if draw(st.booleans()) else _encode(value, draw(safe_label))
        fields.append((name, raw_value))
    return fields


def _body(draw, ctype: str, charset: str, cte: str) -> bytes:
    if ctype == "text/html":
        text = "<html><body>" + draw(st.text(max_size=400)) + "<a href='http://x.example/'>www.y.example</a>" \
               + draw(st.sampled_from(["", "<img src=a.png>", "<div style='display:none'>hidden</div>", "<table>"]))
    else:
        text = draw(st.text(max_size=400))
    raw = _encode(text, charset) if charset else text.encode("utf-8", "surrogatepass")
    cte_l = cte.strip().lower()
    if cte_l == "base64":
        raw = base64.encodebytes(raw)
        if draw(st.booleans()):
            raw = raw[: draw(st.integers(0, len(raw)))] + draw(st.binary(max_size=8))
    elif cte_l == "quoted-printable":
        raw = quopri.encodestring(raw)
        if draw(st.booleans()):
            raw += draw(st.sampled_from([b"=", b"=Z", b"=\r", b"=4"]))
    return raw


@st.composite
def mime_entity(draw, depth: int = 0) -> bytes:
    ctype = draw(st.sampled_from(CTYPES))
    charset = draw(safe_label)
    cte = draw(st.sampled_from(CTES))
    headers = [b"Content-Type: " + ctype.encode() + (b"; charset=\"" + charset.encode() + b"\"" if charset else b"")]
    if ctype.startswith("multipart/") and depth < 4:
        boundary = draw(st.sampled_from(["b", "==b==", "a b", "x" * 70, ""]) | st.text("abc-=_", min_size=1, max_size=8))
        headers[0] += b"; boundary=\"" + boundary.encode() + b"\""
        used = boundary if draw(st.integers(0, 9)) else draw(st.text("xyz", max_size=3))  # sometimes mismatched
        children = draw(st.lists(mime_entity(depth + 1), max_size=4))
        parts = [b"--" + used.encode() + b"\r\n" + c for c in children]
        close = [b"--" + used.encode() + b"--\r\n"] if draw(st.booleans()) else []
        body = draw(st.sampled_from([b"", b"preamble\r\n"])) + b"\r\n".join(parts) + b"\r\n" + b"".join(close)
    elif ctype == "message/rfc822" and depth < 4:
        body = draw(mime_entity(depth + 1))
    else:
        headers.append(b"Content-Transfer-Encoding: " + cte.encode())
        if draw(st.booleans()):
            headers.append(b"Content-Disposition: attachment; filename=\"" + _encode(draw(text_any)[:30], "utf-8") + b"\"")
        body = _body(draw, ctype, charset, cte)
    return b"\r\n".join(headers) + b"\r\n\r\n" + body


@st.composite
def messages(draw) -> bytes:
    fields = draw(header_block())
    head = b"".join(n.encode("utf-8", "surrogatepass") + b": " + v + b"\r\n" for n, v in fields)
    raw = head + draw(mime_entity())
    eol = draw(st.sampled_from(EOLS + ["mixed"]))
    if eol == "mixed":
        raw = raw.replace(b"\r\n", b"\n", draw(st.integers(0, 20)))
    elif eol != "\r\n":
        raw = raw.replace(b"\r\n", eol.encode())
    if draw(st.booleans()):  # splice in some random bytes
        junk = draw(st.binary(max_size=64))
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + junk + raw[at:]
    return raw


def _check(pm: ParsedMessage, raw: bytes, limits: Limits) -> list[str]:
    assert pm.size == len(raw)
    assert len(pm.headers) <= limits.max_headers
    assert len(pm.parts) <= limits.max_parts
    assert all(isinstance(t, str) for t in pm.text + pm.html)
    for _, value in pm.headers:
        assert isinstance(value, str)
        assert not any(c in value for c in "\x00\r\n\x1b\x7f"), repr(value)
    feats = extract(pm)
    assert feats and all(isinstance(f, str) for f in feats)
    assert len(set(feats)) == len(feats)
    return feats


SMALL = Limits(max_bytes=4096, max_parts=5, max_depth=3, max_part_bytes=1024, max_headers=8)


@SETTINGS
@given(st.binary(max_size=20_000))
def test_arbitrary_bytes(raw):
    _check(parse(raw), raw, Limits())
    _check(parse(raw, SMALL), raw, SMALL)


@SETTINGS
@given(messages())
def test_message_shaped_input(raw):
    _check(parse(raw), raw, Limits())
    _check(parse(raw, SMALL), raw, SMALL)


@FEW
@given(messages(), st.integers(1, 50), st.integers(0, 5000))
def test_feature_options_bound_the_work(raw, max_urls, max_text):
    opts = FeatureOptions(max_urls=max_urls, max_text_chars=max_text, max_html_bytes=max_text)
    a = analyze(parse(raw), opts)
    assert len(a.urls) <= max_urls
    assert len(a.plain_text) <= max_text
    assert extract(parse(raw), opts)


_MODEL = None


def _model():
    global _MODEL
    if _MODEL is None:
        from spamscore.scoring import train

        docs, labels = [], []
        for i in range(10):
            docs.append(extract(parse(f"Subject: free money {i}\n\nwin cash now http://spam{i}.example/".encode())))
            labels.append("spam")
            docs.append(extract(parse(f"Subject: meeting {i}\n\nagenda and notes for the review".encode())))
            labels.append("ham")
        _MODEL = train(docs, labels, folds=2)
    return _MODEL


@FEW
@given(st.one_of(st.binary(max_size=5000), messages()))
def test_model_score(raw):
    v = _model().score(raw)
    assert isinstance(v, Verdict)
    assert v.label in ("ham", "unsure", "spam") and 0.0 <= v.probability <= 1.0


@SETTINGS
@given(st.binary(max_size=2000), st.one_of(safe_label, st.text(max_size=50), st.none()))
def test_decode_bytes_never_raises(data, charset):
    out = decode_bytes(data, charset, [])
    assert isinstance(out, str)
    if charset is None and data.isascii() and b"\x1b" not in data:  # (ESC: ISO-2022-JP sniffing)
        assert out == data.decode("ascii")
    if data.isascii() and b"\x1b" not in data and codec_for(charset) in (None, "cp1252", "utf-8"):
        assert out == data.decode("ascii")


@SETTINGS
@given(st.one_of(header_value, st.text(max_size=500)), st.one_of(st.none(), safe_label))
def test_decode_header_value(value, charset):
    out = decode_header_value(value, charset)
    assert isinstance(out, str)
    assert not any(c in out for c in "\x00\r\n\x1b\x7f")
    if value.isascii() and "=?" not in value:
        # plain ASCII is only cleaned of control characters
        assert len(out) == len(value)


@SETTINGS
@given(st.text(max_size=3000))
def test_url_functions(text):
    urls = find_urls(text, 50)
    assert len(urls) <= 50
    for u in urls + [text[:300]]:
        info = parse_url(u)
        assert info is None or isinstance(info.domain, str)
    url_features(urls + [text], [(text, text), ("http://a.example/", text)], 60)
    link_mismatch(text, text)


@SETTINGS
@given(st.text(max_size=3000))
def test_html(text):
    info = analyze_html([text, "<html>" + text])
    assert info.parts == sum(1 for s in (text, "<html>" + text) if s.strip())
    assert info.images >= 0 and info.hidden_chars >= 0


@SETTINGS
@given(st.text(max_size=1000), st.text(max_size=200))
def test_auth(value, from_value):
    authserv, results = parse_authentication_results(value)
    assert isinstance(authserv, str)
    headers = [("from", from_value), ("authentication-results", value), ("received-spf", value),
               ("dkim-signature", value)]
    feats = auth_features(headers, frozenset({authserv}))
    assert all(isinstance(f, str) for f in feats)


def test_every_listed_charset_is_exercised():
    # the label list must keep some that Python knows and some it does not
    known = [c for c in CHARSETS if c and _lookup(c)]
    assert len(known) >= 10 and len(known) < len(CHARSETS)


def _lookup(label: str) -> bool:
    try:
        codecs.lookup(label)
        return True
    except LookupError:
        return False
