"""Tokenizer behaviour added or kept by the tune branch (CJK, bigrams, ignored headers, hostile input)."""

from __future__ import annotations

import base64

import pytest

from spamscore.features import extract
from spamscore.features.tokens import header_tokens, normalize, words
from spamscore.message import parse


def _jp_message(charset: str, cte: str = "8bit") -> bytes:
    subject_text = "今すぐ無料でお試しください"
    body_text = "おめでとうございます当選しましたキャンペーン実施中"
    subj = base64.b64encode(subject_text.encode(charset)).decode()
    body = body_text.encode(charset)
    if cte == "base64":
        body = base64.encodebytes(body)
    return (
        f"From: a@example.jp\nTo: b@example.jp\nSubject: =?{charset}?B?{subj}?=\n"
        f"MIME-Version: 1.0\nContent-Type: text/plain; charset={charset}\n"
        f"Content-Transfer-Encoding: {cte}\n\n"
    ).encode() + body + b"\n"


@pytest.mark.parametrize("charset,cte", [("iso-2022-jp", "7bit"), ("shift_jis", "8bit"), ("shift_jis", "base64")])
def test_japanese_unspaced_text_yields_bigrams(charset, cte):
    feats = set(extract(parse(_jp_message(charset, cte))))
    assert "subject:無料" in feats
    assert "当選" in feats
    assert "キャンペーン" in feats  # katakana run kept whole
    assert "無料" not in feats      # the subject word is not in the body


def test_full_width_and_zero_width_are_normalised():
    assert normalize("ｆｒｅｅ") == "free"
    assert "free" in words("get it ｆｒ\u200bｅｅ now")
    assert "viagra" in words("vi\u00ada\u200bgra")


def test_word_bigrams_and_skip_tokens():
    toks = words("Click HERE now, to claim your prize!", bigrams=True)
    assert "click here" in toks
    assert "claim your" in toks
    assert "now to" not in toks          # "to" is too short to be kept
    assert "here now" in toks             # punctuation stripped before pairing
    assert words("x" * 25) == {"skip:x 20"}
    assert not any(" " in t for t in words("Click here now"))


def test_bigrams_prefixed():
    assert "bi:dear friend" in words("dear friend", bigrams="bi:")


def test_filter_and_mailbox_headers_are_ignored():
    headers = [("x-keywords", "junk"), ("x-status", ""), ("status", "RO"),
               ("x-mailscanner", "Found to be clean"), ("x-spam-status", "Yes"),
               ("x-mailer", "Mutt")]
    toks = header_tokens(headers)
    assert not any("keywords" in t or "status" in t or "mailscanner" in t or "spam" in t for t in toks)
    assert "hdr:x-mailer" in toks


@pytest.mark.parametrize("raw", [
    b"", b"\x00\xff" * 1000, b"Subject: " + b"a" * 200_000,
    b"Content-Type: text/html\n\n" + b"<div>" * 20_000,
    b"Content-Type: text/html\n\n" + b"<html><body></body></html>",
    b"Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/html\n\n<p>hi</p>\n--x--\n",
    "Subject: \u200b\u00ad テスト\n\n" .encode("utf-8") + "ｶﾀｶﾅ 全角ｆｒｅｅ".encode("utf-8"),
    b"X-A: b\n" * 70_000 + b"\nbody",
    b"Subject:" + b" " * 300_000 + b"x\n\nbody",
    (b"a" * 250 + b"\n") * 2000 + b"\nbody",
    b"Subject: a\n" + b" b\n" * 100_000 + b"\nbody",
    b"Date: " + b"1" * 100_000 + b"\n\nx",
    b"Content-Type: text/plain; boundary=\"" + b"-" * 100_000 + b"\"\n\nx",
])
def test_hostile_input_never_raises(raw):
    feats = extract(parse(raw))
    assert isinstance(feats, list) and all(isinstance(f, str) for f in feats)


def test_bigrams_from_plain_text_only():
    from spamscore.features.tokens import body_tokens
    toks = body_tokens(["dear friend", "free money click here"])
    assert "dear friend" in toks
    assert "free" in toks and "money" in toks and "click" in toks
    assert "free money" not in toks and "click here" not in toks
    html_only = extract(parse(b"Content-Type: text/html\n\n<table><tr><td>free</td><td>money</td></tr></table>"))
    assert "free" in html_only and "money" in html_only and "free money" not in html_only


def test_date_and_boundary_shapes():
    from spamscore.features.tokens import shape
    assert shape("----=_NextPart_000_0001_01C2") == "-=_AaAa_9_9_9A9"
    toks = header_tokens([("date", "Mon, 26 Aug 2002 12:34:56 -0700"),
                          ("content-type", 'multipart/alternative; boundary="----=_NextPart_000_0001_01C2"')])
    assert "date:shape:Aa, 9 Aa 9 9:9:9 -9" in toks
    assert "date:tz:-0700" in toks
    assert "boundary:-=_AaAa_9_9_9A9" in toks
    assert shape("a" * 100_000) == "a"  # bounded, no blow-up


def test_capitals_share_token():
    from spamscore.features.tokens import body_tokens
    assert "body:caps:20" not in body_tokens(["x"])
    assert "body:caps:10" in body_tokens(["FREE MONEY FOR EVERYONE TODAY ONLY"])
    assert "body:caps:0" in body_tokens(["see you at the meeting tomorrow, bring the notes"])
    assert not any(t.startswith("body:caps:") for t in body_tokens(["short"]))
    assert any(t.startswith("body:caps:") for t in body_tokens(["\ud800 lone surrogate " * 5]))


def test_header_fast_path_matches_field_by_field_split():
    from spamscore.message import DEFAULT_LIMITS, _split_headers, _split_headers_slow
    for raw in (b"From x Mon\nSubject: a\r\n\tb\r\nTo: c@d.e\r\n\r\nbody",
                b"Subject: a\n b\nFrom: x@y.z\n\nbody\n",
                b"Subject: a\nnot a header line\nFrom: x@y.z\n\nbody\n",
                b"Subject: only headers\n"):
        pos = raw.find(b"\n") + 1 if raw.startswith(b"From ") else 0
        fast, slow = _split_headers(raw, DEFAULT_LIMITS, []), _split_headers_slow(raw, pos, DEFAULT_LIMITS, [])
        assert fast[1] == slow[1]
        assert [(k, v.replace("\r", "")) for k, v in fast[0]] == [(k, v.replace("\r", "")) for k, v in slow[0]]
    fields, body_at = _split_headers(b"Subject: a\nnot a header line\n\nbody", DEFAULT_LIMITS, [])
    assert fields == [("subject", "a")]
