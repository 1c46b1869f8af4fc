"""The compiled header loop (spamscore._hdrscan.header_tokens) against its Python reference.

``tokens.header_tokens`` runs the C loop when the extension is built; each
test compares it with ``tokens._header_tokens`` (the Python code), which is
what runs without a C compiler: the same list, token for token, in order.
"""

from itertools import chain

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from spamscore.features import tokens as T

import equivalence as eq
from conftest import native_reason

hs = T._hdrscan
pytestmark = pytest.mark.skipif(hs is None, reason=native_reason("_hdrscan"))

# Pieces that steer values into the interesting paths: the Received
# keywords in every case, dotted digits (ASCII, Arabic-Indic, full-width,
# superscripts that are digits but not decimals), white space Python's
# str.split knows (\x1c, \x85, \xa0, \u2003, \u3000), <>@ of Message-IDs,
# characters whose lower() changes length or depends on context, lone
# surrogates from surrogateescape, CR/LF mixes and control characters.
PIECES = st.sampled_from([
    "from", "From", "FROM", "fROM", "by", "By", "BY", "bY", "f", "b", " ", "\t", "\r\n", "\n", "\r",
    "host.example.com", "a-b.c-d.org", "-x", ".", "..", "1", "12", "123", "1234", "10.0.0.1",
    "192.168.1.254", "1.2.3.4.5.6.7.8", "٣", "١٢.٣٤.٥٦.٧٨", "１２.３.４.５", "²", "³.1.2.3",
    "\x1c", "\x85", "\xa0", "\u2003", "\u3000", "<", ">", "@", "<>", "@@", "İ", "Σ", "ΑΣ", "ß", "ﬃ",
    "\udcff", "\udc80", "\x00", "\x7f", "é", "無料", "\U0001F600", "Mon, 2 Sep 2002 13:45:01 -0700",
    "(PDT)", "+0000", "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJ", "---=_NextPart_000", "\n\n\n", "  ",
    "aaaa", "ZZZZ", "9999", "Alice <alice@example.com>", '"Bob" <BOB@Example.ORG>', "undisclosed-recipients:;",
    "text/plain; boundary=\"=_a\"", "x" * 60,
])
VALUE = st.one_of(
    st.lists(PIECES, max_size=40).map("".join),
    st.text(max_size=200),
    st.text(st.characters(codec="utf-8"), max_size=80),
    # around the 2,000-character cut of Received values
    st.tuples(st.integers(1900, 2010), st.lists(PIECES, min_size=1, max_size=8))
    .map(lambda t: "x" * t[0] + "".join(t[1])),
)
NAMES = st.one_of(
    st.sampled_from(["from", "to", "cc", "reply-to", "return-path", "sender", "errors-to", "x-mailer",
                     "user-agent", "content-type", "list-id", "x-priority", "received", "date",
                     "message-id", "subject", "x-spam-status", "x-spam-", "status", "statusx",
                     "delivery-date", "x-keywords", "x-uid", "x", "", "received ", "Received",
                     "x-mozilla-status2", "ü-header", "\udcff", "ſtatus", "x" * 50]),
    st.text(max_size=45),
)
HEADERS = st.lists(st.tuples(NAMES, VALUE), max_size=25)
IGNORED = st.sampled_from([T.DEFAULT_IGNORED_HEADERS, (), None, ("",), ("x-", "ü"), ("received",)])


def py_tokens(headers, ignored):
    return T._header_tokens(headers, ignored)


def c_tokens(headers, ignored):
    """The C loop without caches, then through the module's caches (a miss, then a hit): all the same."""
    out = hs.header_tokens(headers, ignored, T._HANDLERS, T._value_tokens, T._received_host)
    assert out is not None
    assert T.header_tokens(headers, ignored) == out
    assert T.header_tokens(headers, ignored) == out
    return out


def assert_same(c, py):
    assert c == py
    assert all(type(t) is str for t in c)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(HEADERS, IGNORED)
@example([("received", "from a.b.c by d.e.f"), ("date", " "), ("message-id", "<>")], T.DEFAULT_IGNORED_HEADERS)
@example([("received", "x" * 1998 + "from host.example")], ())
@example([("received", "x" * 1995 + "1.2.3.4.5")], ())
def test_same_tokens_as_the_python_loop(headers, ignored):
    assert_same(c_tokens(headers, ignored), py_tokens(headers, ignored))


def scanned(value):
    """The Received scan alone: hosts as the callback sees them, then the addresses."""
    out = hs.header_tokens([("received", value)], (), {"received": 1}, T._value_tokens, lambda h: ("H:" + h,))
    return out[1:-1]


def regex_scan(value):
    v = value[:2000]
    return ["H:" + h for h in T._RECEIVED_HOST.findall(v)] + \
           ["received:ip:" + ip for ip in chain.from_iterable(T._IP.findall(v))]


@settings(max_examples=1500, deadline=None)
@given(VALUE)
@example("from  \r\n\tA" + "b" * 250 + " by x")
@example("1234.5.6.7 12.34.56.789 1.2.3 1..2.3.4 ١.٢.٣.٤ 1.2.3.4.5.6.7.8.9")
@example("fromfrom x by\ry From\nz FROMage")
def test_received_scan_matches_the_regexes(value):
    assert scanned(value) == regex_scan(value)


@settings(max_examples=600, deadline=None)
@given(st.one_of(st.text(max_size=90), VALUE), st.sampled_from(["date", "message-id"]))
@example("Mon,\n\n 2 Sep\r\n\r\n 2002 aa\n\n\nbb 99 -0700", "date")
def test_date_and_message_id_any_text(value, name):
    headers = [(name, value)]
    assert_same(c_tokens(headers, ()), py_tokens(headers, ()))


def test_every_decimal_digit_and_space():
    # \d of a str regex and str.split()/strip() white space, for every code point
    digits = [chr(c) for c in range(0x110000) if chr(c).isdecimal() or chr(c).isdigit()]
    spaces = [chr(c) for c in range(0x110000) if chr(c).isspace()] + ["\x1b", "\u200b"]
    value = " ".join(d + "." + d + "1.2." + d for d in digits)
    assert scanned(value[:1999]) == regex_scan(value[:1999])
    for i in range(0, len(digits), 60):
        chunk = " ".join(d + "." + d + "1.2." + d for d in digits[i:i + 60])
        assert scanned(chunk) == regex_scan(chunk)
    for s in spaces:
        for name in ("date", "message-id"):
            for v in (s + "Mon, 1 Jan 2002 10:00:00" + s + "-0700" + s, s + "<a@B.c>" + s, s, s + "x" + s):
                assert_same(c_tokens([(name, v)], ()), py_tokens([(name, v)], ()))


def test_known_tokens():
    headers = [
        ("received", "from mail.example.com (mail.example.com [10.1.2.3]) by mx.example.org"),
        ("x-spam-status", "Yes"),
        ("date", "Mon, 2 Sep 2002 13:45:01 -0700"),
        ("message-id", "<ABC@Mail.Example.COM>"),
        ("subject", "hi"),
    ]
    out = c_tokens(headers, T.DEFAULT_IGNORED_HEADERS)
    assert out == ["hdr:received", "received:mail.example.com", "received:example.com",
                   "received:mx.example.org", "received:example.org",
                   "received:ip:10.1.2", "received:ip:10.1", "hdr:date",
                   "date:shape:Aa, 9 Aa 9 9:9:9 -9", "date:tz:-0700", "hdr:message-id",
                   "message-id:mail.example.com", "hdr:subject", "hdr:received-count:1"]
    assert out == py_tokens(headers, T.DEFAULT_IGNORED_HEADERS)


def test_received_count_and_the_first_ten():
    headers = [("received", f"from h{i}.example.net ([10.0.0.{i}])") for i in range(15)]
    out = c_tokens(headers, ())
    assert out[-1] == "hdr:received-count:12"
    assert "received:h9.example.net" in out and "received:h10.example.net" not in out
    assert out == py_tokens(headers, ())


def test_long_values_and_names():
    headers = [("x" * 100_000, "v"), ("from", "a@b.example, " * 50_000), ("received", "from a.b " * 100_000),
               ("date", " " * 100_000 + "x"), ("message-id", "<" * 50_000 + "a@" + "B" * 50_000 + ">")]
    assert_same(c_tokens(headers, T.DEFAULT_IGNORED_HEADERS), py_tokens(headers, T.DEFAULT_IGNORED_HEADERS))


def test_what_it_leaves_to_python():
    args = (T._HANDLERS, T._value_tokens, T._received_host)

    class S(str):
        pass

    assert hs.header_tokens((("from", "a@b.c"),), (), *args) is None  # not a list
    assert hs.header_tokens([("from", "a@b.c", "x")], (), *args) is None
    assert hs.header_tokens([["from", "a@b.c"]], (), *args) is None
    assert hs.header_tokens([(S("from"), "a@b.c")], (), *args) is None
    assert hs.header_tokens([("from", S("a@b.c"))], (), *args) is None
    assert hs.header_tokens([("from", b"a@b.c")], (), *args) is None
    assert hs.header_tokens([("from", "x")], ["x-spam-"], *args) is None
    assert hs.header_tokens([("from", "x")], "x-spam-", *args) is None
    assert hs.header_tokens([("from", "x")], ("x-", 1), *args) is None
    assert hs.header_tokens([("from", "x")], (), {"from": 7}, T._value_tokens, T._received_host) is None
    # header_tokens then runs the Python code, which behaves as it always did
    assert T.header_tokens((("from", "a@b.c"),), ()) == T._header_tokens((("from", "a@b.c"),), ())
    assert T.header_tokens([("x-spam-flag", "YES"), ("x-h", "")], "x-spam-") == ["hdr:x-h"]
    for bad in (("x-", 1), ["x-spam-"]):
        with pytest.raises(TypeError):
            T.header_tokens([("from", "x")], bad)


def test_errors_of_the_callbacks_propagate():
    def boom(*a):
        raise ValueError("boom")

    with pytest.raises(ValueError):
        hs.header_tokens([("from", "a@b.c")], (), T._HANDLERS, boom, T._received_host)
    with pytest.raises(ValueError):
        hs.header_tokens([("received", "from a.b.c")], (), T._HANDLERS, T._value_tokens, boom)
    with pytest.raises(TypeError):
        hs.header_tokens([("from", "a@b.c")], (), T._HANDLERS, lambda n, v: ["a list"], T._received_host)


def test_dispatch_falls_back_without_the_module(monkeypatch):
    headers = [("from", "Alice <alice@example.com>"), ("received", "from a.example.com by b.example.org"),
               ("date", "Tue, 3 Sep 2002 01:02:03 +0000"), ("message-id", "<x@y>"), ("x-spam-flag", "YES")]
    c = T.header_tokens(headers)
    monkeypatch.setattr(T, "_hdrscan", None)
    py = T.header_tokens(headers)
    assert c == py and "from:domain:example.com" in c and "hdr:x-spam-flag" not in c


def test_caches_are_bounded_and_give_what_the_calls_give():
    names, values, hosts = {}, {}, {}
    args = (T._HANDLERS, T._value_tokens, T._received_host, names, values, hosts)
    for i in range(9000):
        headers = [(f"x-h{i}", "v"), ("to", f"user{i}@h{i}.example.com"),
                   ("received", f"from h{i}.example.net by mx{i % 7}.example.org")]
        out = hs.header_tokens(headers, (), *args)
        assert out == T._header_tokens(headers, ())
        assert hs.header_tokens(headers, (), *args) == out
    assert 0 < len(names) <= 4096 and 0 < len(hosts) <= 8192
    assert 0 < sum(len(d) for d in values.values()) <= 8192
    # long names are not kept
    hs.header_tokens([("y" * 101, "v")], (), *args)
    assert "y" * 101 not in names
    with pytest.raises(TypeError):
        hs.header_tokens([("x", "v")], (), T._HANDLERS, T._value_tokens, T._received_host, [], None, None)



@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from([" ", "\t", "\r\n", "\x0b", "\x1c", "\x1f", "\x85", "\xa0", "\u3000", '"', "<a@b.example>",
                                 "x", "É", "\u200b", "ｆ", "@", "<>", " " * 490]), max_size=12).map("".join))
@example(" " * 499 + "x")
@example(" " * 500 + "x")
@example('"" <a@b.example>')
def test_address_tokens_skip_only_what_gives_no_words(value):
    """_address_tokens calls words() on the display name only when its first 500 characters are not
    all ASCII white space: the skip must lose nothing (words() of such a text is empty)."""
    py = py_address_tokens("from", value)
    display = T._ANGLE.sub(" ", value[:2000])
    for addr in T._ADDRESS.findall(value[:2000])[:20]:
        display = display.replace(addr, " ")
    display = display.replace('"', " ")
    names = list(T.words(display, "from:name:", 500))
    if display.isascii() and not display[:500].strip():
        assert names == []
    assert py[:len(names)] == names  # what calling words() every time gave (spamscore before the skip)
    assert not any(t.startswith("from:name:") for t in py[len(names):])


ADDR_PIECES = st.sampled_from([
    "a", "B", "bob", "x.y", "-", "!", "#$%&'*+/=?^_`{|}~", "@", "@@", "<", ">", "<>", "<a@b.example>", '"', " ", "\t",
    "\r\n", "\x1c", "\x00", "\x7f", ".", "..", "example.COM", "mail.co.uk", "Alice Smith", "a" * 64, "a" * 65,
    "d" * 255, "d" * 256, "y" * 300, "z" * 299, "(comment)", ",", ";", ":", "É", "\udcff", "\u3000",
])
ADDR_VALUE = st.one_of(
    st.lists(ADDR_PIECES, max_size=25).map("".join),
    st.text(st.characters(max_codepoint=127), max_size=120),
    st.tuples(st.integers(1950, 2010), st.lists(ADDR_PIECES, min_size=1, max_size=6))
    .map(lambda t: "x" * t[0] + "".join(t[1])),
)


def py_address_tokens(name, value):
    saved, T._hdrscan = T._hdrscan, None
    try:
        out = []
        T._address_tokens(name, value, out)
        return out
    finally:
        T._hdrscan = saved


@settings(max_examples=800, deadline=None)
@given(st.sampled_from(["from", "to", "reply-to", "é"]), ADDR_VALUE)
@example("from", "<" + "y" * 300 + ">" + " <" + "y" * 299 + "> a@b.example")
@example("from", "a" * 64 + "@b.example " + "a" * 65 + "@c.example " + "@" + "d" * 256)
@example("from", "abcd" + "e" * 64 + "@b.example")
@example("to", "  <>  ")
@example("to", " ")
@example("to", "a@.example. A@B..EXAMPLE.. @x " + "u" * 21 + "@y.example")
def test_address_tokens_same_as_python(name, value):
    py = py_address_tokens(name, value)
    c = hs.address_tokens(name, value, T.words, T.registered_domain)
    if c is None:  # left to Python: only values (of 1-byte str) whose first 2,000 characters are not all ASCII
        assert not value.isascii()
    else:
        assert c == py
        assert all(type(t) is str for t in c)
    out = []
    T._address_tokens(name, value, out)
    assert out == py


def test_address_tokens_known():
    c = hs.address_tokens("from", '"Alice" <Alice@Mail.Example.co.uk>', T.words, T.registered_domain)
    assert c == ["from:name:alice", "from:domain:mail.example.co.uk", "from:domain:example.co.uk",
                 "from:user:alice"]
    assert hs.address_tokens("to", "undisclosed-recipients:;", T.words, T.registered_domain)[-1] == "to:no-domain"
    assert hs.address_tokens("to", " <> ", T.words, T.registered_domain) == ["to:empty"]
    assert hs.address_tokens("to", "é <a@b.example>", T.words, T.registered_domain) is None


def test_address_tokens_callback_errors():
    def boom(*a):
        raise ValueError("boom")

    with pytest.raises(ValueError):
        hs.address_tokens("from", "Alice <a@b.example>", boom, T.registered_domain)
    with pytest.raises(ValueError):
        hs.address_tokens("from", "Alice <a@b.example>", T.words, boom)
    with pytest.raises(TypeError):
        hs.address_tokens("from", "Alice <a@b.example>", T.words, lambda d: 5)


# ---- the corpus sample, the fixtures and the hostile cases (tests/equivalence.py) ----

def _empty_caches():
    """So that each side computes every value itself (the lru_caches are shared by C and Python)."""
    T._value_tokens.cache_clear()
    T._received_host.cache_clear()
    T._HDR_NAME_CACHE.clear()
    T._HDR_VALUE_CACHE.clear()
    T._HDR_HOST_CACHE.clear()


def test_corpus_fixtures_and_hostile_cases():
    """header_tokens, address tokens and auth_features with _hdrscan and with the Python code, every input."""
    from spamscore.features import auth
    from spamscore.message import parse

    n = 0
    for name, raw in eq.messages():
        headers = parse(raw).headers
        for ignored in (T.DEFAULT_IGNORED_HEADERS, (), None):
            out = eq.compare(lambda: T.header_tokens(headers, ignored), (T, "_hdrscan"), label=name,
                             before=_empty_caches)
            eq.assert_same(T.header_tokens(headers, ignored), out, name + " (cached)")
            eq.assert_same(out, T.header_tokens_py(headers, ignored), name + " (header_tokens_py)")
        for hname, value in headers:
            if hname in T._ADDRESS_HEADERS:
                def address(hname=hname, value=value):
                    out = []
                    T._address_tokens(hname, value[:2000], out)
                    return out
                eq.compare(address, (T, "_hdrscan"), label=f"{name} {hname}")
        for trusted in (frozenset(), frozenset(["mx.example.org", "mx.google.com"])):
            eq.compare(lambda: auth.auth_features(headers, trusted), (auth, "_hdrscan"), label=name)
        n += 1
    assert n > 60


def run_hostile(code):
    """Run ``code`` in a child process (a crash fails the test, not the suite), with Python's debug allocator:
    freed memory is overwritten, so a read after free misbehaves at once.  Its stdout, split."""
    import os
    import subprocess
    import sys

    env = dict(os.environ)
    env.setdefault("PYTHONMALLOC", "debug")  # (benchmarks/asan.sh sets malloc: AddressSanitizer then sees the frees)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, (done.returncode, done.stderr[-800:])
    return done.stdout.split()


# A str subclass whose __eq__ empties the header list (and, for the value cache, the cache) while a
# lookup compares with it: the caller's dicts and frozensets may hold such keys.
_EVIL = """
from spamscore import _native
from spamscore.features import tokens as T
hs = _native.load("_hdrscan")
headers = [("x-h%d" % i, "value %d" % i + "v" * 60) for i in range(200)]
class Evil(str):
    def __hash__(self):
        return hash(str(self))
    def __eq__(self, other):
        headers.clear()
        CLEAR.clear()
        return str.__eq__(self, other)
CLEAR = {}
"""


def test_header_tokens_survives_a_handler_key_that_empties_the_header_list():
    """Issue 15's audit: the loop borrowed each (name, value) from the list across the lookups of the
    name in the handlers and name-cache dicts; a key there whose __eq__ empties the list freed the name
    and value it went on to use (segfault).  It now holds the item for the whole step."""
    code = _EVIL + """
handlers = dict(T._HANDLERS)
handlers[Evil("x-h0")] = 0
out = hs.header_tokens(headers, (), handlers, T._value_tokens, T._received_host, {Evil("x-h1"): "t"}, None, None)
print(len(headers), out[:1])
"""
    assert run_hostile(code) == ["0", "['hdr:x-h0']"]


def test_any_name_survives_a_name_whose_eq_empties_the_header_list():
    """The same for any_name: the name was borrowed from the list across the frozenset lookup (two
    elements of one hash, so that the set compares the freed name with the second)."""
    code = _EVIL + """
class Collide(Evil):
    def __hash__(self):
        return hash("x-h0")
names = frozenset({Collide("a"), Collide("b")})  # (its building compares them: the list is filled again)
headers[:] = [("x-h%d" % i, "v") for i in range(200)]
print(hs.any_name(headers, names), len(headers))
"""
    assert run_hostile(code) == ["False", "0"]


def test_value_cache_survives_a_key_that_empties_the_cache():
    """The two-level value cache: the inner dict was borrowed from the cache across a lookup and an
    insert in it, whose keys' __eq__ may drop the inner dict from the cache (freed under its own lookup)."""
    code = _EVIL + """
name, value = headers[0]
v = value[:2000]
CLEAR = {name: {Evil(v): ("cached",)}}
headers = [(name, value)]
out = hs.header_tokens(headers, (), {name: 0}, lambda n, w: ("tok",), T._received_host, None, CLEAR, None)
print(out, len(CLEAR))
"""
    assert run_hostile(code) == ["['hdr:x-h0',", "'cached']", "0"]
