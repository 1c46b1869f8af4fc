from spamscore.message import Limits, decode_bytes, decode_header_value, parse

from conftest import fixture_bytes


def test_plain_message_headers_and_body():
    pm = parse(fixture_bytes("plain_ham.eml"))
    assert pm.get("from") == "Alice Example <alice@example.org>"
    assert pm.subject == "Re: meeting notes for the release"
    assert len(pm.text) == 1 and "release branch is cut" in pm.text[0]
    assert pm.html == [] and pm.attachments == [] and pm.defects == []


def test_multipart_quoted_printable_and_base64_html():
    pm = parse(fixture_bytes("multipart_spam.eml"))
    assert len(pm.text) == 1 and len(pm.html) == 1
    assert "\u00a3500" in pm.text[0]          # =A3 in iso-8859-1 is the pound sign
    assert "<img" in pm.html[0] and "FREE" in pm.html[0]
    assert ("text/html", "utf-8") in pm.parts


def test_iso2022jp_subject_body_and_from_name():
    pm = parse(fixture_bytes("japanese_iso2022jp.eml"))
    assert pm.subject == "【緊急】無料プレゼント当選"
    assert "無料でご当選" in pm.text[0]
    assert "サービス" in pm.get("from")


def test_shift_jis_raw_8bit_subject_uses_body_charset():
    pm = parse(fixture_bytes("japanese_sjis.eml"))
    assert pm.subject == "【緊急】無料プレゼント当選"
    assert "キャンペーン" in pm.text[0]


def test_broken_mime_becomes_defects_not_exceptions():
    pm = parse(fixture_bytes("broken_mime.eml"))
    assert pm.defects, "missing boundary should be recorded"
    assert any("Boundary" in d or "charset" in d for d in pm.defects)


def test_attachments_are_kept_as_name_type_size():
    raw = (b"From: a@b.example\nSubject: files\nMIME-Version: 1.0\n"
           b"Content-Type: multipart/mixed; boundary=XX\n\n--XX\nContent-Type: text/plain\n\nsee attached\n"
           b"--XX\nContent-Type: application/pdf; name=\"report.pdf\"\nContent-Transfer-Encoding: base64\n"
           b"Content-Disposition: attachment; filename=\"report.pdf\"\n\nJVBERi0xLjQKJcfs\n--XX--\n")
    pm = parse(raw)
    assert len(pm.attachments) == 1
    att = pm.attachments[0]
    assert (att.name, att.content_type) == ("report.pdf", "application/pdf") and att.size > 0
    assert pm.text == ["see attached"]


def test_mbox_from_line_and_crlf_are_tolerated():
    raw = b"From alice@example.org Mon Sep  2 10:00:00 2002\r\nSubject: hello\r\nFrom: alice@example.org\r\n\r\nbody text\r\n"
    pm = parse(raw)
    assert pm.subject == "hello"
    assert pm.get("from") == "alice@example.org"
    assert pm.text[0].strip() == "body text"


def test_rfc2047_and_unknown_charsets_fall_back():
    assert decode_header_value("=?utf-8?b?5Lit5paH?= mixed") == "中文 mixed"
    assert decode_header_value("=?x-unknown?q?caf=E9?=") == "café"
    assert decode_bytes("żółw".encode("utf-8"), "us-ascii") == "żółw"
    assert decode_bytes(b"\xff\xfe garbage", "no-such-charset") == "ÿþ garbage"
    assert decode_bytes("한국어".encode("euc-kr"), "ks_c_5601-1987") == "한국어"
    assert decode_bytes("中文".encode("gb2312"), "gb2312") == "中文"


def test_limits_truncate_large_messages():
    raw = b"Subject: big\n\n" + b"word " * 100_000
    pm = parse(raw, Limits(max_bytes=1000))
    assert pm.truncated and pm.size == len(raw)
    assert len(pm.text[0]) < 1000


def test_non_mail_bytes_and_str_input():
    pm = parse(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    assert "nul-byte" in pm.defects
    import pytest

    with pytest.raises(TypeError):
        parse(12345)


def test_header_values_plain_and_encoded_together():
    # plain values are cleaned in one pass, the others one by one: both must keep their order
    raw = b"Subject: =?utf-8?b?5Lit5paH?=\r\nX-Folded: a\r\n\tb\x01c\r\nTo: x@y\r\n\r\nbody"
    assert parse(raw).headers == [("subject", "中文"), ("x-folded", "a \tb c"), ("to", "x@y")]
    raw = b"X-Folded: a\r\n\tb\x7fc\r\nX-8: caf\xe9\r\n\r\nbody"
    assert parse(raw).headers == [("x-folded", "a \tb c"), ("x-8", "café")]
    assert parse(b"X-A: one\r\nX-B: two\x1b[0m\r\n\r\n").headers == [("x-a", "one"), ("x-b", "two [0m")]
