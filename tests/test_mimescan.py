"""spamscore._mimescan (the compiled top-level header split and multipart counts of
spamscore.message.parse) against the Python reference beside it.

``message._mimescan = None`` makes parse run the Python code alone; every
ParsedMessage field must come out the same either way.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spamscore import message
from spamscore.message import Limits, parse

import equivalence as eq
from conftest import native_reason

needs_c = pytest.mark.skipif(message._mimescan is None,
                             reason=native_reason("_mimescan"))

FIELDS = ("headers", "text", "html", "parts", "attachments", "defects", "size", "truncated", "subject")


def _snap(pm):
    return {f: getattr(pm, f) for f in FIELDS}


def _ref(raw, limits=message.DEFAULT_LIMITS):
    with eq.off((message, "_mimescan")):
        return parse(raw, limits)


def _same(raw, limits=message.DEFAULT_LIMITS):
    fast, ref = _snap(parse(raw, limits)), _snap(_ref(raw, limits))
    assert fast == ref
    return fast


def _ref_split(raw: bytes, max_headers: int):
    """The Python _split_headers' fields and body offset."""
    defects = []
    fields, body_at = message._split_headers(raw, Limits(max_headers=max_headers), defects)
    return fields, body_at, defects


# -- fixed cases ------------------------------------------------------------

@needs_c
@pytest.mark.parametrize("raw", [
    b"",
    b"\n",
    b"\n\nbody",
    b"\r\n\r\nbody",
    b"Subject: hi\n\nbody\n",
    b"Subject: hi\r\nFrom: a@b\r\n\r\nbody\r\n",
    b"From someone Mon Jan 1\nSubject: mbox\n\nbody",
    b"From someone Mon Jan 1",
    b" Subject: leading continuation\n\nbody",
    b"Subject: a\n folded\n\tagain\nX: y\n\nbody",
    b"Subject: a\r\n folded\r\n\r\nbody",
    b"X-" + b"n" * 198 + b": 200 chars\n\nbody",
    b"X-" + b"n" * 199 + b": 201 chars\n\nbody",
    b"Name \t : spaced\nX:\nY:   \n\nbody",
    b"Subject: ctl \x01\x02\x1b[31m\x7f\x0b\x0c end\n\nbody",
    b"Subject: lone \r cr\n\nbody",
    b"Subject: v\r\r\n\r\nbody",
    b"Subject: =?utf-8?q?caf=C3=A9?= x\n\nbody",
    b"Subject: =?\n\nbody",
    b"Subject: \xe9t\xe9 \x93quoted\x94\nContent-Type: text/plain; charset=shift_jis\n\n\x82\xa0",
    b"Subject: \xff\xfe=?x?q?y?=\n\nbody",
    b"Subject: =?iso-2022-jp?B?GyRCJUYlOSVIGyhC?=\n\nbody",
    b"Content-Type: text/html; charset=utf-8\nContent-Type: text/plain\n\n<b>x</b>",
    b"content-TRANSFER-encoding: base64\nCONTENT-TYPE: text/plain\n\naGVsbG8=\n",
    b"Content-Disposition: attachment; filename=a.exe\nContent-Type: application/octet-stream\n\nMZ",
    b"Subject: a\nnot a header line\nX: y\n\nbody",
    b"Subject: no blank line, no body",
    b"\x80bad: name\n\nbody",
    b": empty name\n\nbody",
    b"Subject: nul\x00 inside\n\nbody",
    b"Subject: x\n\n\x00\x00",
    b"Content-Type: multipart/mixed; boundary=XYZ\n\n--XYZ\nContent-Type: text/plain\n\none\n--XYZ\r\n"
    b"Content-Type: text/html\r\n\r\n<p>two</p>\r\n--XYZ--\r\n",
    b"Content-Type: multipart/mixed; boundary=XYZ\n\npre\r--XYZ\rContent-Type: text/plain\r\rone\r--XYZ--\r",
    b"Content-Type: multipart/alternative; BOUNDARY=\"b b\"\n\n--b b\n\nx\n--b b\nFrom x\nContent-Type: text/html\n\ny\n--b b--\n",
    b"Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: inner\n\nbody\n--d--\n",
    b"Content-Type: message/rfc822\n\nSubject: inner\nContent-Type: text/plain\n\nhello\n",
])
def test_fixed(raw):
    _same(raw)
    for limits in (Limits(max_headers=0), Limits(max_headers=1), Limits(max_headers=-1), Limits(max_bytes=20)):
        _same(raw, limits)


@needs_c
def test_fields_and_cleaning():
    raw = b"Subject: a\x01b\x7fc\td\n folded\r\nX-Enc: =?utf-8?q?caf=C3=A9?=\nX-8: \xe9\n\nbody"
    got = _same(raw)
    assert got["headers"] == [("subject", "a b c\td  folded"), ("x-enc", "caf\u00e9"), ("x-8", "\u00e9")]
    headers, special, body_at, ctype, cte, disp, too_many = message._mimescan.split_headers(raw, 500)
    assert special == [1, 2] and raw[body_at:] == b"body" and (ctype, cte, disp, too_many) == (None, None, None, False)
    assert headers[2] == ("x-8", "\udce9")  # raw values of the special ones: 8-bit bytes as surrogates


@needs_c
def test_too_many_headers():
    raw = b"".join(b"X-%d: v\n" % i for i in range(10)) + b"Content-Type: text/html\n\n<p>x</p>"
    got = _same(raw, Limits(max_headers=4))
    assert len(got["headers"]) == 4 and got["defects"][:1] == ["too-many-headers"]
    assert got["html"] == []  # the Content-Type field was cut: the body is text/plain
    assert message._mimescan.split_headers(raw, 4)[6] is True


@needs_c
def test_falls_back_where_python_does():
    ms = message._mimescan
    assert ms.split_headers(b"Subject: a\ngarbage\n\nbody", 500) is None
    assert ms.split_headers(b" Subject: a\n\nbody", 500) is None
    assert ms.split_headers(b"Subject: a, no blank line", 500) is None
    assert ms.split_headers(b"X-" + b"n" * 199 + b": v\n\n", 500) is None
    assert ms.split_headers(b"X-" + b"n" * 198 + b": v\n\n", 500) is not None
    assert ms.split_headers(bytearray(b"Subject: a\n\n"), 500) is None  # only exact bytes
    assert ms.mime_counts(b"x", -1) is None


@needs_c
def test_mime_counts_fixed():
    raw = b"BOUNDARY boundary BoUnDaRy boundar\r\n--a\n--b\r--c\r\r\n"
    # 3 LF, 4 CR (one lone); "\n--a", "\n--b", "\r--c"; the first is at 35
    assert message._mimescan.mime_counts(raw, 0) == (4, 3, 3, True)
    assert message._mimescan.mime_counts(raw, 36) == (4, 3, 2, True)
    assert message._mimescan.mime_counts(b"", 0) == (0, 0, 0, False)
    assert message._mimescan.mime_counts(b"a\r\nb\r\n", 99) == (2, 0, 0, False)


# -- generated ---------------------------------------------------------------

_NAMES = st.sampled_from([b"Subject", b"From", b"To", b"Content-Type", b"content-transfer-encoding",
                          b"Content-Disposition", b"X-Mailer", b"Received", b"X", b"x" * 200, b"x" * 201,
                          b"Bad Name", b"", b"\xe9"])
_VALUE_BITS = st.sampled_from([b"plain", b" ", b"\t", b"\r", b"\n", b"\r\n", b"\n ", b"\r\n\t", b"\x00", b"\x01",
                               b"\x1b", b"\x7f", b"\x80", b"\xe9", b"\xff", b"=?", b"?=", b"=?utf-8?q?a=C3=A9?=",
                               b"=?utf-8?b?w6k=?=", b"=?bogus?x?y?=", b"text/plain; charset=utf-8",
                               b"multipart/mixed; boundary=B", b"base64", b"quoted-printable",
                               b"attachment; filename=\"a.exe\"", b"charset=shift_jis", b":", b"From "])
_SEPARATORS = st.sampled_from([b"\n", b"\r\n", b"\r", b"\n\n", b"\r\n\r\n", b""])


@st.composite
def _messages(draw):
    parts = []
    if draw(st.booleans()):
        parts.append(b"From someone@example.com Mon Jan  1 00:00:00 2001\n")
    for _ in range(draw(st.integers(0, 8))):
        value = b"".join(draw(st.lists(_VALUE_BITS, max_size=6)))
        parts.append(draw(_NAMES) + draw(st.sampled_from([b":", b": ", b" :", b"\t: "])) + value
                     + draw(_SEPARATORS))
    parts.append(draw(st.sampled_from([b"\n", b"\r\n", b""])))
    parts.append(draw(st.binary(max_size=200)))
    if draw(st.booleans()):
        parts.append(b"\n--B\nContent-Type: text/plain\n\nx\n--B\r\n\r\ny\r--B--\n")
    return b"".join(parts)


@needs_c
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_messages(), st.sampled_from([None, 0, 1, 3, -1]))
def test_generated_messages(raw, max_headers):
    limits = message.DEFAULT_LIMITS if max_headers is None else Limits(max_headers=max_headers)
    _same(raw, limits)


@needs_c
@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab:= ?\t\r\n\x00\x01\x7f\u00e9\u3042\U0001f600")
                                        + [chr(c) for c in range(0xdc80, 0xdd00, 17)]), max_size=300))
def test_generated_str_with_surrogates(text):
    # str input: parse encodes it as UTF-8 with surrogateescape (lone \udcXX become 8-bit bytes)
    _same("Subject: " + text + "\n\n" + text)
    _same(text)


@needs_c
@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000), st.binary(max_size=300))
def test_split_headers_against_python(head, body):
    raw = head + b"\n\n" + body
    got = message._mimescan.split_headers(raw, 500)
    fields, body_at, _defects = _ref_split(raw, 500)
    if got is not None:
        headers, special, got_body_at = got[:3]
        assert got_body_at == body_at
        assert [name for name, _ in headers] == [name for name, _ in fields]
        special = set(special or ())
        for i, ((_, value), (_, raw_value)) in enumerate(zip(headers, fields)):
            if i in special:
                assert value == raw_value
            else:
                assert value == raw_value.translate(message._HEADER_CONTROLS)


@needs_c
@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from([b"\n", b"\r", b"\r\n", b"--", b"-", b"boundary", b"BOUNDARY", b"Boundar",
                                 b"y", b"b", b"x", b"\n--", b"\r--"]), max_size=80),
       st.integers(0, 400))
def test_mime_counts_against_python(pieces, body_at):
    raw = b"".join(pieces)
    lines, boundaries, delims, lone_cr = message._mimescan.mime_counts(raw, body_at)
    assert lines == max(raw.count(b"\n"), raw.count(b"\r"))
    assert boundaries == raw.lower().count(b"boundary")
    assert delims == raw.count(b"\n--", body_at) + raw.count(b"\r--", body_at)
    assert lone_cr == (raw.count(b"\r") != raw.count(b"\r\n"))


def test_reference_used_when_not_built(monkeypatch):
    monkeypatch.setattr(message, "_mimescan", None)
    pm = parse(b"Subject: a\x01b\nContent-Type: text/html\n\n<p>x</p>")
    assert pm.headers == [("subject", "a b"), ("content-type", "text/html")] and pm.html == ["<p>x</p>"]


# -- part header values: leaf_info, charset_hint, boundary (round 2) ----------

def _ref_leaf_info(ctype_value, disposition):
    """What _leaf's Python code reads of the two values (before decode_header_value)."""
    bad = False
    if ctype_value is None:
        ctype, charset, filename = "text/plain", "", ""
    else:
        m = message._CTYPE.match(ctype_value)
        ctype = m.group(1).lower() if m else "text/plain"
        bad = m is None and bool(ctype_value.strip())
        charset = message._param(ctype_value, "charset")
        filename = message._param(ctype_value, "name")
    disposition = disposition.lower()
    if disposition:
        filename = message._param(disposition, "filename") or filename
    return ctype, charset.lower(), filename, bad, disposition.lstrip().startswith("attachment")


def _ref_boundary(ctype):
    saved = message._mimescan
    message._mimescan = None
    try:
        return message._boundary(ctype)
    finally:
        message._mimescan = saved


def _check_values(ctype_value, disposition):
    ms = message._mimescan
    got = ms.leaf_info(ctype_value, disposition)
    ascii_ok = (ctype_value is None or ctype_value.isascii()) and disposition.isascii()
    if ascii_ok:
        assert got == _ref_leaf_info(ctype_value, disposition)
    else:
        assert got is None
    if ctype_value is None:
        return
    hint = ms.charset_hint(ctype_value)
    if ctype_value.isascii():
        m = message._HEADER_CHARSET_HINT.search(ctype_value)
        assert hint == (m.group(1) if m else "")
    else:
        assert hint is None
    b = ms.boundary(ctype_value)
    if ctype_value.isascii() and "*" not in ctype_value and "\\" not in ctype_value:
        ref = _ref_boundary(ctype_value)
        assert (None if b is False else b) == ref and b is not None
    else:
        assert b is None
    assert _outcome(message._boundary, ctype_value) == _outcome(_ref_boundary, ctype_value)


def _outcome(fn, arg):
    try:
        return fn(arg)
    except Exception as exc:  # email's own errors on values parse never makes (mixed str): alike
        return type(exc)


@needs_c
@pytest.mark.parametrize("ctype_value, disposition", [
    (None, ""),
    ("", ""),
    ("   ", ""),
    ("\x1c\x1f text/plain", ""),
    ("text/plain; charset=\"UTF-8\"", ""),
    ("Text/HTML;CHARSET = iso-8859-1 ; name=a.htm", "Attachment; FileName=\"B.EXE\""),
    ("text/plain; name*=utf-8''caf%C3%A9.txt", "inline; filename*=''"),
    ("text/plain; charset=\"" + "x" * 300 + "\"", ""),
    ("text/plain; charset=\"" + "x" * 301 + "\"", ""),
    ("text/plain; charset=" + "y" * 400, ""),
    ("text/plain; charset=\"unclosed", ""),
    ("text/plain; charset=;x", ""),
    ("text/plain; xcharset=a; charset=b", ""),
    ("text/plain;;charset=\x0bk", ""),
    (";charset=a", ""),
    ("a" * 100 + "/" + "b" * 150, ""),
    ("a" * 101 + "/b", ""),
    ("/b", ""),
    ("a/", ""),
    ("text/plain; charset=\u017fjis", ""),
    ("text/plain", "attachment; filename=\"\u00e9.exe\""),
    ("text/plain\udce9; charset=x", ""),
    ("application/octet-stream; name=\"=?utf-8?q?caf=C3=A9?=.exe\"", ""),
    ("text/plain", "  \tattachment"),
    ("text/plain", "attachmen"),
    ("text/plain", "attachmenx; x=1"),
    ("text/plain", "ATTACHMENT"),
    ("text/plain", "inline; filename=\"\"; name=x"),
    ("multipart/mixed; boundary=\"abc\"", ""),
    ("multipart/mixed; BOUNDARY = \"<a b >\" ", ""),
    ("multipart/mixed; boundary=\"\"x\"\"", ""),
    ("multipart/mixed; boundary", ""),
    ("multipart/mixed; boundary=", ""),
    ("boundary=a; boundary=b", ""),
    ("multipart/mixed; x=\"a;b\"; boundary=c", ""),
    ("multipart/mixed; x=\"a;boundary=q\"; boundary=c", ""),
    ("multipart/mixed;;boundary=c;", ""),
    ("multipart/mixed; boundary=\"a\\\"b\"", ""),
    ("multipart/mixed; boundary*0=a; boundary*1=b", ""),
    ("multipart/mixed; boundary=caf\u00e9", ""),
    ("multipart/mixed; boundary=\"x \x1c\"", ""),
    ("multipart/mixed", ""),
])
def test_part_values_fixed(ctype_value, disposition):
    _check_values(ctype_value, disposition)


_PARAM_BITS = st.sampled_from(["text/plain", "multipart/mixed", "a/b", "/", ";", ";;", " ", "\t", "\x0b", "\x1c",
                               "\n", "=", "\"", "'", "''", "*", "\\", "<", ">", "charset", "CharSet", "name",
                               "filename", "FILENAME", "boundary", "Boundary", "attachment", "inline", "utf-8",
                               "x" * 120, "\u00e9", "\udce9", "\ufffd", "\u017f", "k"])


@needs_c
@settings(max_examples=1500, deadline=None)
@given(st.one_of(st.none(), st.lists(_PARAM_BITS, max_size=14).map("".join)),
       st.lists(_PARAM_BITS, max_size=8).map("".join))
def test_part_values_generated(ctype_value, disposition):
    _check_values(ctype_value, disposition)


@needs_c
@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=120),
       st.text(alphabet=st.characters(max_codepoint=127), max_size=60))
def test_part_values_any_ascii(ctype_value, disposition):
    _check_values(ctype_value, disposition)
    _check_values("multipart/mixed; boundary=" + ctype_value, disposition)


_PART_HEADERS = st.sampled_from([
    b"Content-Type: text/plain; charset=utf-8\n", b"Content-Type: text/html; charset=\"iso-8859-1\"\n",
    b"Content-Type: application/octet-stream; name=\"a.exe\"\n", b"Content-Type: text/plain; name=x.txt\n",
    b"Content-Disposition: attachment\n", b"Content-Disposition: inline; filename=\"=?utf-8?q?a=C3=A9?=\"\n",
    b"Content-Disposition: attachment; filename=\xe9.txt\n", b"Content-Type: text/plain; charset=\xe9\n",
    b"Content-Transfer-Encoding: base64\n", b"Content-Transfer-Encoding: quoted-printable\n",
    b"Content-Type: ;;\n", b"Content-Type: \x1c\n", b"Content-Type: message/rfc822\n",
    b"Content-Type: multipart/alternative; boundary=\"in ner\"\n", b"Content-Type: multipart/mixed; boundary*=''B\n",
    b"Content-Type: multipart/mixed; boundary=\"a\\\\b\"\n", b"X: y\n", b""])
_PART_BODIES = st.sampled_from([b"aGVsbG8gd29ybGQ=\n", b"caf=C3=A9=\n", b"\xe9t\xe9\n", b"plain\r\n", b"", b"=?x\n",
                                b"--in ner\n\nx\n--in ner--\n", b"\x1b$Bx\x1b(B\n"])


@st.composite
def _multiparts(draw):
    out = [b"Content-Type: " + draw(st.sampled_from([b"multipart/mixed; boundary=B",
                                                     b"multipart/mixed; BOUNDARY=\"B\"  ",
                                                     b"multipart/mixed; boundary=<B>",
                                                     b"multipart/mixed; boundary=\"\\B\"",
                                                     b"multipart/mixed; boundary*0=B",
                                                     b"multipart/digest; boundary=B"])) + b"\n\n"]
    for _ in range(draw(st.integers(0, 4))):
        out.append(b"--B" + draw(st.sampled_from([b"\n", b"\r\n", b" \n", b"--\n"])))
        out.extend(draw(st.lists(_PART_HEADERS, max_size=4)))
        out.append(draw(st.sampled_from([b"\n", b"\r\n", b""])))
        out.append(draw(_PART_BODIES))
    if draw(st.booleans()):
        out.append(b"--B--\n")
    return b"".join(out)


@needs_c
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_multiparts())
def test_generated_multiparts(raw):
    _same(raw)
    _same(raw, Limits(max_part_bytes=3, max_parts=2))


@needs_c
def test_part_values_fall_back():
    ms = message._mimescan
    assert ms.leaf_info("text/plain\u00e9", "") is None and ms.leaf_info(None, "\udce9") is None
    assert ms.leaf_info(b"text/plain", "") is None  # only str
    assert ms.charset_hint("charset=\u00e9") is None and ms.charset_hint("x") == ""
    assert ms.boundary("multipart/mixed; boundary*=''x") is None
    assert ms.boundary("multipart/mixed; boundary=\"a\\b\"") is None
    assert ms.boundary("multipart/mixed") is False
    assert ms.boundary("multipart/mixed; boundary=\" x \" ") == b" x"


def test_decode_transfer_base64_junk():
    # translate(None, _B64_JUNK_BYTES) deletes what _B64_JUNK.sub(b"", ...) deletes
    every = bytes(range(256))
    assert every.translate(None, message._B64_JUNK_BYTES) == message._B64_JUNK.sub(b"", every)
    defects = []
    # "=" is junk too: 7 characters left, cut to 4
    assert message.decode_transfer(b"aGVs\r\n*bG8=\x00\xff!", "Base64 ", defects) == b"hel" and defects == []


# --------------------------------------------------------------------------
# round 3: split_mime (the multipart splitter and _walk's order in C)

def _py_split(raw: bytes, max_parts: int, max_depth: int):
    """_MimeSplitter + _walk's order as split_mime reports them: (root defects, events)."""
    root = message._MimeSplitter(raw).run()
    events = []
    stack = [(root, 0)]
    seen = 0
    while stack:
        part, depth = stack.pop()
        seen += 1
        if seen > max_parts:
            events.append("too-many-parts")
            break
        if isinstance(part.payload, list):
            if depth >= max_depth:
                events.append("too-deep")
                continue
            for child in reversed(part.payload):
                stack.append((child, depth + 1))
        else:
            events.append((part.defects if part is not root and part.defects else None,
                           part.ctype, part.cte or "", part.disp or "", part.payload))
    return list(root.defects), events


def _same_split(raw: bytes, max_parts: int = 200, max_depth: int = 30):
    got = message._mimescan.split_mime(raw, max_parts, max_depth)
    if got is not None:
        assert got == _py_split(raw, max_parts, max_depth)
    return got


_EOLS = st.sampled_from([b"\n", b"\n", b"\n", b"\r\n", b"\r\n", b"\r", b""])
_SPLIT_LINES = st.sampled_from([
    b"--B", b"--B--", b"--B ", b"--B\t--", b"--B-- \t", b"--B-", b"--B---", b"--C", b"--C--", b"--", b"---",
    b"----", b"-- ", b"--BB", b"-B", b" --B", b"--b",
    b"Content-Type: multipart/mixed; boundary=B", b"Content-Type: multipart/mixed; boundary=\"C\"",
    b"content-type:Multipart/Alternative;\tboundary=B", b"Content-Type: multipart/digest; boundary=C",
    b"Content-Type: multipart/mixed; boundary=\"\"", b"Content-Type: multipart/mixed", b"Content-Type: multipart/x/y",
    b"Content-Type: message/rfc822", b"Content-Type: message/delivery-status", b"Content-Type: message/partial",
    b"Content-Type: text/plain; charset=utf-8", b"Content-Type: text/html", b"Content-Type: multipart/mixed;",
    b" boundary=B", b"\tcharset=x", b"Content-Type : text/plain", b"Content-Type:", b"Content-Type: multipart/mixed; boundary*=B",
    b"Content-Type: multipart/mixed; boundary=\xe9", b"Content-Type: text/plain; name=\xe9",
    b"Content-Transfer-Encoding: base64", b"Content-Transfer-Encoding: 7BIT", b"Content-Transfer-Encoding:  binary",
    b"Content-Transfer-Encoding: quoted-printable", b"Content-Disposition: attachment; filename=a.txt",
    b"Content-Disposition: inline", b"From someone", b"From: a@b", b"X-Header: value", b"not a header line",
    b":no name", b"", b"", b"", b"aGVsbG8=", b"body text =?x?q?y?=", b"caf=C3=A9", b"\xe9t\xe9",
])

_EOLS_CLEAN = st.sampled_from([b"\n", b"\n", b"\r\n"])
_SPLIT_LINES_CLEAN = _SPLIT_LINES.filter(lambda line: line not in (b"not a header line", b":no name", b" --B", b"-B"))


@st.composite
def _split_inputs(draw):
    top = draw(st.sampled_from([b"Content-Type: multipart/mixed; boundary=B\n\n",
                                b"Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n",
                                b"Content-Type: multipart/digest; boundary=B\n\n",
                                b"Content-Type: message/rfc822\n\n",
                                b"From x\nContent-Type: multipart/related; boundary=B\nX: y\n\n",
                                b"Content-Type: multipart/mixed; boundary=B\n",
                                b"--B\n", b""]))
    out = [top]
    # mostly without lone CRs or lines that make part headers go line by line: the C splitter's inputs
    clean = draw(st.integers(0, 3)) > 0
    lines, eols = (_SPLIT_LINES_CLEAN, _EOLS_CLEAN) if clean else (_SPLIT_LINES, _EOLS)
    for _ in range(draw(st.integers(0, 30))):
        out.append(draw(lines))
        out.append(draw(eols))
    return b"".join(out)


@needs_c
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_split_inputs(), st.integers(-1, 6), st.integers(-1, 4))
def test_split_mime_against_python(raw, max_parts, max_depth):
    _same_split(raw, max_parts, max_depth)
    _same_split(raw)
    _same(raw)
    _same(raw, Limits(max_parts=max(max_parts, 0), max_depth=max(max_depth, 0), max_part_bytes=5))


@needs_c
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_multiparts())
def test_split_mime_generated_multiparts(raw):
    _same_split(raw)
    _same_split(raw, 2, 1)


_SPLIT_FIXED = [
    b"Content-Type: multipart/mixed; boundary=B\n\npreamble\n--B\nContent-Type: text/plain\n\nhello\n--B\n\n"
    b"second\r\n--B--\nepilogue\n",
    # nested, the same boundary inside and outside
    b"Content-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: multipart/mixed; boundary=B\n\n--B\n\nx\n"
    b"--B--\n--B--\n",
    # nested with another boundary, the inner one never closed
    b"Content-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: multipart/alternative; boundary=C\n\n--C\n\n"
    b"in\n--B\n\nafter\n--B--\n",
    # two boundaries active, then one: _eof_from's remembered answer must not outlive a change
    b"Content-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: multipart/alternative; boundary=C\n\n"
    b"--C\n\none\n--C\n\ntwo\n--C--\nafter\n--B\n\nthree\n--B--\n",
    # the empty boundary: "--", "---" and "----" lines
    b"Content-Type: multipart/mixed; boundary=\"\"\n\n--\n\nx\n---\n\ny\n----\n",
    # digest parts default to message/rfc822
    b"Content-Type: multipart/digest; boundary=D\n\n--D\n\nSubject: a\n\nbody\n--D\nContent-Type: text/plain\n\nt\n--D--\n",
    # message/rfc822 nested, then a delimiter right at the end
    b"Content-Type: message/rfc822\n\nContent-Type: message/rfc822\n\nContent-Type: text/html\n\n<p>x</p>\n",
    b"Content-Type: multipart/mixed; boundary=B\n\n--B\n--B\n--B--\n",
    b"Content-Type: multipart/mixed; boundary=B\n\n--B",
    b"Content-Type: multipart/mixed; boundary=B\n\nno delimiter at all\n",
    b"Content-Type: multipart/mixed; boundary=B\nContent-Transfer-Encoding: base64\n\n--B\n\nx\n--B--\n",
    b"Content-Type: multipart/mixed\n\n--B\n\nx\n",
    b"Content-Type: multipart/mixed; boundary=B\n\n--B\nFrom someone\nContent-Type: text/html\n\nx\n--B--\n",
    b"Content-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\nContent-Type: text/html\n"
    b"Content-Disposition: attachment;\n filename=x.txt\n\nbody\n--B--\n",
]


@needs_c
@pytest.mark.parametrize("raw", _SPLIT_FIXED)
def test_split_mime_fixed(raw):
    assert _same_split(raw) is not None  # all of these are the C splitter's
    _same_split(raw, 1, 0)
    _same(raw)
    _same(raw, Limits(max_parts=2, max_depth=1))


@needs_c
def test_split_mime_falls_back():
    ms = message._mimescan
    body = b"--B\nContent-Type: text/plain\n\nx\n--B--\n"
    top = b"Content-Type: multipart/mixed; boundary=B\n\n"
    assert ms.split_mime(top + body.replace(b"x\n", b"x\r"), 200, 30) is None  # lone CR
    assert ms.split_mime(top + body.replace(b"text/plain", b"message/delivery-status"), 200, 30) is None
    assert ms.split_mime(top + body.replace(b"\n\nx", b"\ngarbage\n\nx"), 200, 30) is None  # the line loop
    assert ms.split_mime(top + body.replace(b"text/plain", b"text/\xe9"), 200, 30) is None  # a Header
    assert ms.split_mime(top.replace(b"boundary=B", b"boundary*=B"), 200, 30) is None  # RFC 2231
    assert ms.split_mime(top + body, 200, 30) is not None
    assert ms.split_mime("str", 200, 30) is None
    for raw in _SPLIT_FIXED[:3] + [top + body.replace(b"x\n", b"x\r")]:
        _same(raw)


# --------------------------------------------------------------------------
# the corpus sample, the fixtures, the hostile cases and mutated messages (tests/equivalence.py)

def _fields(raw, limits):
    pm = parse(raw, limits)
    return [(f, [(a.name, a.content_type, a.size) for a in pm.attachments] if f == "attachments" else getattr(pm, f))
            for f in FIELDS]


_SMALL = [Limits(max_headers=3), Limits(max_headers=0), Limits(max_headers=-1), Limits(max_bytes=300)]


@needs_c
def test_corpus_fixtures_hostile_and_mutated_messages():
    """Every ParsedMessage field the same with _mimescan and with the Python code; mutated messages (header
    blocks, multipart lines, Content-Type parameters) also with small limits."""
    n = 0
    for name, raw in eq.messages():
        eq.compare(lambda: _fields(raw, message.DEFAULT_LIMITS), (message, "_mimescan"), label=name)
        n += 1
    for k, (name, raw) in enumerate(eq.mutated(600)):
        eq.compare(lambda: _fields(raw, message.DEFAULT_LIMITS), (message, "_mimescan"), label=name)
        eq.compare(lambda: _fields(raw, _SMALL[k % 4]), (message, "_mimescan"), label=f"{name} {_SMALL[k % 4]}")
    assert n > 60
