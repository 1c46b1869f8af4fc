"""DNS findings: the From domain's SPF and DMARC records and the DKIM signatures' keys, through a resolver.

They run only when a resolver is passed in: a callable ``txt(name) ->
list[str]`` (dkimpy's ``dnsfunc`` idea), so tests serve canned records and
nothing reaches the network unless asked.  :func:`dns_txt_resolver` builds
one on dnspython.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..errors import SpamscoreError
from ..features.urls import registered_domain
from ..message import ParsedMessage
from .findings.headers import addr_domain, dkim_tags
from .report import DNS_FINDING_IDS, FAIL, NOTE, PASS, WARN, Finding
from .report import make_finding as _f  # one short call a finding

__all__ = ["DnsLookupError", "dns_txt_resolver", "dns_findings"]


class DnsLookupError(SpamscoreError):
    """A DNS lookup failed for another reason than 'no such record' (timeout, SERVFAIL...)."""


def dns_txt_resolver(nameservers: list[str] | None = None, port: int = 53, timeout: float = 5.0
                     ) -> Callable[[str], list[str]]:
    """A ``txt(name) -> list[str]`` lookup on dnspython.

    Returns ``[]`` when the name or the TXT record does not exist; raises
    :class:`DnsLookupError` on timeouts and server failures.  ``nameservers``
    and ``port`` default to the system's resolver configuration.
    """
    try:
        import dns.exception
        import dns.resolver
    except ImportError as exc:  # pragma: no cover - dnspython is a dependency
        raise DnsLookupError("DNS checks need dnspython (pip install dnspython)") from exc
    res = dns.resolver.Resolver(configure=nameservers is None)
    if nameservers is not None:
        res.nameservers = list(nameservers)
    res.port = port
    res.timeout = res.lifetime = timeout

    def txt(name: str) -> list[str]:
        try:
            answer = res.resolve(name, "TXT")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except (dns.exception.DNSException, OSError) as exc:
            raise DnsLookupError(f"{name}: {type(exc).__name__}: {exc}") from None
        return [b"".join(r.strings).decode("utf-8", "replace") for r in answer]

    return txt


_SPF_MECH = re.compile(r"^[+\-~?]?(all|include:\S+|a(:\S+)?(/\d+)?|mx(:\S+)?(/\d+)?|ptr(:\S+)?|"
                       r"ip4:[0-9./]+|ip6:[0-9a-f:./]+|exists:\S+)$", re.I)
_SPF_MOD = re.compile(r"^(redirect|exp)=\S+$|^[a-z][a-z0-9_.-]*=\S*$", re.I)


def _lookup(resolver, name: str) -> tuple[list[str] | None, str]:
    try:
        return list(resolver(name)), ""
    except DnsLookupError as exc:
        return None, str(exc)


def dns_findings(pm: ParsedMessage, resolver: Callable[[str], list[str]]) -> list[Finding]:
    """SPF, DMARC and DKIM key records of the From (and DKIM) domain, through ``resolver``."""
    dom = addr_domain(pm.get("from"))
    if not dom:
        why = "no From domain to look up"
        return [_f(i, FAIL, why, "set a From address in your own domain") for i in DNS_FINDING_IDS]
    return [_dns_spf(dom, resolver), _dns_dmarc(dom, resolver),
            _dns_dkim(dom, [dkim_tags(v) for v in pm.get_all("dkim-signature")], resolver)]


def _dns_spf(dom: str, resolver) -> Finding:
    txts, err = _lookup(resolver, dom)
    if txts is None:
        return _f("dns-spf", WARN, f"SPF lookup failed ({err})", "check again; make sure your DNS answers")
    spf = [t for t in txts if t.lower().startswith("v=spf1") and (len(t) == 6 or t[6] == " ")]
    if not spf:
        return _f("dns-spf", FAIL, f"no SPF record (TXT v=spf1) at {dom}",
                  f"publish TXT \"v=spf1 include:<your ESP> ~all\" at {dom}")
    if len(spf) > 1:
        return _f("dns-spf", FAIL, f"{len(spf)} SPF records at {dom} (RFC 7208: permerror)",
                  "merge them into one v=spf1 record")
    terms = spf[0].split()[1:]
    bad = [t for t in terms if not (_SPF_MECH.match(t) or _SPF_MOD.match(t))]
    if bad:
        return _f("dns-spf", FAIL, f"invalid SPF term(s) {', '.join(bad[:3])} in {spf[0][:120]!r}",
                  "fix the record's syntax (RFC 7208)")
    if any(t.lower() in ("+all", "all") for t in terms):
        return _f("dns-spf", FAIL, f"SPF record allows every sender (+all): {spf[0][:120]!r}",
                  "end the record with ~all or -all")
    if not any(t.lower().lstrip("+-~?") == "all" or t.lower().startswith("redirect=") for t in terms):
        return _f("dns-spf", WARN, f"SPF record has no 'all' term: {spf[0][:120]!r}", "end the record with ~all or -all")
    return _f("dns-spf", PASS, f"SPF: {spf[0][:160]}")


def _dmarc_tags(rec: str) -> dict[str, str]:
    out = {}
    for piece in rec.split(";"):
        k, sep, v = piece.partition("=")
        if sep:
            out.setdefault(k.strip().lower(), v.strip())
    return out


def _dns_dmarc(dom: str, resolver) -> Finding:
    names = [f"_dmarc.{dom}"]
    org = registered_domain(dom)
    if org != dom:
        names.append(f"_dmarc.{org}")
    for name in names:
        txts, err = _lookup(resolver, name)
        if txts is None:
            return _f("dns-dmarc", WARN, f"DMARC lookup failed ({err})", "check again; make sure your DNS answers")
        recs = [t for t in txts if t.replace(" ", "").lower().startswith("v=dmarc1")]
        if not recs:
            continue
        if len(recs) > 1:
            return _f("dns-dmarc", FAIL, f"{len(recs)} DMARC records at {name}", "publish exactly one")
        tags = _dmarc_tags(recs[0])
        p = tags.get("p", "").lower()
        if p not in ("none", "quarantine", "reject"):
            return _f("dns-dmarc", FAIL, f"DMARC record at {name} has no valid policy p=: {recs[0][:120]!r}",
                      "add p=none, p=quarantine or p=reject")
        if p == "none":
            # Gmail and Yahoo (2024) ask bulk senders for a DMARC record; p=none satisfies them
            return _f("dns-dmarc", NOTE, f"DMARC policy p=none at {name} (monitoring only: enough for Gmail and "
                      "Yahoo)", "once reports show your mail aligns, move to p=quarantine or p=reject")
        return _f("dns-dmarc", PASS, f"DMARC policy p={p} at {name}")
    return _f("dns-dmarc", FAIL, f"no DMARC record at _dmarc.{dom}",
              f"publish TXT \"v=DMARC1; p=none; rua=mailto:dmarc@{org}\" at _dmarc.{org} (Gmail and Yahoo require one)")


def _dns_dkim(dom: str, sigs: list[dict[str, str]], resolver) -> Finding:
    sigs = [s for s in sigs if s.get("s") and s.get("d")]
    if not sigs:
        return _f("dns-dkim-key", FAIL, "no DKIM signature with a selector to look up",
                  "sign with DKIM and publish the key at <selector>._domainkey.<domain>")
    problems = []
    for s in sigs[:5]:
        name = f"{s['s']}._domainkey.{s['d'].strip('.')}"
        txts, err = _lookup(resolver, name)
        if txts is None:
            return _f("dns-dkim-key", WARN, f"DKIM key lookup failed ({err})", "check again; make sure your DNS answers")
        keys = [_dmarc_tags(t) for t in txts if "p=" in t.replace(" ", "")]
        if not keys:
            problems.append(f"no DKIM key at {name}")
            continue
        if not keys[0].get("p", "").replace(" ", ""):
            problems.append(f"the DKIM key at {name} is revoked (empty p=)")
            continue
        return _f("dns-dkim-key", PASS, f"DKIM key published at {name}")
    return _f("dns-dkim-key", FAIL, "; ".join(problems),
              "publish the public key your ESP gives you as TXT at <selector>._domainkey.<domain>")
