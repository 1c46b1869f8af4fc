"""URLs from text and HTML: where links really go, and the tricks spam plays.

The registered domain (``url:example.co.uk``) comes from tldextract built with
``suffix_list_urls=()`` and no cache directory, so it uses the Public Suffix
List snapshot bundled with the package and never touches the network (about
5 microseconds a call, cached per host here).

Signals, each a feature: link shorteners (``url:shortener``), IP-literal or
numeric hosts (``url:ip-host``), non-standard ports, ``user@host`` tricks
(``url:userinfo``), punycode / IDN hosts, link text that shows one domain while
the href goes to another (``url:text-mismatch``), and log2-bucketed counts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .. import _native

_speedups = _native.load("_speedups")  # the compiled word filter; None: _url_words does the same
_urlscan = _native.load("_urlscan")  # the compiled URL scan and URL tokens; None: the Python code below

__all__ = ["UrlInfo", "find_urls", "parse_url", "registered_domain", "url_features", "SHORTENERS"]

# tldextract is imported at the first host the suffix walk below cannot
# answer (punycode, odd characters): importing it brings requests, urllib3
# and filelock in, 77 ms of start-up (python -X importtime, Python 3.11
# here; the least of 7 runs of `import spamscore` went from 276 to 127 ms on a
# busy machine), for a download scoring never makes.  2 of the 6,046
# SpamAssassin messages (train and test halves) hold such a host; the others
# never import it.  ``urls._EXTRACT`` (module __getattr__) still gives the
# extractor, built on first access.
_EXTRACTOR = None


def _extractor():
    """``tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)``, built on first use."""
    global _EXTRACTOR
    if _EXTRACTOR is None:  # (two threads may both build one: equal extractors, the last one is kept)
        import tldextract

        _EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    return _EXTRACTOR


def __getattr__(name: str):
    if name == "_EXTRACT":
        return _extractor()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Common public shorteners and redirectors (hide the real destination).
SHORTENERS = frozenset(
    """bit.ly bitly.com t.co tinyurl.com goo.gl ow.ly is.gd buff.ly rebrand.ly t.ly cutt.ly
    shorturl.at tiny.cc rb.gy bl.ink lnkd.in db.tt qr.ae adf.ly bit.do soo.gd s.id v.gd
    shorte.st x.co po.st mcaf.ee su.pr yourls.org clck.ru u.to tr.im snip.ly urlz.fr
    short.io shorturl.com 1url.com tinyurl.hu vk.cc amzn.to youtu.be trib.al dlvr.it
    ift.tt wp.me fb.me 2.gp""".split()
)

_URL_RE = re.compile(
    r"""(?:\b(?:https?|ftp)://|\bwww\.)[^\s<>"'`{}|\\^\x00-\x20\x7f]{1,2048}""", re.I
)
_TRAILING = ".,;:!?)]}>'\""
_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_NUMERIC_HOST = re.compile(r"^(?:0x[0-9a-f]{1,8}|\d{6,10})$", re.I)
_DOMAIN_IN_TEXT = re.compile(r"\b((?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.){1,10}[a-z]{2,24})\b", re.I)
_PATH_SPLIT = re.compile(r"[/?&=#.;:_+%-]+")


@dataclass(frozen=True, slots=True)
class UrlInfo:
    url: str
    scheme: str
    host: str
    domain: str          # registered domain, or the host when there is none
    port: int | None
    userinfo: bool
    ip_host: bool
    idn: bool
    shortener: bool
    path: str


@lru_cache(maxsize=8192)
def registered_domain(host: str) -> str:
    """``mail.example.co.uk`` -> ``example.co.uk`` (offline, bundled suffix list)."""
    host = host.strip(".").lower()
    if not host or _IPV4.match(host) or host.startswith("["):
        return host
    if (_PLAIN_HOST.match(host) is not None and "xn--" not in host and host.strip() == host
            and (host.isascii() or host.lower() == host)):
        found = _suffix_walk(host.split("."))
        if found is not None:
            return found
    try:
        ext = _extractor()(host)
    except Exception:  # tldextract on garbage hosts; never fatal
        return host
    if ext.domain and ext.suffix:
        return f"{ext.domain}.{ext.suffix}"
    # not under a public suffix (e.g. the reserved .example, .test, .local):
    # take the last two labels, as a DMARC organizational domain would
    labels = host.split(".")
    return ".".join(labels[-2:]) if len(labels) > 2 else host


# The registered domain of a plain host (nothing tldextract's host parsing
# would cut or change: no "/?#@:[" or full-width dots, no white space at
# either end, no punycode label, lower-case) without tldextract's call: its host parsing and
# result object cost ~8 µs a call, about 15 µs a message in a single pass over
# new mail (the cache above is cold).  The same public suffix rules (the
# snapshot tldextract bundles and, with suffix_list_urls=() and no cache
# directory, uses) and the same walk as its trie (tldextract's
# _PublicSuffixListTLDExtractor.suffix_index), over two sets of dotted
# label paths; tests/test_psl.py compares the two on generated hosts and on
# hosts around the rules.  Any other host goes to tldextract.
_PLAIN_HOST = re.compile(r"[^/?#@:\[\u3002\uff0e\uff61]+\Z")
_PSL: tuple[frozenset[str], frozenset[str]] | bool | None = None


def _psl_sets() -> tuple[frozenset[str], frozenset[str]] | None:
    """(every label path that ends some rule, the rules): built on first use."""
    global _PSL
    if _PSL is None:
        try:
            rules = frozenset(_public_suffix_rules(_suffix_snapshot()))
            paths = set()
            for rule in rules:
                labels = rule.split(".")
                paths.update(".".join(labels[i:]) for i in range(len(labels)))
            _PSL = (frozenset(paths), rules) if rules else False
        except Exception:  # a tldextract without its snapshot or that function: its own call decides
            _PSL = False
    return _PSL or None


def _suffix_snapshot() -> str:
    """The Public Suffix List snapshot tldextract bundles, read without importing tldextract."""
    import importlib.util
    import os

    spec = importlib.util.find_spec("tldextract")  # (finds the package; runs none of its code)
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        path = os.path.join(folder, ".tld_set_snapshot")
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as fh:
                return fh.read()
    import pkgutil  # a tldextract in a zip file: its loader reads it (and imports tldextract)

    return pkgutil.get_data("tldextract", ".tld_set_snapshot").decode("utf-8")


def _public_suffix_rules(text: str) -> list[str]:
    """The rules of the list's public section, as tldextract.suffix_list.extract_tlds_from_suffix_list
    reads them (its default: private domains are not suffixes); tests/test_psl.py compares the two."""
    public = text.partition("// ===BEGIN PRIVATE DOMAINS===")[0]
    return re.findall(r"^([.*!]*\w\S*)", public, re.UNICODE | re.MULTILINE)


def _suffix_walk(labels: list[str]) -> str | None:
    """registered_domain's result for a plain host's labels, or None (then tldextract decides)."""
    sets = _psl_sets()
    if sets is None:
        return None
    paths, rules = sets
    n = len(labels)
    suffix_at = n  # index of the first label of the public suffix
    path = ""
    for i in range(n - 1, -1, -1):
        label = labels[i]
        cand = label + "." + path if path else label
        if cand in paths:
            path = cand
            if cand in rules:
                suffix_at = i
            continue
        # no rule continues with this label: a wildcard rule here ("*.ck")
        # takes it into the suffix unless an exception ("!www.ck") names it
        if ("*." + path if path else "*") in paths:
            suffix_at = i + 1 if ("!" + cand) in rules else i
        break
    if 0 < suffix_at < n and labels[suffix_at - 1]:  # (an empty label is no domain: "a..co.uk")
        return labels[suffix_at - 1] + "." + ".".join(labels[suffix_at:])
    # no public suffix, or the host is one: the last two labels (as below)
    return ".".join(labels[-2:]) if n > 2 else ".".join(labels)


def find_urls(text: str, limit: int = 500, low: str | None = None, seq: list[str] | None = None) -> list[str]:
    """URLs written in plain text (http, https, ftp, and bare www.), in order.

    Splitting on white space and matching only the words that can hold a URL
    is several times faster than scanning the whole text with the regex.
    ``low`` (``text.lower()``) and ``seq`` (``low.split()``) may be passed
    by a caller that has them.
    """
    out: list[str] = []
    if low is None:
        low = text.lower()
    if _urlscan is not None and seq is None:
        # the words of low.split() that hold a URL, found without the split
        found = _urlscan.find_urls_text(low, limit, _word_urls)
        if found is not None:
            return found[:limit] if len(found) >= limit else found
    if "://" not in low and "www." not in low:
        return out
    if _urlscan is not None:
        found = _urlscan.find_urls(seq, limit, _word_urls)
        if found is not None:
            return found[:limit] if len(found) >= limit else found
    if seq is None:
        seq = low.split()
    for w in (_speedups.url_words(seq) if _speedups is not None else _url_words(seq)):
        out.extend(_word_urls(w))
        if len(out) >= limit:
            return out[:limit]
    return out


def _word_urls(w: str) -> list[str]:
    """The URLs of one word (``_urlscan.find_urls`` hands it the non-ASCII ones; the loop above, all)."""
    return [m.group(0).rstrip(_TRAILING) for m in _URL_RE.finditer(w)]


def _url_words(seq: list[str]) -> list[str]:
    """The words that can hold a URL (the reference for ``_speedups.url_words``)."""
    # (a plain loop: map(str.__contains__, ...) goes through a slot wrapper
    # per word and was four times slower)
    return [w for w in seq if "://" in w or "www." in w]


@lru_cache(maxsize=8192)
def parse_url(url: str) -> UrlInfo | None:
    """Split a URL by hand (urllib raises on some hostile forms); None if not a web URL."""
    url = url.strip()[:2048]
    low = url.lower()
    if low.startswith("www."):
        scheme, rest = "http", url
    else:
        scheme, sep, rest = url.partition("://")
        if not sep:
            return None
        scheme = scheme.lower().strip()
        if scheme not in ("http", "https", "ftp"):
            return None
    end = len(rest)
    for ch in "/?#":
        i = rest.find(ch)
        if i != -1 and i < end:
            end = i
    netloc, path = rest[:end], rest[end:]
    userinfo = "@" in netloc
    if userinfo:
        netloc = netloc.rsplit("@", 1)[1]
    port = None
    host = netloc
    if host.startswith("["):
        close = host.find("]")
        host, after = host[: close + 1], host[close + 1 :]
        if after.startswith(":") and after[1:].isascii() and after[1:].isdigit():
            port = int(after[1:][:6])
    elif ":" in host:
        host, _, p = host.rpartition(":")
        if p.isascii() and p.isdigit():  # "¹²" is a digit to isdigit(), not to int()
            port = int(p[:6])
    host = host.strip(".").lower()
    if not host:
        return None
    idn = not host.isascii() or "xn--" in host
    ip_host = bool(_IPV4.match(host) or _NUMERIC_HOST.match(host) or host.startswith("["))
    domain = host if ip_host else registered_domain(host)
    return UrlInfo(
        url=url, scheme=scheme, host=host, domain=domain, port=port, userinfo=userinfo,
        ip_host=ip_host, idn=idn, shortener=domain in SHORTENERS or host in SHORTENERS, path=path,
    )


def link_mismatch(href: str, link_text: str) -> tuple[str, str] | None:
    """(shown domain, real domain) when link text names a domain the href does not go to."""
    if _urlscan is not None:  # the real domain without building a UrlInfo
        ut = _urlscan.url_tokens(href, registered_domain, SHORTENERS, _url_domain)
        real_domain = None if ut is None else ut[0]
    else:
        real = parse_url(href)
        real_domain = None if real is None else real.domain
    if real_domain is None or not link_text:
        return None
    m = _DOMAIN_IN_TEXT.search(link_text[:300])
    if m is None:
        return None
    shown_host = m.group(1).lower()
    if shown_host.rsplit(".", 1)[-1] not in _COMMON_TLDS:
        return None
    shown = registered_domain(shown_host)
    if shown != real_domain:
        return shown, real_domain
    return None


def _url_domain(url: str) -> tuple[str, tuple[()]] | None:
    """(the registered domain, ()) of a URL, by parse_url (``_urlscan.url_tokens`` hands it non-ASCII ones)."""
    info = parse_url(url)
    return None if info is None else (info.domain, ())


# Only treat link text as a domain when it ends in a real, common TLD, so that
# "file.txt" or "v1.2" is not mistaken for a shown domain.
_COMMON_TLDS = frozenset(
    "com net org info biz us uk de jp cn ru fr it nl ca au io co me tv ly br in es se no fi ch at be pl kr tw hk sg nz mx".split()
)


def _url_tokens_uncached(url: str) -> tuple[str, tuple[str, ...]] | None:
    info = parse_url(url)
    if info is None:
        return None
    out = ["url:" + info.domain, "proto:" + info.scheme]
    if info.host != info.domain and not info.ip_host:
        out.append("url-host:" + info.host)
    if info.shortener:
        out.append("url:shortener")
    if info.ip_host:
        out.append("url:ip-host")
    if info.port is not None and info.port not in (80, 443):
        out.append("url:port")
    if info.userinfo:
        out.append("url:userinfo")
    if info.idn:
        out.append("url:idn")
    if info.path:
        for piece in _PATH_SPLIT.split(info.path.lower())[:6]:
            if 2 < len(piece) < 20:
                out.append("url-path:" + piece)
    return info.domain, tuple(out)


_url_tokens_cached = lru_cache(maxsize=8192)(_url_tokens_uncached)
_link_mismatch_cached = lru_cache(maxsize=8192)(link_mismatch)
_CACHE_MAX_LEN = 2048  # longer keys are not cached (bounded memory on hostile input)
# The Python references of _urlscan.url_tokens and _speedups.url_words, by public names (tests/).
url_tokens_py = _url_tokens_uncached
url_words_py = _url_words


def _url_tokens(url: str) -> tuple[str, tuple[str, ...]] | None:
    """The tokens of one URL, cached when the key is short."""
    return _url_tokens_cached(url) if len(url) <= _CACHE_MAX_LEN else _url_tokens_uncached(url)


def url_features(urls: list[str], links: list[tuple[str, str]], max_urls: int = 500) -> list[str]:
    """Features from every URL a message carries (text URLs, hrefs, srcs).

    The tokens of one URL, and the mismatch verdict of one (href, text)
    link, are cached: list footers, trackers and images recur across mail.
    """
    if _urlscan is not None:
        out = _urlscan.url_features(
            urls[:max_urls], links[:max_urls], registered_domain, SHORTENERS, _url_tokens,
            _link_mismatch_cached, link_mismatch, _CACHE_MAX_LEN,
        )
        if out is not None:
            return out
    out: list[str] = []
    seen_domains: set[str] = set()
    n = 0
    counts: dict[str, int] = {}
    for url in urls[:max_urls]:  # each distinct URL is looked at once
        counts[url] = counts.get(url, 0) + 1
    for url, times in counts.items():
        ut = _url_tokens_cached(url) if len(url) <= _CACHE_MAX_LEN else _url_tokens_uncached(url)
        if ut is None:
            continue
        n += times
        seen_domains.add(ut[0])
        out.extend(ut[1])
    for href, text in links[:max_urls]:
        if len(href) <= _CACHE_MAX_LEN:
            mm = _link_mismatch_cached(href, text)
        else:
            mm = link_mismatch(href, text)
        if mm is not None:
            out.append("url:text-mismatch")
    if n:
        out.append("url:count:" + _bucket(n))
        out.append("url:domains:" + _bucket(len(seen_domains)))
    return out


def _bucket(n: int) -> str:
    return f"2**{n.bit_length() - 1}" if n > 0 else "0"
