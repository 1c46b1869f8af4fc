"""The compiled body words (``spamscore._bodyscan``) against the Python code, on the whole corpus.

Usage: python training/experiments/equiv_bodyscan.py [--corpus /tmp/sa_corpus] [--index TSV] [--passes 6]
       [--no-hostile] [--no-bench] [--generated 3000]

For every message of the SpamAssassin corpus (all 6,046, both halves), every
test fixture and every case of tests/hostile.py (those above 5 MB skipped):
``analyze`` (the fields check.py reads: plain_text, visible_text, urls,
html), ``body_tokens``, ``subject_tokens``, ``words`` on the plain and the
HTML text (several prefixes, bigram settings and max_chars cuts) and the whole
feature set of ``extract`` must be the same with ``tokens._bodyscan`` set and
with it None (the Python reference, which also makes ``analyze`` share its
split again).  Then the same for mutated corpus texts (case flips, every kind
of white space, punctuation runs, long words, cuts) and generated texts.
Prints the number that differ (must be 0).  Then an A/B over the test half,
both ways alternating in one process (CPU time, medians): analyze plus
body_tokens (as extract calls them), and ``load_model().score(raw)``.
"""
from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, "tests"))
sys.path.insert(0, HERE)

import _inputs  # noqa: E402

from spamscore import load_model  # noqa: E402
from spamscore.features import DEFAULT_OPTIONS, analyze, extract, tokens  # noqa: E402
from spamscore.message import parse  # noqa: E402

C = tokens._bodyscan
BIG = _inputs.BIG
WS = ["\t", "\n", "\x0b", "\x0c", "\r", " ", "\x1c", "\x1d", "\x1e", "\x1f"]
NON_ASCII_WS = ["\x85", "\xa0", "\u3000", "\u2028"]
LATIN1 = [chr(i) for i in range(128, 256)]
WIDE = list("’‘“”–—•€■●►…™Ω\u200b\u200d\ufeff\u2060\u2002\u202f\u205f\u1680\u2029") + ["\U0001F600", "ｆ", "無"]


def use_c(on: bool) -> None:
    tokens._bodyscan = C if on else None


def both(fn):
    use_c(True)
    try:
        a = fn()
    except Exception as e:  # the same exception either way
        a = ("raised", type(e).__name__)
    use_c(False)
    try:
        b = fn()
    except Exception as e:
        b = ("raised", type(e).__name__)
    use_c(True)
    return a, b


WORD_ARGS = [dict(), dict(bigrams=True), dict(bigrams="bi:"), dict(prefix="subject:", max_chars=2000),
             dict(bigrams=True, max_chars=37), dict(bigrams="", max_chars=0), dict(bigrams=True, max_chars=-5),
             dict(prefix="é:", bigrams=True), dict(bigrams="ü ")]


def compare_text(text: str) -> list[str]:
    bad = []
    for kw in WORD_ARGS:
        x, y = both(lambda: tokens.words(text, **kw))
        if x != y:
            bad.append(f"words {kw}")
    x, y = both(lambda: tokens.subject_tokens(text[:3000]))
    if sorted(x) != sorted(y):
        bad.append("subject_tokens")
    return bad


def compare(raw: bytes) -> list[str]:
    """What differs for one message (empty when all is the same)."""
    bad = []
    pm = parse(raw)
    ac, ap = both(lambda: analyze(pm))
    for f in ("plain_text", "visible_text", "urls", "html", "seq_chars"):
        if getattr(ac, f) != getattr(ap, f):
            bad.append(f"analyze {f}")
    texts = [ap.plain_text] + ([ap.visible_text] if ap.html.parts else [])
    for mc in (20_000, 200_000, 100, 1):
        x, y = both(lambda: tokens.body_tokens(list(texts), mc))
        if x != y:
            bad.append(f"body_tokens {mc}")
    x, y = both(lambda: tokens.body_tokens([ap.plain_text, ap.plain_text[:500], ap.visible_text or ""], 700))
    if x != y:
        bad.append("body_tokens 3 texts")
    for t in texts:
        bad += compare_text(t)
    bad += compare_text(pm.subject)
    fc, fp = both(lambda: extract(pm))
    if set(fc) != set(fp) or len(fc) != len(fp):
        bad.append("extract")
    # each analysis with the other's extract (an Analysis made either way serves both)
    for a_ in (ac, ap):
        x, y = both(lambda: extract(pm, DEFAULT_OPTIONS, a_))
        if set(x) != set(y) or set(x) != set(fp):
            bad.append("extract with analysis")
    return bad


def mutate(text: str, rng: random.Random) -> str:
    chars = list(text[: rng.choice([200, 2000, 30000])])
    for _ in range(rng.randint(1, 40)):
        if not chars:
            break
        i = rng.randrange(len(chars))
        op = rng.randrange(8)
        if op == 0:
            chars[i] = rng.choice(WS)
        elif op == 1:
            chars[i] = chars[i].swapcase()
        elif op == 2:
            chars[i:i] = list(rng.choice(tokens._PUNCT) * rng.randint(1, 30))
        elif op == 3:
            chars[i:i] = list("Ab" * rng.randint(5, 200))
        elif op == 4:
            chars[i] = rng.choice(NON_ASCII_WS + LATIN1 + WIDE + ["無料", "\udcff", "é", "\x00", "\x7f", "\xad"])
        elif op == 5:
            del chars[i: i + rng.randint(1, 50)]
        elif op == 6:
            chars[i:i] = list(rng.choice(["http://X.example/a", "WWW.Foo.com", "a://b", "www."]))
        else:
            chars[i:i] = list("".join(rng.choice(WS) for _ in range(rng.randint(1, 10))))
    return "".join(chars)


def generated(rng: random.Random) -> str:
    alphabet = rng.choice(["aB", "abcXYZ09", "ab" + tokens._PUNCT, "".join(map(chr, range(128))),
                           "aBéÉ\xa0\xad\x85ª²", "".join(map(chr, range(256))), "abcÀÉÎ" + "".join(LATIN1[::7]),
                           "aB’“”—•\u200b\u3000\xa0é", "ab" + "".join(WIDE) + "".join(LATIN1[::5])])
    words = []
    for _ in range(rng.choice([0, 1, 2, 5, 50, 3500, 20000])):
        n = rng.choice([0, 1, 2, 3, 5, 12, 13, 14, 25, 200])
        words.append("".join(rng.choice(alphabet) for _ in range(n)))
        words.append("".join(rng.choice(WS) for _ in range(rng.randint(1, 3))))
    return "".join(words)


def sources(args):
    return _inputs.messages(args.corpus, args.index, hostile=not args.no_hostile, big=BIG)


def bench(args) -> None:
    test = _inputs.test_half(args.corpus, args.index)
    pms = [parse(raw) for raw in test]
    opts = DEFAULT_OPTIONS

    def body_run() -> float:
        t = time.process_time()
        for pm in pms:
            a = analyze(pm, opts)
            texts = [a.plain_text]
            seqs = None
            if a.seq_chars == opts.max_text_chars and len(a.plain_text) <= opts.max_text_chars:
                seqs = [a.plain_seq, a.html_seq]
            if a.html.parts:
                texts.append(a.html.visible_text if a.visible_text is None else a.visible_text)
            tokens.body_tokens(texts, opts.max_text_chars, seqs)
        return time.process_time() - t

    m = load_model()
    for raw in test[:200]:
        m.score(raw)

    def score_run() -> float:
        t = time.process_time()
        for raw in test:
            m.score(raw)
        return time.process_time() - t

    for name, run in (("analyze + body_tokens", body_run), ("load_model().score(raw)", score_run)):
        times = {True: [], False: []}
        for i in range(args.passes):
            for on in ((True, False) if i % 2 == 0 else (False, True)):
                use_c(on)
                gc.collect()
                times[on].append(run())
        use_c(True)
        med = {on: statistics.median(v) / len(test) * 1e6 for on, v in times.items()}
        print(f"{name}: Python {med[False]:.1f} µs/msg, C {med[True]:.1f} µs/msg "
              f"(saves {med[False] - med[True]:.1f}; passes {args.passes}, {len(test)} msgs)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="/tmp/sa_corpus")
    ap.add_argument("--index", default="/work/shared/corpora/spamassassin-public.tsv")
    ap.add_argument("--passes", type=int, default=6)
    ap.add_argument("--generated", type=int, default=3000)
    ap.add_argument("--no-hostile", action="store_true")
    ap.add_argument("--no-bench", action="store_true")
    args = ap.parse_args()
    if C is None:
        print("spamscore._bodyscan is not built: nothing to compare", file=sys.stderr)
        return 2
    rng = random.Random(1)
    n = differ = 0
    texts = []
    for name, raw in sources(args):
        n += 1
        bad = compare(raw)
        if bad:
            differ += 1
            print("DIFF", name, bad[:5], flush=True)
        if not name.startswith("hostile:") and rng.random() < 0.25:
            pm = parse(raw)
            texts.append("\n".join(pm.text))
    print(f"messages: {n}, differ: {differ}", flush=True)
    m = d = 0
    for t in texts:
        m += 1
        bad = compare_text(mutate(t, rng))
        if bad:
            d += 1
            print("DIFF mutated", bad[:5], flush=True)
    for _ in range(args.generated):
        m += 1
        bad = compare_text(generated(rng))
        if bad:
            d += 1
            print("DIFF generated", bad[:5], flush=True)
    print(f"mutated and generated texts: {m}, differ: {d}", flush=True)
    if not args.no_bench:
        bench(args)
    return 1 if differ or d else 0


if __name__ == "__main__":
    sys.exit(main())
