"""Regular expressions on the hot path never backtrack catastrophically.

Every compiled pattern in spamscore/ (found by introspection, so a new one is
covered without editing this file) is run over a battery of long strings
built to make backtracking matchers blow up: long runs of each character the
pattern consumes, repeated near-matches with a failing tail, and
pattern-specific near-misses.  A linear-time pattern finishes each in
milliseconds; a quadratic one needs minutes at these lengths.  The generous
watchdog (20 s) catches the blow-up without being a timed assertion.

Patterns that other code hands our input to (email.header's encoded-word
pattern) are covered through the functions that use them.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from hostile import watchdog  # noqa: E402

import spamscore  # noqa: E402

WATCHDOG_S = 20.0
N = 10_000          # generic battery: ~150 strings per pattern


def _patterns() -> dict[str, re.Pattern]:
    """Every module-level compiled pattern in spamscore (also inside dicts and tuples)."""
    found: dict[str, re.Pattern] = {}
    seen: set[int] = set()
    for mod_info in pkgutil.walk_packages(spamscore.__path__, "spamscore."):
        if ".cli" in mod_info.name or mod_info.name.endswith("__main__"):
            continue
        mod = importlib.import_module(mod_info.name)
        for name, value in vars(mod).items():
            values = {name: value}
            if isinstance(value, dict):
                values = {f"{name}[{k!r}]": v for k, v in value.items()}
            elif isinstance(value, (tuple, list)):
                values = {f"{name}[{i}]": v for i, v in enumerate(value)}
            for key, v in values.items():
                if isinstance(v, re.Pattern) and id(v) not in seen:  # imported names: once
                    seen.add(id(v))
                    found[f"{mod_info.name}.{key}"] = v
    return found


PATTERNS = _patterns()

# Units whose repetition (with and without a failing tail) stresses the
# patterns: their delimiters, separators and prefixes.
_UNITS = [
    " ", "\t", "\n", "\r\n", "a", "1", "=", "?", "<", ">", "(", ")", "[", ".", "-", "/", ":", ";", "@", '"', "%",
    "=?a?q?x", "=?", "?=", "a.", "1.", "a-", "a-a.", "<a", "(a", "a@", "@a", "<>", "--", "\n ", "a:",
    "http://", "https://a", "www.", "www.a", "; charset", "charset=", "charset =", "boundary=", "name=\"",
    "display:", "display :", "font-size:", "font-size:0", "visibility:", "from ", "by ", "from a", "d=", "; d=",
    "header.d=", "a.b=", "spf=", "[1.2.3.", "1.2.3.", "0x", "xn--", "\u3042", "\u30a2", "\u4e00a",
    "a/b", "a+b", "\x1b$B", "spf", "dkim", "a b", "a\u200b",
]
_TAILS = ["!"]  # a failing tail: the worst case for a backtracking matcher


def _battery(n: int = N):
    for unit in _UNITS:
        body = unit * (n // len(unit))
        for tail in _TAILS:
            yield repr(unit)[:20] + "+" + repr(tail), body + tail
    # alternations: a run of one delimiter interrupted by another
    yield "a-space", ("a" * 60 + " ") * (n // 61)
    yield "label-63", ("a" * 63 + ".") * (n // 64)
    yield "long-local-part", ("a" * 70 + "@") * (n // 71)
    yield "spaces-then-eq", (" " * 1000 + "charset") * (n // 1007)


# Patterns the code only ever applies with .match() (anchored at one
# position, or at each field start in a loop that always advances): a search
# would try every start position, which is not how they meet hostile input.
ANCHORED = {
    "spamscore.message._HEADER_FIELD", "spamscore.message._CTYPE", "spamscore.features.html._NUM",
    "spamscore.features.auth._RESINFO", "spamscore.features.auth._SPF_RESULT", "spamscore.features.tokens._CJK_RUN",
    "spamscore.features.urls._IPV4", "spamscore.features.urls._NUMERIC_HOST",
}


def _run(name: str, pattern: re.Pattern, text: str) -> int:
    data = text.encode("utf-8", "surrogatepass") if isinstance(pattern.pattern, bytes) else text
    if name in ANCHORED and name != "spamscore.message._HEADER_FIELD":
        return int(pattern.match(data) is not None)  # one value, one match
    if name in ANCHORED:
        # every line start, as the header splitter sees them
        count = 0
        nl = b"\n" if isinstance(data, bytes) else "\n"
        pos = 0
        while pos < len(data):
            if pattern.match(data, pos) is not None:
                count += 1
            nxt = data.find(nl, pos)
            if nxt == -1:
                break
            pos = nxt + 1
        return count
    count = 0
    if pattern.search(data) is not None:
        count += 1
    for _ in pattern.finditer(data):
        count += 1
    return count


def test_introspection_finds_the_hot_path_patterns():
    from spamscore import message
    from spamscore.features import auth, tokens, urls

    found = {id(p) for p in PATTERNS.values()}
    # a few known ones: proof that the walk sees every module and every dict
    for expected in (message._HEADER_FIELD, urls._URL_RE, urls._DOMAIN_IN_TEXT, auth._PROP, tokens._ADDRESS,
                     message._PARAM["charset"], message._ENCODED_WORD):
        assert id(expected) in found, expected.pattern
    assert len(found) >= 25
    assert ANCHORED <= set(PATTERNS), ANCHORED - set(PATTERNS)


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_pattern_is_linear_on_adversarial_input(name):
    pattern = PATTERNS[name]

    def run_all():
        return sum(_run(name, pattern, text) for _, text in _battery())

    assert watchdog(run_all, WATCHDOG_S) >= 0


# --------------------------------------------------------------------------
# through the functions: patterns from the standard library and inline ones

def test_encoded_words_never_rescan_the_line():
    """email.header.decode_header's ecre is quadratic on '=?' without '?=': we must not feed it a line."""
    from spamscore.message import decode_header_value, parse

    value = "=?utf-8?q?ok?= " + "=?a?q?x" * 70_000
    out = watchdog(lambda: decode_header_value(value), WATCHDOG_S)
    assert out.startswith("ok")
    raw = b"Subject: " + b"=?a?b?" * 80_000 + b"\r\n\r\nx\r\n"
    pm = watchdog(lambda: parse(raw), WATCHDOG_S)
    assert pm.subject.startswith("=?a?b?")
    value = "=?utf-8?b?" + "A" * 300_000  # never closed
    assert watchdog(lambda: decode_header_value(value), WATCHDOG_S).startswith("=?utf-8?b?AAA")


def test_html_tag_stripping_fallback():
    from spamscore.features.html import analyze_html

    for source in ["<" + "a" * 300_000, "<a" * 150_000, ("<" + "x" * 1999) * 150, "<?xml encoding='x'?>" + "<" * 200_000]:
        info = watchdog(lambda: analyze_html([source]), WATCHDOG_S)
        assert info.parts == 1


def test_url_functions():
    from spamscore.features.urls import find_urls, link_mismatch, parse_url, url_features

    for text in ["http://" * 50_000, "www." * 100_000, "http://" + "a." * 100_000, "http://a" + "/" * 300_000,
                 ("http://a" + "@" * 1000) * 100, "x" + "://" * 100_000]:
        urls = watchdog(lambda: find_urls(text, 10_000), WATCHDOG_S)
        watchdog(lambda: url_features(urls, [], 10_000), WATCHDOG_S)
    for href, shown in [("http://" + "a." * 10_000 + "com", "a." * 10_000 + "com"),
                        ("http://x.com", ("a" * 63 + ".") * 5 + "a"), ("http://[" * 1000, "b-" * 1000 + ".com")]:
        watchdog(lambda: link_mismatch(href, shown), WATCHDOG_S)
        watchdog(lambda: parse_url(href), WATCHDOG_S)


def test_header_features():
    from spamscore.features.auth import auth_features, parse_authentication_results
    from spamscore.features.tokens import header_tokens

    values = ["(" * 100_000 + ")" * 100_000, "mx; " + "spf=pass " * 50_000, "mx; " + "a.b=" * 100_000,
              "mx; spf=pass smtp.mailfrom=" + "a" * 300_000, "; d=" * 100_000, "d" + " " * 300_000 + "=",
              ("a" * 70 + "@") * 5000, "<" * 300_000, "from " * 100_000, "[1.2.3." * 50_000]
    for v in values:
        watchdog(lambda: parse_authentication_results(v), WATCHDOG_S)
        headers = [(name, v) for name in ("from", "to", "received", "message-id", "x-mailer",
                                          "authentication-results", "received-spf", "dkim-signature")]
        watchdog(lambda: header_tokens(headers), WATCHDOG_S)
        watchdog(lambda: auth_features(headers, frozenset({"mx"})), WATCHDOG_S)
