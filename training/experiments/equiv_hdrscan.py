"""The compiled header loop (``spamscore._hdrscan``) against the Python reference.

Usage: python training/experiments/equiv_hdrscan.py [--corpus /tmp/sa_corpus] [--index TSV] [--passes 6]

For every message of the SpamAssassin corpus (all 6,046, both halves), every
test fixture and every case of ``tests/hostile.py`` up to 5 MB: the header
list of ``parse(raw)`` through ``tokens.header_tokens`` with the C loop and
with ``tokens._hdrscan = None`` (the Python reference, ``_header_tokens``)
must give the same list (same tokens, same order, same duplicates, all
exact str), with the default ignored prefixes and with none.  Also
``_address_tokens`` (of every address header, C and Python) and
``auth_features`` (C name test on and off) against the code they replaced
(kept below), which must give the same lists.  Prints the number of
messages that differ (must be 0), then an A/B of ``header_tokens`` alone
and of ``Model.score`` over the test half, C and Python alternating in one
process (CPU time, medians of the passes, µs per message).
"""
from __future__ import annotations

import argparse
import glob
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, REPO)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(REPO, "tests"))

import _inputs  # noqa: E402
from spamscore import load_model  # noqa: E402
from spamscore.features import auth, tokens  # noqa: E402
from spamscore.message import parse  # noqa: E402

HS = tokens._hdrscan
MAX_HOSTILE = 5 << 20


def use_c(on: bool) -> None:
    tokens._hdrscan = HS if on else None
    auth._hdrscan = HS if on else None


# ---- the code _address_tokens and auth_features replaced (the reference) ----

def old_auth_features(headers, trusted_authserv_ids=frozenset()):
    out = []
    auth_headers = [h for h in headers if h[0] in auth._AUTH_HEADERS]
    if not auth_headers:
        return out
    from_dom = ""
    for name, value in headers:
        if name == "from":
            from_dom = auth.from_domain(value)
            break
    saw_spf = False
    for name, value in auth_headers:
        if name == "authentication-results":
            authserv_id, results = auth.parse_authentication_results(value)
            if authserv_id not in trusted_authserv_ids:
                out.append("auth:ar-untrusted")
                continue
            for r in results:
                if r.method not in ("spf", "dkim", "dmarc", "arc", "iprev", "dkim-atps", "auth"):
                    continue
                out.append(f"auth:{r.method}={r.result}")
                if r.result == "pass":
                    if r.method == "dkim":
                        d = r.props.get("header.d") or auth._domain_of(r.props.get("header.i", ""))
                        out.append("auth:dkim=pass:" + ("aligned" if auth.aligned(d, from_dom) else "unaligned"))
                    elif r.method == "spf":
                        d = auth._domain_of(r.props.get("smtp.mailfrom", "") or r.props.get("smtp.helo", ""))
                        out.append("auth:spf=pass:" + ("aligned" if auth.aligned(d, from_dom) else "unaligned"))
        elif name == "received-spf" and not saw_spf:
            saw_spf = True
            m = auth._SPF_RESULT.match(value)
            if m:
                out.append("spf-hdr:" + m.group(1).lower())
        elif name == "dkim-signature":
            m = auth._DKIM_D.search(value.replace("\n", " ").replace("\r", " "))
            out.append("dkim:signed")
            if m:
                d = m.group(1).lower()
                out.append("dkim:d=" + d)
                out.append("dkim:" + ("aligned" if auth.aligned(d, from_dom) else "unaligned"))
    return out


def old_address_tokens(name: str, value: str, out: list[str]) -> None:
    value = value[:2000]
    addrs = tokens._ADDRESS.findall(value)[:20]
    display = tokens._ANGLE.sub(" ", value)
    for addr in addrs:
        display = display.replace(addr, " ")
    out.extend(tokens.words(display.replace('"', " "), name + ":name:", 500))
    if not addrs:
        out.append(name + (":empty" if not value.strip() or value.strip() == "<>" else ":no-domain"))
    for addr in addrs:
        user, _, domain = addr.lower().rpartition("@")
        domain = domain.strip(".")
        if domain:
            out.append(name + ":domain:" + domain)
            reg = tokens.registered_domain(domain)
            if reg != domain:
                out.append(name + ":domain:" + reg)
        if 0 < len(user) <= 20:
            out.append(name + ":user:" + user)
        else:
            out.append(f"{name}:user:skip {len(user) // 10 * 10}")


def same(a: list, b: list) -> bool:
    return a == b and all(type(x) is str for x in a) and all(type(x) is str for x in b)


def empty_caches() -> None:
    """So that each side computes every value itself (the lru_caches are shared by C and Python)."""
    tokens._value_tokens.cache_clear()
    tokens._received_host.cache_clear()
    tokens._HDR_NAME_CACHE.clear()
    tokens._HDR_VALUE_CACHE.clear()
    tokens._HDR_HOST_CACHE.clear()


def compare(pm, label: str) -> int:
    """1 if anything differs for this parsed message (printed), else 0."""
    bad = []
    for ignored in (tokens.DEFAULT_IGNORED_HEADERS, (), None):
        empty_caches()
        use_c(True)
        c = tokens.header_tokens(pm.headers, ignored)   # misses: C address_tokens
        c2 = tokens.header_tokens(pm.headers, ignored)  # hits of the C-side caches
        empty_caches()
        use_c(False)
        p = tokens.header_tokens(pm.headers, ignored)
        r = tokens._header_tokens(pm.headers, ignored)
        if not (same(c, p) and same(c2, p) and same(p, r)):
            bad.append(f"header_tokens ignored={ignored!r:.20}")
    for name, value in pm.headers:
        if name in tokens._ADDRESS_HEADERS:
            old_out: list[str] = []
            old_address_tokens(name, value[:2000], old_out)
            for on in (True, False):
                use_c(on)
                new_out: list[str] = []
                tokens._address_tokens(name, value[:2000], new_out)
                if not same(new_out, old_out):
                    bad.append(f"_address_tokens {name} C={on}")
    for trusted in (frozenset(), frozenset(["mx.example.org", "mx.google.com"])):
        ref = old_auth_features(pm.headers, trusted)
        use_c(False)
        py = auth.auth_features(pm.headers, trusted)
        use_c(True)
        if not (same(auth.auth_features(pm.headers, trusted), ref) and same(py, ref)):
            bad.append("auth_features")
    use_c(True)
    if bad:
        print(f"DIFFERS {label}: {bad}")
        return 1
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", default="/tmp/sa_corpus")
    ap.add_argument("--index", default="/work/shared/corpora/spamassassin-public.tsv")
    ap.add_argument("--passes", type=int, default=6)
    ap.add_argument("--no-hostile", action="store_true")
    args = ap.parse_args()
    if HS is None:
        print("spamscore._hdrscan is not built: nothing to compare", file=sys.stderr)
        return 2
    rows = [line.rstrip("\n").split("\t") for line in open(args.index, encoding="utf-8")][1:]
    paths = [os.path.join(args.corpus, r[0]) for r in rows]
    paths += sorted(glob.glob(os.path.join(REPO, "tests", "fixtures", "**", "*.eml"), recursive=True))
    n = bad = 0
    for path in paths:
        with open(path, "rb") as fh:
            raw = fh.read()
        bad += compare(parse(raw), path)
        n += 1
    print(f"{n} corpus messages and fixtures: {bad} differ")
    if not args.no_hostile:
        from hostile import hostile_cases
        hn = hbad = skipped = 0
        for name, raw in hostile_cases():
            if len(raw) > MAX_HOSTILE:
                skipped += 1
                continue
            hbad += compare(parse(raw), "hostile:" + name)
            hn += 1
        print(f"{hn} hostile cases ({skipped} above 5 MB skipped): {hbad} differ")
        bad += hbad

    # A/B over the test half, C and Python alternating (caches warm for both)
    test = _inputs.test_half(args.corpus, args.index)
    headers = [parse(raw).headers for raw in test]
    model = load_model()
    for raw in test:
        model.score(raw)
    stage: dict[str, list[float]] = {"C": [], "Python": []}
    whole: dict[str, list[float]] = {"C": [], "Python": []}
    for rep in range(args.passes):
        for name in (("C", "Python") if rep % 2 == 0 else ("Python", "C")):
            use_c(name == "C")
            t0 = time.process_time()
            for h in headers:
                tokens.header_tokens(h, tokens.DEFAULT_IGNORED_HEADERS)
            stage[name].append((time.process_time() - t0) / len(test) * 1e6)
            t0 = time.process_time()
            for raw in test:
                model.score(raw)
            whole[name].append((time.process_time() - t0) / len(test) * 1e6)
    use_c(True)
    for label, res in (("header_tokens", stage), ("Model.score", whole)):
        print(f"{label}: " + ", ".join(
            f"{k} {statistics.median(v):.1f} us/msg (min {min(v):.1f})" for k, v in res.items()))
    print(f"total differing: {bad}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
