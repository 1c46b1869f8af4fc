"""Regular expressions never backtrack catastrophically: their cost grows linearly with the input.

Every compiled pattern in spamscore/ (module-level ones found by walking the
modules for ``re.Pattern`` objects, inline ``re.sub(r"...", ...)`` ones by
reading the sources, so a new pattern is covered without editing this file)
is run, as the code runs it (``finditer``, which is the scan ``search``,
``sub``, ``findall`` and ``split`` do too, or ``match`` for the few listed in
``ANCHORED``), over a battery of strings built to make a backtracking matcher
blow up: long runs of each character the patterns consume, repeated
near-matches with a failing tail.

What is asserted is how the *CPU time* grows, not how long it takes: the
battery is built at 2 KB, 8 KB and 32 KB per string; from 8 KB to 32 KB a
linear pattern takes 4x as long and a quadratic one 16x.  The bound (< 8x, on
medians of 3 runs of ``time.process_time``) fails every quadratic pattern and
cannot flake on a busy machine, which the former 20 s wall-clock watchdog did
(``check._DKIM_TAG`` and ``pipe._FIELD_NAME``, now ``splice._FIELD_NAME``, failed it on 2 shared cores).
``test_the_growth_test_fails_on_a_quadratic_pattern`` shows the test can fail.

Patterns that other code hands our input to (email.header's encoded-word
pattern) are covered through the functions that use them, with the same
growth test.
"""

from __future__ import annotations

import ast
import gc
import importlib
import math
import pkgutil
import re
import statistics
import time
from pathlib import Path

import pytest

import spamscore

SIZES = (2_048, 8_192, 32_768)  # characters per battery string
MAX_RATIO = 8.0                 # time(32 KB) / time(8 KB): linear gives about 4, quadratic about 16
MIN_CPU_S = 0.002               # each timing repeats the work until the smallest size takes this long
REPEATS = 3                     # medians of 3


def _cpu(fn, k: int) -> float:
    t0 = time.process_time()
    for _ in range(k):
        fn()
    return time.process_time() - t0


def growth(make, sizes=SIZES) -> tuple[float, dict[int, float]]:
    """``(time(sizes[-1]) / time(sizes[-2]), {size: seconds})``; ``make(n)`` returns the work for size n.

    The inputs are built (by ``make``) outside the timed region; the work is
    repeated ``k`` times at every size, ``k`` chosen so that the smallest
    size takes at least ``MIN_CPU_S`` (timer resolution, noise), and the
    garbage collector is off while timing.
    """
    work = {n: make(n) for n in sizes}
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        t = _cpu(work[sizes[0]], 1)
        k = 1 if t >= MIN_CPU_S else min(1000, math.ceil(MIN_CPU_S / max(t, 1e-6)))
        times: dict[int, float] = {}
        for n in sizes:
            # a size already slow is timed once more, not three times: a quadratic pattern
            # would take minutes at 32 KB (the former check._DKIM_TAG, searched: 86 s a run)
            slow = n == sizes[-1] and times[sizes[-2]] * (n / sizes[-2]) > 1.0
            times[n] = statistics.median(_cpu(work[n], k) for _ in range(1 if slow else REPEATS))
    finally:
        if was_enabled:
            gc.enable()
    return times[sizes[-1]] / max(times[sizes[-2]], 1e-9), times


def _shown(times: dict[int, float]) -> str:
    return ", ".join(f"{n // 1024} KB {t * 1000:.2f} ms" for n, t in times.items())


# --------------------------------------------------------------------------
# finding the patterns

def _modules():
    for mod_info in pkgutil.walk_packages(spamscore.__path__, "spamscore."):
        if mod_info.name.endswith("__main__"):   # runs the CLI when imported
            continue
        yield importlib.import_module(mod_info.name)


def _module_patterns() -> dict[str, re.Pattern]:
    """Every module-level compiled pattern in spamscore (also inside dicts and tuples)."""
    found: dict[str, re.Pattern] = {}
    seen: set[int] = set()
    for mod in _modules():
        for name, value in vars(mod).items():
            values = {name: value}
            if isinstance(value, dict):
                values = {f"{name}[{k!r}]": v for k, v in value.items()}
            elif isinstance(value, (tuple, list)):
                values = {f"{name}[{i}]": v for i, v in enumerate(value)}
            for key, v in values.items():
                if isinstance(v, re.Pattern) and id(v) not in seen:  # imported names: once
                    seen.add(id(v))
                    found[f"{mod.__name__}.{key}"] = v
    return found


_RE_CALLS = {"compile", "search", "match", "fullmatch", "sub", "subn", "findall", "finditer", "split"}


def _flags(node: ast.expr | None) -> int:
    """The value of a flags argument written with re.X names and |, else 0."""
    if node is None:
        return 0
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "re":
        return int(getattr(re, node.attr))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _flags(node.left) | _flags(node.right)
    return 0


def _inline_patterns() -> dict[str, re.Pattern]:
    """Patterns written inside functions: ``re.sub(r"...", ...)``, ``re.compile(...)`` in a body."""
    found: dict[str, re.Pattern] = {}
    for mod in _modules():
        path = Path(mod.__file__)
        if path.suffix != ".py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        module_level = {id(n.value) for n in tree.body if isinstance(n, ast.Assign)}
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "re"
                    and node.func.attr in _RE_CALLS and node.args
                    and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, (str, bytes))):
                continue
            if id(node) in module_level:   # a module-level compile: found by _module_patterns
                continue
            flag_arg = {"compile": 1, "search": 2, "match": 2, "fullmatch": 2, "findall": 2, "finditer": 2,
                        "sub": 4, "subn": 4, "split": 3}[node.func.attr]
            flags = next((k.value for k in node.keywords if k.arg == "flags"),
                         node.args[flag_arg] if len(node.args) > flag_arg else None)
            found[f"{mod.__name__}:{node.lineno}"] = re.compile(node.args[0].value, _flags(flags))
    return found


MODULE_PATTERNS = _module_patterns()
INLINE_PATTERNS = _inline_patterns()
PATTERNS = {**MODULE_PATTERNS, **INLINE_PATTERNS}

# The exceptions: patterns the code only ever applies with .match(), never
# with a scanning method, so a scan over the battery is not how they meet
# hostile input.  "once": matched at the start of one value; "lines": matched
# at each line start of a header block, in a loop that always advances.  They
# are still timed, the way they are used (test_anchored_patterns_are_only_matched
# checks that the sources use them with .match only).
ANCHORED = {
    "spamscore.message._HEADER_FIELD": "lines",    # message._split_headers, at each field start
    "spamscore.serve.splice._FIELD_NAME": "lines",  # splice._fields: .match(raw, line_start, line_end)
    "spamscore.message._CTYPE": "once",
    "spamscore.features.html._NUM": "once",
    "spamscore.features.auth._RESINFO": "once",
    "spamscore.features.auth._SPF_RESULT": "once",
    "spamscore.features.tokens._CJK_RUN": "once",
    "spamscore.features.urls._IPV4": "once",
    "spamscore.features.urls._NUMERIC_HOST": "once",
    "spamscore.check.findings.headers._DKIM_TAG": "once",  # headers.dkim_tags: one ;-separated piece
    "spamscore.check.findings.headers._MSGID": "once",
    "spamscore.check.dns._SPF_MECH": "once",       # check.dns: one SPF term
    "spamscore.check.dns._SPF_MOD": "once",
    "spamscore.sanity._FIELD": "once",             # sanity.input_warnings: the first header line
}

# Units whose repetition (with a failing tail) stresses the patterns: their
# delimiters, separators and prefixes.
_UNITS = [
    " ", "\t", "\n", "\r\n", "\r", "a", "1", "=", "?", "<", ">", "(", ")", "[", ".", "-", "/", ":", ";", "@", '"',
    "%", "=?a?q?x", "=?", "?=", "a.", "1.", "a-", "a-a.", "<a", "(a", "a@", "@a", "<>", "--", "\n ", "\n\t", "a:",
    " \n", " \t\r", "\n\n", "\r\n\r\n", "\n--", "http://", "https://a", "www.", "www.a", "; charset", "charset=",
    "charset =", "boundary=", "name=\"", "display:", "display :", "font-size:", "font-size:0", "visibility:",
    "from ", "by ", "from a", "d=", "; d=", "header.d=", "a.b=", "spf=", "[1.2.3.", "1.2.3.", "0x", "xn--",
    "\u3042", "\u30a2", "\u4e00a", "a/b", "a+b", "\x1b$B", "spf", "dkim", "a b", "a\u200b", "message-id:",
    "Message-ID: <a", "a=b;", "include:", "~all ",
]
_TAIL = "!"  # a failing tail: the worst case for a backtracking matcher


def _battery(n: int) -> list[str]:
    out = [unit * (n // len(unit)) + _TAIL for unit in _UNITS]
    # alternations: a run of one delimiter interrupted by another
    out += [("a" * 60 + " ") * (n // 61), ("a" * 63 + ".") * (n // 64), ("a" * 70 + "@") * (n // 71),
            (" " * 1000 + "charset") * max(1, n // 1007), "a" + " " * n + "x", "a:" + " " * n + "x"]
    return out


def _encoded(pattern: re.Pattern, texts: list[str]) -> list:
    if isinstance(pattern.pattern, bytes):
        return [t.encode("utf-8", "surrogatepass") for t in texts]
    return texts


def _line_starts(data) -> list[int]:
    nl = b"\n" if isinstance(data, bytes) else "\n"
    starts, pos = [0], data.find(nl)
    while pos != -1 and pos + 1 < len(data):
        starts.append(pos + 1)
        pos = data.find(nl, pos + 1)
    return starts


def _work(name: str, pattern: re.Pattern, n: int):
    """The work for battery size ``n``: the pattern applied as the code applies it."""
    texts = _encoded(pattern, _battery(n))
    mode = ANCHORED.get(name)
    if mode == "once":
        def run():
            for t in texts:
                pattern.match(t)
    elif mode == "lines":
        starts = [_line_starts(t) for t in texts]

        def run():
            for t, ss in zip(texts, starts):
                for s in ss:
                    pattern.match(t, s)
    else:
        def run():
            for t in texts:
                for _ in pattern.finditer(t):
                    pass
    return run


def test_introspection_finds_every_pattern():
    from spamscore import learn, message
    from spamscore.check.findings import headers as check_headers
    from spamscore.serve import splice
    from spamscore.features import auth, html, tokens, urls

    found = {id(p) for p in MODULE_PATTERNS.values()}
    # a few known ones: proof that the walk sees every module and every dict
    for expected in (message._HEADER_FIELD, urls._URL_RE, urls._DOMAIN_IN_TEXT, auth._PROP, tokens._ADDRESS,
                     message._PARAM["charset"], message._ENCODED_WORD, learn._TRAIL, check_headers._DKIM_TAG,
                     splice._FIELD_NAME):
        assert id(expected) in found, expected.pattern
    assert len(found) >= 45
    assert set(ANCHORED) <= set(PATTERNS), set(ANCHORED) - set(PATTERNS)
    # inline patterns, read from the sources: html.py's tag stripper, check.py's blank-line squeezer
    inline = {p.pattern for p in INLINE_PATTERNS.values()}
    assert r"<[^<>]{0,2000}>" in inline and r"\n[ \t]*(?:\n[ \t]*)+\n" in inline, inline
    assert not any(name.startswith("spamscore.learn:") for name in INLINE_PATTERNS)
    assert html.__name__ in {name.split(":")[0] for name in INLINE_PATTERNS}


def test_anchored_patterns_are_only_matched():
    """An exception in ANCHORED holds only while no source applies the pattern with a scanning method."""
    sources = {mod.__name__: Path(mod.__file__).read_text(encoding="utf-8") for mod in _modules()
               if mod.__file__.endswith(".py")}
    for name in ANCHORED:
        attr = name.rsplit(".", 1)[1]
        scan = re.compile(rf"\b{re.escape(attr)}\.(?:search|sub|subn|findall|finditer|split|fullmatch)\(")
        for mod, text in sources.items():
            hit = scan.search(text)
            assert hit is None, f"{mod} scans with {name} ({hit.group(0)}...): remove it from ANCHORED"


@pytest.mark.parametrize("name", sorted(PATTERNS))
def test_pattern_is_linear_on_adversarial_input(name):
    pattern = PATTERNS[name]
    ratio, times = growth(lambda n: _work(name, pattern, n))
    assert ratio < MAX_RATIO, f"{name} ({pattern.pattern!r}) grows {ratio:.1f}x from 8 KB to 32 KB: {_shown(times)}"


def test_the_growth_test_fails_on_a_quadratic_pattern():
    """The former learn._TRAIL, quadratic on trailing white space (issue 14), and a nested quantifier."""
    trail = re.compile(rb"[ \t\r]+$", re.MULTILINE)
    ratio, times = growth(lambda n: (lambda data=b" " * n + b"x": trail.sub(b"", data)), sizes=(1024, 4096, 16384))
    assert ratio > MAX_RATIO, _shown(times)
    fixed = spamscore.learn._TRAIL
    ratio, times = growth(lambda n: (lambda data=b" " * n + b"x": fixed.sub(b"", data)))
    assert ratio < MAX_RATIO, _shown(times)
    assert fixed.sub(b"", b"a \t\r\nb  \n  c\t") == trail.sub(b"", b"a \t\r\nb  \n  c\t") == b"a\nb\n  c"


# --------------------------------------------------------------------------
# through the functions: patterns from the standard library, and whole code paths

def _function_cases():
    from spamscore.features.auth import auth_features, parse_authentication_results
    from spamscore.features.html import analyze_html
    from spamscore.features.tokens import header_tokens
    from spamscore.features.urls import find_urls, link_mismatch, parse_url, url_features
    from spamscore.learn import message_digest
    from spamscore.message import decode_header_value, parse

    def rep(unit, n):
        return unit * max(1, n // len(unit))

    # email.header.decode_header's ecre is quadratic on '=?' without '?=': we must not feed it a line
    yield "encoded-words", lambda n: decode_header_value("=?utf-8?q?ok?= " + rep("=?a?q?x", n))
    yield "encoded-word-unclosed", lambda n: decode_header_value("=?utf-8?b?" + "A" * n)
    yield "subject-encoded-words", lambda n: parse(b"Subject: " + rep(b"=?a?b?", n) + b"\r\n\r\nx\r\n")
    for i, source in enumerate([lambda n: "<" + "a" * n, lambda n: rep("<a", n), lambda n: rep("<" + "x" * 1999, n),
                                lambda n: "<?xml encoding='x'?>" + "<" * n]):
        yield f"html-{i}", (lambda n, source=source: analyze_html([source(n)]))
    for i, text in enumerate([lambda n: rep("http://", n), lambda n: rep("www.", n), lambda n: "http://" + rep("a.", n),
                              lambda n: "http://a" + "/" * n, lambda n: rep("http://a" + "@" * 1000, n),
                              lambda n: "x" + rep("://", n)]):
        yield f"urls-{i}", (lambda n, text=text: url_features(find_urls(text(n), 10_000), [], 10_000))
    for i, (href, shown) in enumerate([(lambda n: "http://" + rep("a.", n) + "com", lambda n: rep("a.", n) + "com"),
                                       (lambda n: "http://x.com", lambda n: rep("a" * 63 + ".", n) + "a"),
                                       (lambda n: rep("http://[", n), lambda n: rep("b-", n) + ".com")]):
        yield f"link-{i}", (lambda n, href=href, shown=shown: (link_mismatch(href(n), shown(n)), parse_url(href(n))))
    values = [lambda n: "(" * n + ")" * n, lambda n: "mx; " + rep("spf=pass ", n),
              lambda n: "mx; " + rep("a.b=", n), lambda n: "mx; spf=pass smtp.mailfrom=" + "a" * n,
              lambda n: rep("; d=", n), lambda n: "d" + " " * n + "=",
              lambda n: rep("a" * 70 + "@", n), lambda n: "<" * n, lambda n: rep("from ", n), lambda n: rep("[1.2.3.", n)]
    for i, value in enumerate(values):
        def headers(n, value=value):
            v = value(n)
            return [(name, v) for name in ("from", "to", "received", "message-id", "x-mailer",
                                           "authentication-results", "received-spf", "dkim-signature")]
        yield f"auth-results-{i}", (lambda n, value=value: parse_authentication_results(value(n)))
        yield f"header-tokens-{i}", (lambda n, headers=headers: header_tokens(headers(n)))
        yield f"auth-features-{i}", (lambda n, headers=headers: auth_features(headers(n), frozenset({"mx"})))
    # learn's digest: trailing white space (issue 14: 20 KB of spaces then x took 5.6 s)
    yield "digest-trailing-space", lambda n: message_digest(b"Subject: x\n\n" + b" " * n + b"x")
    yield "digest-trailing-space-lines", lambda n: message_digest(b"Subject: x\n\n" + rep(b" " * 500 + b"x\n", n))
    yield "digest-message-id", lambda n: message_digest(b"Message-ID: " + rep(b"\n \n", n) + b"\n\nx")


FUNCTION_CASES = dict(_function_cases())


@pytest.mark.parametrize("case", sorted(FUNCTION_CASES))
def test_function_is_linear_on_adversarial_input(case):
    call = FUNCTION_CASES[case]
    call(SIZES[0])   # it works at all (raises nothing)
    ratio, times = growth(lambda n: (lambda: call(n)))
    assert ratio < MAX_RATIO, f"{case} grows {ratio:.1f}x from 8 KB to 32 KB: {_shown(times)}"


def test_function_outputs_on_hostile_input():
    """The functions above still give sensible answers on those inputs (not only quickly)."""
    from spamscore.features.html import analyze_html
    from spamscore.message import decode_header_value, parse

    assert decode_header_value("=?utf-8?q?ok?= " + "=?a?q?x" * 5000).startswith("ok")
    assert parse(b"Subject: " + b"=?a?b?" * 5000 + b"\r\n\r\nx\r\n").subject.startswith("=?a?b?")
    assert decode_header_value("=?utf-8?b?" + "A" * 30_000).startswith("=?utf-8?b?AAA")
    for source in ["<" + "a" * 30_000, "<a" * 15_000, ("<" + "x" * 1999) * 15, "<?xml encoding='x'?>" + "<" * 20_000]:
        assert analyze_html([source]).parts == 1
