"""The shortcuts of feature extraction give what the plain calls give.

analyze() splits the body texts once for find_urls and the word tokens;
words() and find_urls() take that split; url_features() caches per URL.
"""

import dataclasses

import pytest

from spamscore.features import FeatureOptions, analyze, extract
from spamscore.features.tokens import body_tokens, header_tokens, shape, _SHAPE, _SHAPE_RUNS, words
from spamscore.features.urls import find_urls, url_features
from spamscore.message import parse

from conftest import fixture_bytes

TEXTS = [
    "Click HERE now, to claim your prize! an extraordinarilylongwordindeed http://x.example/a www.y.example",
    "", "   ", "one", "dear friend\n\nfree money FREE MONEY (click) here...",
    "See https://bit.ly/x, and WWW.EXAMPLE.COM/path. ftp://files.example/f",
]


@pytest.mark.parametrize("text", TEXTS)
def test_words_and_find_urls_with_a_given_split_equal_the_plain_calls(text):
    seq = text.lower().split()
    for bigrams in (False, True, "bi:"):
        assert words(text, "p:", 1000, bigrams, seq=seq) == words(text, "p:", 1000, bigrams)
    assert find_urls(text, 3, text.lower(), seq) == find_urls(text, 3)


def test_body_tokens_with_splits_equal_without():
    texts = [TEXTS[0], TEXTS[4]]
    seqs = [t.lower().split() for t in texts]
    assert body_tokens(texts, 20_000, seqs) == body_tokens(texts, 20_000)
    assert body_tokens(texts, 20_000, [None, seqs[1]]) == body_tokens(texts, 20_000)


def test_words_bigrams_skip_tokens_and_prefixes():
    w = words("Dear friend, a superextraordinarily good deal", "x:", bigrams="bi:")
    assert {"x:dear", "x:friend", "x:good", "x:deal", "x:skip:s 20", "bi:dear friend", "bi:good deal"} == w


def test_extract_with_an_analysis_made_with_other_bounds():
    pm = parse(fixture_bytes("multipart_spam.eml"))
    small = FeatureOptions(max_text_chars=40)
    # an Analysis built with other options: its split is not used for these
    assert set(extract(pm, small, analyze(pm))) == set(extract(pm, small, _without_splits(analyze(pm))))
    assert set(extract(pm)) == set(extract(pm, analysis=_without_splits(analyze(pm))))


def _without_splits(a):
    return dataclasses.replace(a, plain_seq=None, html_seq=None, visible_text=None, seq_chars=-1)


def test_url_features_are_the_same_from_the_cache():
    urls = ["http://bit.ly/abc", "http://1.2.3.4:8080/x/login.php", "http://bit.ly/abc", "mailto:x", "x" * 3000]
    links = [("http://evil.example/", "www.paypal.com"), ("http://a.example/" + "p" * 3000, "paypal.com")]
    first = url_features(urls, links)
    assert first == url_features(urls, links)
    assert {"url:shortener", "url:ip-host", "url:port", "url:text-mismatch", "url:count:2**1"} <= set(first)
    assert first.count("url:text-mismatch") == 2


def test_header_tokens_handlers():
    toks = header_tokens([
        ("received", "from mail.example.co.uk ([10.1.2.3]) by mx.example.org; Mon, 1 Jan 2002"),
        ("x-spam-flag", "YES"), ("message-id", "<a@B.Example>"), ("date", "Mon, 26 Aug 2002 12:34:56 -0700"),
        ("from", "Alice <alice@mail.example.com>"), ("x-other", "v"),
    ])
    assert {"received:mail.example.co.uk", "received:example.co.uk", "received:mx.example.org",
            "received:example.org", "received:ip:10.1", "received:ip:10.1.2", "message-id:b.example",
            "date:shape:Aa, 9 Aa 9 9:9:9 -9", "date:tz:-0700", "from:domain:mail.example.com",
            "from:domain:example.com", "hdr:x-other", "hdr:received-count:1"} <= set(toks)
    assert not any("spam" in t for t in toks)


@pytest.mark.parametrize("value", ["Mon, 26 Aug 2002", "a\n\nb--c", "----=_NextPart_000_0001", "", "\n", "xx\nyy\n\n"])
def test_shape_equals_the_regex_collapse(value):
    assert shape(value) == _SHAPE_RUNS.sub(r"\1", value.translate(_SHAPE))
