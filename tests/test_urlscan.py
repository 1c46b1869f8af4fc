"""The compiled URL scan (spamscore._urlscan) gives what the Python reference gives.

find_urls (with the split given, and without it: find_urls_text), the tokens
of one URL, and url_features, C against the Python code of
spamscore.features.urls (``urls._urlscan = None``), on fixed cases and on
generated hostile-ish strings.
"""

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from spamscore.features import urls

import equivalence as eq
from conftest import native_reason

C = urls._urlscan
pytestmark = pytest.mark.skipif(C is None, reason=native_reason("_urlscan"))


def both(fn):
    """fn() with the C module and with the Python reference: (C result, Python result), each computed afresh."""
    _clear_caches()
    c = eq.outcome(fn)
    _clear_caches()
    with eq.off((urls, "_urlscan")):
        p = eq.outcome(fn)
    return c, p


def py_tokens(url):
    return urls.url_tokens_py(url)


def c_tokens(url):
    return C.url_tokens(url, urls.registered_domain, urls.SHORTENERS, _no_fallback)


def _no_fallback(url):
    return ("fallback", url)


# pieces that matter to the scanners, mixed with hostile characters
PIECES = [
    "http://", "https://", "ftp://", "HTTP://", "HtTpS://", "www.", "WWW.", "wWw.", "://", "httpss://", "http:/",
    "xn--", "bit.ly", "t.co", "example.com", "mail.example.co.uk", "1.2.3.4", "0x7f000001", "3232235777",
    "[::1]", "[", "]", ":", ":80", ":443", ":8080", ":0080", ":1234567", "@", "user:pw@", "/", "?", "#", "&",
    "=", ".", "..", ";", "_", "+", "%", "-", "a", "Z", "9", "_x", "path", "longpathsegment", "x" * 25,
    ",", ")", "]", "}", ">", "<", "'", '"', "`", "{", "|", "\\", "^", "!", " ", "\t", "\n", "\r", "\r\n",
    "\x00", "\x0b", "\x0c", "\x1c", "\x1f", "\x7f", "\x85", "\xa0", "\u2028", "\u3000", "é", "ü", "ſ", "\u212a",
    "İ", "ı", "\u0301", "пример", "例え", "\U0001f600", "\udcff", "\udc80", "\x80", "¹²", "٣", "0", "12",
]

pieces = st.lists(st.sampled_from(PIECES) | st.text(max_size=6), max_size=40).map("".join)
ascii_pieces = st.lists(st.sampled_from([p for p in PIECES if p.isascii()]) | st.text(st.characters(max_codepoint=127), max_size=6), max_size=40).map("".join)
any_text = pieces | ascii_pieces | st.text(max_size=200)

FIXED_TEXTS = [
    "", " ", "http://", "www.", "www.a", "http://a", "see http://example.com/a/b?c=d#e, and www.x.org.",
    "xhttp://a _http://b 9www.c (http://d) <http://e> \"http://f\" 'www.g'", "http://a\"http://b'www.c",
    "https://" + "a" * 5000, "www." + "." * 3000, "http://x" + "," * 10, "HTTPS://BIG.EXAMPLE/UP",
    "httpſ://long-s.example/ http://ü.example/ www.例え.jp/x", "http://a\x85http://b\xa0www.c\u3000ftp://d",
    "http://x:80/ http://x:0443/ https://[::1]:8443/ http://[::1 ftp://u@h:21/ www.t.co/abc",
    "\udcff http://\udcfe.example/ \udc80www.x", "a" * 10000 + "www.b.c " + "http://" * 100,
]


class _Str(str):
    pass


def test_find_urls_odd_inputs_like_python():
    for args in (("t", 1, "http://a www.b", ["http://a", 3]), ("t", 1, "http://a", ["http://a", b"www.x"]),
                 ("t", 5, "http://a", ("http://a", "www.b")), ("t", 5, _Str("http://a www.b"), None),
                 ("t", 5, "http://a", [_Str("http://a"), "www.b"]), (_Str("HTTP://A.B"), 5)):
        c, p = both(lambda: urls.find_urls(*args))
        assert c == p, args
    assert C.find_urls_text(_Str("http://a"), 5, urls._word_urls) is None


def _char_cases():
    # every ASCII character (and a few others) inside, after and before a URL,
    # and the 2048-character bound of the match
    for i in list(range(128)) + [0x85, 0xA0, 0xE9, 0x17F, 0x2028, 0xDCFF, 0x1F600]:
        c = chr(i)
        yield f"http://a{c}b www.{c}x http://a{c} {c}http://z {c}www.y http://q{c}{c}r{c}{c} https{c}://s"
    for n in (2046, 2047, 2048, 2049, 2050):
        yield "http://" + "a" * n + ")" + "b" * 3
        yield "www." + "." * n + "c"


def test_fixed_find_urls():
    for text in FIXED_TEXTS + list(_char_cases()):
        low = text.lower()
        seq = low.split()
        for limit in (500, 3, 2, 1, 0, -1, -2, 10**30, -(10**30)):
            for args in ((text, limit), (text, limit, low), (text, limit, low, seq), (text, limit, None, seq)):
                c, p = both(lambda: urls.find_urls(*args))
                assert c == p, (text[:80], limit, len(args))


def test_find_urls_known_values():
    # the module is really used and finds what the regex finds
    assert urls.find_urls("see http://example.com/a), and WWW.X.ORG.", 500) == ["http://example.com/a", "www.x.org"]
    assert C.find_urls(["http://a\"https://b", "x", "www.c"], 500, urls._word_urls) == ["http://a", "https://b", "www.c"]
    assert C.find_urls_text("http://a\"https://b x www.c", 2, urls._word_urls) == ["http://a", "https://b"]
    assert C.find_urls(("not", "a list"), 5, urls._word_urls) is None
    assert C.find_urls(["ok", 3], 5, urls._word_urls) is None
    # a non-ASCII word goes to the Python callable
    seen = []
    assert C.find_urls_text("x http://é.example y", 5, lambda w: seen.append(w) or ["z"]) == ["z"]
    assert seen == ["http://é.example"]


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=any_text, limit=st.integers(-3, 6) | st.just(500))
@example(text="http://a\x1chttp://b", limit=500)
@example(text="ſhttp://a", limit=500)
def test_find_urls_matches_python(text, limit):
    low = text.lower()
    seq = low.split()
    for args in ((text, limit), (text, limit, low), (text, limit, low, seq)):
        c, p = both(lambda: urls.find_urls(*args))
        assert c == p


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(seq=st.lists(any_text, max_size=12), limit=st.integers(-3, 6) | st.just(500))
def test_find_urls_any_seq_matches_python(seq, limit):
    # a seq that is not low.split() (words with white space, empty words)
    c, p = both(lambda: urls.find_urls("http:// www.", limit, "http:// www.", list(seq)))
    assert c == p


FIXED_URLS = [
    "", " ", "http://", "www.", "http://a", "HTTP://A.B/C", " \thttps://Mail.Example.CO.UK/Path?Q=1#F \r\n",
    "ftp://u:p@host:21/x", "http://u@v@w.example:8080/a", "http://1.2.3.4/", "http://1.2.3.4\n/", "http://1.2.3.4\n\n/",
    "http://0x7F000001/", "http://0x7f000001\n:1/", "http://3232235777/", "http://12345/", "http://12345678901/",
    "http://[::1]:8443/x", "http://[::1]:/x", "http://[::1]:12a/", "http://[::1/", "http://[::1]junk/",
    "http://a.example:0080/", "http://a.example:443/", "http://a.example:1234567/", "http://a.example:/",
    "http://a.example:¹²/", "http://xn--bcher-kva.example/", "http://bit.ly/abc", "http://www.bit.ly/",
    "https://t.co/xyz", "http://...example...", "http://.../", "http://:80/", "http://@/", "mailto:a@b",
    "javascript:alert(1)", " HtTp :// example.com", "https ://x.example", "\x1chttp://x.example\x1f",
    "www.Example.com/A/B_C+D%E-F;G:H=I&J?K#L/this-is-a-very-long-segment/xy/abc/abcd/abcde/abcdef",
    "http://a.example/" + "/".join(["seg%d" % i for i in range(20)]), "http://" + "a" * 3000 + ".example/",
    "http://h.example/" + "p" * 3000, "http://é.example/", "http://a.example/é", "http://ſ.example/",
    "http://\udcff.example/", "http://localhost/", "http://a.b.c.d.e.example/", "http://example/",
    "http://host.test/", "http://a.local:99/", "http://user@1.2.3.4:8080/",
]


def test_fixed_url_tokens():
    for url in FIXED_URLS:
        expect = py_tokens(url)
        got = c_tokens(url)
        if url.isascii():
            assert got == expect, url[:80]
        else:
            assert got == ("fallback", url)


def test_url_tokens_known_values():
    assert c_tokens("http://u@Mail.Example.CO.UK:8080/a/long-path.html?q=1") == (
        "example.co.uk",
        ("url:example.co.uk", "proto:http", "url-host:mail.example.co.uk", "url:port", "url:userinfo",
         "url-path:long", "url-path:path", "url-path:html"),
    )
    assert c_tokens("http://1.2.3.4\n/x") == ("1.2.3.4\n", ("url:1.2.3.4\n", "proto:http", "url:ip-host"))
    assert c_tokens("mailto:x@y") is None


urlish = st.lists(st.sampled_from(PIECES[:60]) | st.text(st.characters(max_codepoint=127), max_size=5), max_size=25).map("".join)


@settings(max_examples=800, deadline=None, suppress_health_check=list(HealthCheck))
@given(url=urlish | any_text)
def test_url_tokens_match_python(url):
    got = c_tokens(url)
    if url.isascii():
        assert got == py_tokens(url)
    else:
        assert got == ("fallback", url)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    us=st.lists(urlish | any_text | st.sampled_from(FIXED_URLS), max_size=12),
    links=st.lists(st.tuples(urlish | st.sampled_from(FIXED_URLS), any_text | st.sampled_from(["example.com", "Visit PAYPAL.COM now", "bit.ly/x"])), max_size=6),
    max_urls=st.integers(-2, 5) | st.just(500),
)
def test_url_features_match_python(us, links, max_urls):
    us = us + us[:3]  # repeated URLs are counted once per time
    c, p = both(lambda: urls.url_features(list(us), list(links), max_urls))
    assert c == p


def test_fixed_url_features():
    us = FIXED_URLS + FIXED_URLS[:10]
    links = [(u, t) for u in FIXED_URLS for t in ("", "example.com", "www.paypal.com", "x" * 400 + " a.com")]
    links.append(("http://" + "h" * 3000 + ".com/", "see b.com"))
    for max_urls in (500, 10, 1, 0, -1):
        c, p = both(lambda: urls.url_features(us, links, max_urls))
        assert c == p
    out = urls.url_features(["http://bit.ly/x", "http://bit.ly/x", "http://a.example/"], [("http://a.example/", "paypal.com")])
    assert out == ["url:bit.ly", "proto:http", "url:shortener", "url:a.example", "proto:http",
                   "url:text-mismatch", "url:count:2**1", "url:domains:2**1"]


def test_url_features_odd_inputs_fall_back_or_raise_alike():
    assert C.url_features(("x",), [], urls.registered_domain, urls.SHORTENERS, urls._url_tokens,
                          urls._link_mismatch_cached, urls.link_mismatch, 2048) is None
    assert C.url_features([], [["http://a", "b"]], urls.registered_domain, urls.SHORTENERS, urls._url_tokens,
                          urls._link_mismatch_cached, urls.link_mismatch, 2048) is None
    for us, links in (([b"http://a/"], []), ([["unhashable"]], []), ([3], []), (["http://a/"], [["http://b/", "c.com"]]),
                      (("http://a/",), ()), (["http://a/"], [("http://b/", "x.com", "extra")])):
        c, p = both(lambda: urls.url_features(us, links, 500))
        assert c == p, (us, links)


def test_huge_inputs_are_linear():
    import time
    text = ("http://" * 200_000) + ("www." * 200_000) + "https://" + "a" * 2_000_000
    t0 = time.process_time()
    c, p = both(lambda: urls.find_urls(text, 10**9))
    assert c == p
    c, p = both(lambda: urls.url_features([text[-500_000:], "http://" + "@:" * 500_000], [], 500))
    assert c == p
    assert time.process_time() - t0 < 60


TEXTS_FOR_LINKS = ["", "example.com", "Visit PAYPAL.COM now", "bit.ly/x", "www.t.co", "a.b.c.d.example.org", "file.txt",
                   "v1.2", "http://other.example.net/x", "sub.EXAMPLE.co.uk", "x" * 400 + " a.com", "é.com", "ſ.com"]


@settings(max_examples=500, deadline=None, suppress_health_check=list(HealthCheck))
@given(href=urlish | any_text | st.sampled_from(FIXED_URLS),
       text=any_text | st.sampled_from(TEXTS_FOR_LINKS))
def test_link_mismatch_matches_python(href, text):
    c, p = both(lambda: urls.link_mismatch(href, text))
    assert c == p


def test_fixed_link_mismatch():
    for href in FIXED_URLS:
        for text in TEXTS_FOR_LINKS:
            c, p = both(lambda: urls.link_mismatch(href, text))
            assert c == p, (href, text)
    assert urls.link_mismatch("http://www.evil.example/login", "www.PayPal.com") == ("paypal.com", "evil.example")
    assert urls.link_mismatch("http://é.example/", "paypal.com") == ("paypal.com", "é.example")


# ---- the corpus sample, the fixtures and the hostile cases (tests/equivalence.py) ----

def _clear_caches():
    """Each side computes every value itself (registered_domain, pure Python and shared, is kept)."""
    for f in (urls.parse_url, urls._url_tokens_cached, urls._link_mismatch_cached):
        f.cache_clear()


def test_corpus_fixtures_and_hostile_cases():
    """find_urls (split given and not, small limits), url_features, each URL's tokens, link_mismatch and
    extract with _urlscan and with the Python code, on every input of tests/equivalence.py."""
    from spamscore.features import analyze, extract
    from spamscore.message import parse

    switch = (urls, "_urlscan")
    n = 0
    for name, raw in eq.messages():
        pm = parse(raw)
        eq.compare(lambda: analyze(pm).urls, switch, label=name, before=_clear_caches)
        with eq.off(switch):
            a = analyze(pm)
        texts = [a.plain_text] + ([a.visible_text] if a.visible_text is not None else [])
        for text in texts:
            low = text.lower()
            seq = low.split()
            for limit in (500, 3, 0):
                for args in ((text, limit), (text, limit, low), (text, limit, low, seq)):
                    eq.compare(lambda: urls.find_urls(*args), switch, label=f"{name} find_urls {limit} {len(args)}",
                               before=_clear_caches)
        for max_urls in (500, 2):
            eq.compare(lambda: urls.url_features(a.urls, a.html.links, max_urls), switch, label=name,
                       before=_clear_caches)
        for u in a.urls[:50]:
            eq.assert_same(C.url_tokens(u, urls.registered_domain, urls.SHORTENERS, urls.url_tokens_py),
                           urls.url_tokens_py(u), f"{name} {u[:80]!r}")
        for href, text in a.html.links[:50]:
            eq.compare(lambda: urls.link_mismatch(href, text), switch, label=f"{name} {href[:80]!r}")
        eq.compare(lambda: sorted(extract(pm)), switch, label=name + " extract", before=_clear_caches)
        n += 1
    assert n > 60


def test_url_features_holds_the_counts_it_reads():
    """Issue 15's audit: url_features read each distinct URL and its count (an int) borrowed from its own
    dict of counts across the registered_domain callback.  That dict is reachable from Python code through
    gc.get_objects() once a key is a GC-tracked str subclass; a callback that empties it freed the count
    (above 256: not a cached small int) read after it.  Both are now held.  In a child process (debug
    allocator: freed memory is overwritten), so that a crash fails this test and not the suite."""
    code = """
import gc
from spamscore import _native
from spamscore.features import urls as U
us = _native.load("_urlscan")
class Url(str):
    pass
url = Url("http://www.example.com/a")
def regdom(host):
    for d in gc.get_objects():
        if type(d) is dict and url in d:
            d.clear()
    return host
out = us.url_features([url] * 300, [], regdom, frozenset(), U._url_tokens, U.link_mismatch, U.link_mismatch, 100)
print(sorted(t for t in out if t.startswith("url:count")))
"""
    import os
    import subprocess
    import sys

    env = dict(os.environ)
    env.setdefault("PYTHONMALLOC", "debug")  # (benchmarks/asan.sh sets malloc: AddressSanitizer then sees the frees)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, (done.returncode, done.stderr[-800:])
    assert done.stdout.split() == ["['url:count:2**8']"]
