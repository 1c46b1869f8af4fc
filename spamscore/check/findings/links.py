"""The links: URL shorteners, bare IP addresses, link text naming another domain (ESP click tracking excepted), count.

``ip-url`` (SpamAssassin NUMERIC_HTTP_ADDR, Rspamd HTTP_TO_IP) and
``link-mismatch`` (Rspamd PHISHING, Thunderbird's scam warning) fail; a link
through a known provider's tracking host (:mod:`spamscore.features.esp`) is a
note, unless the destination it carries in clear names another domain.
"""

from __future__ import annotations

from ...features import Analysis
from ...features.esp import embedded_destination, esp_for_host
from ...features.urls import link_mismatch, parse_url
from ..report import FAIL, NOTE, PASS, WARN, Finding
from ..report import make_finding as _f  # one short call a finding

__all__ = ["LINKS_WARN", "LINKS_FAIL", "url_findings"]

LINKS_WARN, LINKS_FAIL = 50, 100


def _link_verdict(href: str, text: str) -> tuple[str, str] | None:
    """('fail'|'tracking', what was found) for one link whose text names another domain, else None.

    A link through an ESP's tracking host (:mod:`spamscore.features.esp`) is tracking,
    unless it carries its destination in clear and that names another domain
    than the text (a phisher on a real ESP).
    """
    mm = link_mismatch(href, text)
    if not mm:
        return None
    real = parse_url(href)
    host = real.host if real else mm[1]
    esp = esp_for_host(host) if real else None
    if esp is None:
        return FAIL, f"link text shows {mm[0]} but the link goes to {host}"
    dest = embedded_destination(href)
    if dest is not None:
        mm2 = link_mismatch(dest, text)
        if mm2:
            d = parse_url(dest)
            return FAIL, (f"link text shows {mm2[0]} but the link goes through {esp} tracking to "
                          f"{d.host if d else mm2[1]}")
    return "tracking", f"{esp} click tracking ({host})"


def url_findings(a: Analysis) -> list[Finding]:
    """``url-shortener``, ``ip-url``, ``link-mismatch`` and ``link-count``, in that order."""
    infos = [(u, parse_url(u)) for u in a.urls]
    infos = [(u, i) for u, i in infos if i is not None]
    short = sorted({i.host for _, i in infos if i.shortener})
    ips = sorted({i.host for _, i in infos if i.ip_host})
    out = []
    if short:
        out.append(_f("url-shortener", WARN, "links through URL shorteners: " + ", ".join(short[:5]),
                      "link to your own domain directly; shorteners are shared with spammers"))
    else:
        out.append(_f("url-shortener", PASS, "no URL shorteners"))
    if ips:
        out.append(_f("ip-url", FAIL, "links to bare IP addresses: " + ", ".join(ips[:5]),
                      "link to a domain name, never to an IP address"))
    else:
        out.append(_f("ip-url", PASS, "no links to IP addresses"))
    mismatches: list[str] = []
    tracked: list[str] = []
    for href, text in a.html.links:
        scheme = href.strip().split(":", 1)[0].lower() if ":" in href else ""
        if scheme in ("javascript", "vbscript", "data"):
            shown = f"'{text[:40]}'" if text else "a link"
            mismatches.append(f"{shown} is a {scheme}: link, not a web address")
            continue
        verdict = _link_verdict(href, text)
        if verdict is None:
            continue
        if verdict[0] == FAIL:
            mismatches.append(verdict[1])
        elif verdict[1] not in tracked:
            tracked.append(verdict[1])
    if mismatches:
        out.append(_f("link-mismatch", FAIL, "; ".join(mismatches[:3]),
                      "make the visible link text name the domain the link really goes to (or not a domain at all)"))
    elif tracked:
        out.append(_f("link-mismatch", NOTE,
                      "link texts name your domain, the links go through " + "; ".join(tracked[:3]),
                      "fine as it is; a branded tracking domain (links.your-domain) keeps the names consistent"))
    else:
        out.append(_f("link-mismatch", PASS, "link texts match where the links go"))
    n_links = len({u for u, _ in infos if u not in set(a.html.srcs)})
    if n_links > LINKS_FAIL:
        out.append(_f("link-count", WARN, f"{n_links} links", f"keep a campaign under {LINKS_WARN} links"))
    elif n_links > LINKS_WARN:
        out.append(_f("link-count", NOTE, f"{n_links} links", f"keep a campaign under {LINKS_WARN} links"))
    else:
        out.append(_f("link-count", PASS, f"{n_links} link(s)"))
    return out
