import pytest

from spamscore.features import FeatureOptions, analyze, extract
from spamscore.features.auth import parse_authentication_results
from spamscore.features.tokens import words
from spamscore.features.urls import link_mismatch, parse_url, registered_domain
from spamscore.message import parse

from conftest import fixture_bytes


def feats(name, **opts):
    return set(extract(parse(fixture_bytes(name)), FeatureOptions(**opts)))


@pytest.mark.parametrize("name", ["japanese_iso2022jp.eml", "japanese_sjis.eml"])
def test_japanese_unspaced_text_is_segmented(name):
    f = feats(name)
    for bigram in ("無料", "当選", "参加"):
        assert bigram in f, bigram
    assert {"subject:無料", "subject:当選", "subject:緊急"} <= f
    assert "キャンペーン" in f          # a katakana run is also kept whole


def test_fullwidth_and_zero_width_are_normalised():
    assert "free" in words("ＦＲＥＥ money")
    assert "viagra" in words("vi\u200bagra now")


def test_long_words_become_skip_tokens_and_short_ones_are_dropped():
    w = words("an extraordinarilylongwordindeed ok tokenized")
    assert "skip:e 20" in w and "tokenized" in w        # 29 characters: length rounded down to tens
    assert "an" not in w and "ok" not in w


def test_subject_and_header_tokens_are_prefixed():
    f = feats("plain_ham.eml")
    assert {"subject:meeting", "from:domain:example.org", "from:user:alice", "from:name:alice",
            "message-id:mail.example.org", "hdr:message-id"} <= f


def test_url_signals():
    f = feats("multipart_spam.eml")
    assert {"url:shortener", "url:ip-host", "url:port", "url:text-mismatch", "url:bit.ly"} <= f
    assert any(x.startswith("url:count:") for x in f)


def test_parse_url_tricks():
    u = parse_url("http://www.paypal.com@evil.example:8443/login")
    assert u.userinfo and u.port == 8443 and u.domain == "evil.example"
    assert parse_url("https://xn--pypal-4ve.com/").idn
    assert parse_url("http://3232235777/").ip_host
    assert parse_url("mailto:x@example.com") is None
    assert registered_domain("mail.example.co.uk") == "example.co.uk"
    assert link_mismatch("http://login-paypa1.example/", "www.paypal.com") == ("paypal.com", "login-paypa1.example")
    assert link_mismatch("https://www.paypal.com/x", "paypal.com") is None


def test_html_image_ratio_hidden_text_and_visible_text():
    f = feats("html_images.eml")
    assert "html:images:2**1" in f and "html:image-only" in f and "html:no-text-alternative" in f
    assert any(x.startswith("html:chars-per-image:") for x in f)
    spam = feats("multipart_spam.eml")
    assert any(x.startswith("html:hidden-text:") for x in spam)
    a = analyze(parse(fixture_bytes("multipart_spam.eml")))
    assert "fool" not in a.html.visible_text      # display:none text is not visible text
    assert "Congratulations!" in a.html.visible_text


def test_authentication_results_trusted_only_from_listed_authserv_ids():
    untrusted = feats("forged_auth.eml")
    assert "auth:ar-untrusted" in untrusted
    assert not any(x.startswith("auth:dmarc") or x.startswith("auth:spf") for x in untrusted)
    trusted = feats("forged_auth.eml", trusted_authserv_ids=frozenset({"mx.receiver.example"}))
    assert {"auth:spf=fail", "auth:dmarc=fail", "auth:dkim=none"} <= trusted
    assert "auth:dmarc=pass" not in trusted       # the forged one from mx.example.net stays ignored
    assert {"spf-hdr:fail", "dkim:signed", "dkim:d=attacker.example", "dkim:unaligned"} <= trusted


def test_dkim_pass_alignment():
    raw = (b"Authentication-Results: mx.me.example; dkim=pass header.d=news.shop.example; spf=pass smtp.mailfrom=bounce@other.example\n"
           b"From: Shop <hello@shop.example>\nSubject: hi\n\nbody\n")
    f = set(extract(parse(raw), FeatureOptions(trusted_authserv_ids=frozenset({"mx.me.example"}))))
    assert {"auth:dkim=pass:aligned", "auth:spf=pass:unaligned"} <= f


def test_parse_authentication_results_properties():
    sid, results = parse_authentication_results(
        "mx.example.net (comment); spf=pass (sender ok) smtp.mailfrom=a@b.example; dkim=fail reason=\"bad sig\" header.d=b.example")
    assert sid == "mx.example.net"
    assert [(r.method, r.result) for r in results] == [("spf", "pass"), ("dkim", "fail")]
    assert results[0].props["smtp.mailfrom"] == "a@b.example" and results[1].props["header.d"] == "b.example"


def test_other_filters_headers_are_ignored_by_default():
    raw = b"X-Spam-Status: Yes, score=20\nX-Bogosity: Spam\nX-Virus-Scanned: ok\nSubject: hi\n\nhello there\n"
    f = set(extract(parse(raw)))
    assert not any("x-spam" in x or "x-bogosity" in x or "x-virus" in x for x in f)
    kept = set(extract(parse(raw), FeatureOptions(ignored_headers=())))
    assert "hdr:x-spam-status" in kept


def test_defects_become_features():
    f = feats("broken_mime.eml")
    assert any(x.startswith("defect:") for x in f)


def test_collection_artifacts_are_no_features():
    """Delivery-Date (written by the mail store) and "no Received header" recorded how the
    SpamAssassin corpus was collected, not what the sender did."""
    from spamscore.features import extract
    from spamscore.message import parse

    raw = b"Delivery-Date: Mon, 02 Sep 2002 10:00:00 +0100\nFrom: a@b.example\nSubject: hi\n\nhello there\n"
    feats = extract(parse(raw))
    assert not [f for f in feats if "delivery-date" in f or f.startswith("hdr:received-count")]
    relayed = extract(parse(b"Received: from x.example by y.example; Mon, 2 Sep 2002 10:00:00 +0000\n" + raw))
    assert "hdr:received-count:1" in relayed and "hdr:received" in relayed
