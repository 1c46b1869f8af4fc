"""The compiled URL scan (``spamscore._urlscan``) against the Python code, on the whole corpus.

Usage: python training/experiments/equiv_urlscan.py [--corpus /tmp/sa_corpus] [--index TSV] [--passes 6] [--no-hostile]

For every message of the SpamAssassin corpus (all 6,046, both halves), every
test fixture and every case of tests/hostile.py (those above 5 MB skipped):
``find_urls`` (as ``analyze`` calls it, with the split given and without it,
and with small limits), ``url_features`` on the message's URLs and links,
``link_mismatch`` of each link, and the whole feature list of ``extract`` must be the same with
``urls._urlscan`` set and with it None (the Python reference).  Prints the
number of messages that differ (must be 0).  Then an A/B over the test half,
both ways alternating in one process (CPU time, medians): find_urls and
url_features alone, on the inputs analyze gives them, and
``load_model().score(raw)`` as a whole.
"""
from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, REPO)
sys.path.insert(0, os.path.join(REPO, "tests"))
sys.path.insert(0, HERE)

import _inputs  # noqa: E402

import spamscore.features as features  # noqa: E402
from spamscore import load_model  # noqa: E402
from spamscore.features import analyze, extract, urls  # noqa: E402
from spamscore.message import parse  # noqa: E402

C = urls._urlscan
BIG = _inputs.BIG


def use_c(on: bool) -> None:
    urls._urlscan = C if on else None


def clear_caches() -> None:
    """Forget what either path cached (registered_domain, shared and pure Python, is kept)."""
    for f in (urls.parse_url, urls._url_tokens_cached, urls._link_mismatch_cached):
        f.cache_clear()


def both(fn):
    clear_caches()
    use_c(True)
    try:
        a = fn()
    except Exception as e:  # the same exception either way
        a = ("raised", type(e).__name__)
    clear_caches()
    use_c(False)
    try:
        b = fn()
    except Exception as e:
        b = ("raised", type(e).__name__)
    use_c(True)
    return a, b


def compare(raw: bytes) -> list[str]:
    """What differs for one message (empty when all is the same)."""
    bad = []
    pm = parse(raw)
    ac, ap = both(lambda: analyze(pm))
    if ac.urls != ap.urls:
        bad.append("analyze urls")
    a = ap
    texts = [(a.plain_text, a.plain_text.lower())]
    if a.visible_text is not None:
        texts.append((a.visible_text, a.visible_text.lower()))
    for text, low in texts:
        seq = low.split()
        for limit in (500, 3, 1, 0, -1):
            for args in ((text, limit), (text, limit, low), (text, limit, low, seq)):
                x, y = both(lambda: urls.find_urls(*args))
                if x != y:
                    bad.append(f"find_urls limit={limit} nargs={len(args)}")
    for max_urls in (500, 2):
        x, y = both(lambda: urls.url_features(a.urls, a.html.links, max_urls))
        if x != y:
            bad.append(f"url_features max_urls={max_urls}")
    for u in a.urls:
        x, y = both(lambda: urls._urlscan.url_tokens(u, urls.registered_domain, urls.SHORTENERS, urls._url_tokens)
                    if urls._urlscan is not None else urls._url_tokens_uncached(u))
        if x != y:
            bad.append(f"url_tokens {u[:80]!r}")
            break
    for href, text in a.html.links:
        x, y = both(lambda: urls.link_mismatch(href, text))
        if x != y:
            bad.append(f"link_mismatch {href[:80]!r}")
            break
    fc, fp = both(lambda: extract(pm))
    if sorted(fc) != sorted(fp):
        bad.append("extract")
    return bad


def sources(args):
    return _inputs.messages(args.corpus, args.index, hostile=not args.no_hostile, big=BIG)


def bench(args) -> None:
    test = _inputs.test_half(args.corpus, args.index)
    calls: list[tuple] = []
    orig = features.find_urls

    def spy(text, limit=500, low=None, seq=None):
        calls.append((text, limit, low, seq))
        return orig(text, limit, low, seq)

    features.find_urls = spy
    inputs = []
    try:
        for raw in test:
            n0 = len(calls)
            a = analyze(parse(raw))
            inputs.append((calls[n0:], a.urls, a.html.links))
    finally:
        features.find_urls = orig
    gc.collect()
    gc.freeze()  # the saved inputs are big: keep the collector's passes out of the timings
    model = load_model()
    for raw in test[:200]:
        model.score(raw)

    def t_find():
        t0 = time.process_time()
        for fu, _, _ in inputs:
            for text, limit, low, seq in fu:
                urls.find_urls(text, limit, low, seq)
        return time.process_time() - t0

    def t_feat():
        t0 = time.process_time()
        for _, us, links in inputs:
            urls.url_features(us, links, 500)
        return time.process_time() - t0

    def t_score():
        t0 = time.process_time()
        for raw in test:
            model.score(raw)
        return time.process_time() - t0

    def t_feat_cold():  # every URL and link new to the caches (as for new mail)
        clear_caches()
        return t_feat()

    res: dict[tuple[str, str], list[float]] = {}
    for rep in range(args.passes):
        for name in (("C", "Python") if rep % 2 == 0 else ("Python", "C")):
            use_c(name == "C")
            for stage, fn in (("find_urls", t_find), ("url_features", t_feat), ("url_feat_cold", t_feat_cold),
                              ("score", t_score)):
                res.setdefault((stage, name), []).append(fn() / len(test) * 1e6)
    use_c(True)
    for stage in ("find_urls", "url_features", "url_feat_cold", "score"):
        py, c = statistics.median(res[(stage, "Python")]), statistics.median(res[(stage, "C")])
        print(f"{stage:13s} Python {py:7.1f} us/msg   C {c:7.1f} us/msg   saved {py - c:6.1f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="/tmp/sa_corpus")
    ap.add_argument("--index", default="/work/shared/corpora/spamassassin-public.tsv")
    ap.add_argument("--passes", type=int, default=6)
    ap.add_argument("--no-hostile", action="store_true")
    ap.add_argument("--no-bench", action="store_true")
    args = ap.parse_args()
    if C is None:
        print("spamscore._urlscan is not built: nothing to compare", file=sys.stderr)
        return 2
    total = bad = 0
    for name, raw in sources(args):
        total += 1
        diff = compare(raw)
        if diff:
            bad += 1
            print(f"DIFFERS {name}: {diff[:5]}")
    print(f"{total} messages: {bad} differ")
    if not args.no_bench:
        bench(args)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
