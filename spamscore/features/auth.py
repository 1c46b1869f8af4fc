"""Sender authentication: Authentication-Results, Received-SPF, DKIM-Signature.

``Authentication-Results`` (RFC 8601) is trusted only when its authserv-id is
one the operator lists (``trusted_authserv_ids``): anyone can write that header,
and spammers do.  An untrusted one yields only ``auth:ar-untrusted``.
From a trusted one we take each method's result (``auth:spf=fail``,
``auth:dkim=pass``, ``auth:dmarc=fail``, ``auth:arc=pass``) and whether the
passing DKIM ``header.d`` or SPF ``smtp.mailfrom`` domain is aligned with the
``From:`` domain (same organizational domain, as DMARC relaxed alignment).

The first (topmost, i.e. newest) ``Received-SPF`` gives ``spf-hdr:<result>``.
A ``DKIM-Signature`` gives ``dkim:signed``, ``dkim:d=<domain>`` and
``dkim:aligned`` when its ``d=`` matches the From organizational domain; a
signature is only a claim (it is not verified here: that needs DNS), so these
tokens are learned like any other.

The SpamAssassin corpus (2002-2003) carries none of these headers, so a model
trained on it has no counts for them.  The model therefore holds *prior*
probabilities for the ``auth:`` tokens (see ``model.AUTH_PRIORS``), used in
Robinson's formula as the token's prior belief: with no training data the
prior decides, and learned counts from modern mail outweigh it as they grow.
"""

from __future__ import annotations

import re

from .tokens import ADDRESS as _ADDRESS
from .urls import registered_domain

from .. import _native

_hdrscan = _native.load("_hdrscan")  # the compiled header-name test; None: the list comprehension below

__all__ = ["AuthResult", "parse_authentication_results", "auth_features", "from_domain"]

_COMMENT = re.compile(r"\([^()]{0,500}\)")
_RESINFO = re.compile(r"^\s*([a-z][a-z0-9_-]{0,30})\s*(?:/\s*\d+\s*)?=\s*([a-z]+)", re.I)
_PROP = re.compile(r"\b([a-z]+)\.([a-z0-9_-]{1,40})\s*=\s*(\"[^\"]{0,300}\"|[^\s;]{1,300})", re.I)
_DKIM_D = re.compile(r"(?:^|;)\s*d\s*=\s*([^;\s]{1,255})", re.I)
_SPF_RESULT = re.compile(r"^\s*([a-z]+)", re.I)


class AuthResult:
    """One method's result from an Authentication-Results header."""

    __slots__ = ("method", "result", "props")

    def __init__(self, method: str, result: str, props: dict[str, str]):
        self.method, self.result, self.props = method, result, props

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"AuthResult({self.method}={self.result} {self.props})"


def _strip_comments(value: str) -> str:
    for _ in range(5):  # nested comments, bounded
        new = _COMMENT.sub(" ", value)
        if new == value:
            break
        value = new
    return value


def parse_authentication_results(value: str) -> tuple[str, list[AuthResult]]:
    """``(authserv-id, results)`` from one Authentication-Results value."""
    value = _strip_comments(value[:4000])
    segments = value.split(";")
    head = segments[0].split()
    authserv_id = head[0].lower() if head else ""
    results = []
    for seg in segments[1:]:
        m = _RESINFO.match(seg)
        if m is None:
            continue
        props = {f"{p.lower()}.{k.lower()}": v.strip('"') for p, k, v in _PROP.findall(seg[m.end():])}
        results.append(AuthResult(m.group(1).lower(), m.group(2).lower(), props))
    return authserv_id, results


def from_domain(from_value: str | None) -> str:
    """The domain of the (first) From address, lower-case; '' if none."""
    if not from_value:
        return ""
    m = _ADDRESS.search(from_value[:2000])
    return m.group(0).rsplit("@", 1)[1].strip(".").lower() if m else ""


def _domain_of(value: str) -> str:
    return value.rsplit("@", 1)[-1].strip().lower()


def aligned(domain: str, from_dom: str) -> bool:
    """DMARC relaxed alignment: the same organizational domain."""
    return bool(domain and from_dom) and registered_domain(domain) == registered_domain(from_dom)


_AUTH_HEADERS = frozenset({"authentication-results", "received-spf", "dkim-signature"})


def auth_features(headers: list[tuple[str, str]], trusted_authserv_ids: frozenset[str] = frozenset()) -> list[str]:
    out: list[str] = []
    # Most mail carries none of these headers (all of the 2002 corpus): one
    # pass picks them, and the From domain is only looked for when needed.
    # The pass in C (None: headers it leaves to the Python loop) answers
    # "none" without building the list.
    if _hdrscan is not None and _hdrscan.any_name(headers, _AUTH_HEADERS) is False:
        return out
    auth_headers = [h for h in headers if h[0] in _AUTH_HEADERS]
    if not auth_headers:
        return out
    from_dom = ""
    for name, value in headers:
        if name == "from":
            from_dom = from_domain(value)
            break
    saw_spf = False
    for name, value in auth_headers:
        if name == "authentication-results":
            authserv_id, results = parse_authentication_results(value)
            if authserv_id not in trusted_authserv_ids:
                out.append("auth:ar-untrusted")
                continue
            for r in results:
                if r.method not in ("spf", "dkim", "dmarc", "arc", "iprev", "dkim-atps", "auth"):
                    continue
                out.append(f"auth:{r.method}={r.result}")
                if r.result == "pass":
                    if r.method == "dkim":
                        d = r.props.get("header.d") or _domain_of(r.props.get("header.i", ""))
                        out.append("auth:dkim=pass:" + ("aligned" if aligned(d, from_dom) else "unaligned"))
                    elif r.method == "spf":
                        d = _domain_of(r.props.get("smtp.mailfrom", "") or r.props.get("smtp.helo", ""))
                        out.append("auth:spf=pass:" + ("aligned" if aligned(d, from_dom) else "unaligned"))
        elif name == "received-spf" and not saw_spf:
            saw_spf = True
            m = _SPF_RESULT.match(value)
            if m:
                out.append("spf-hdr:" + m.group(1).lower())
        elif name == "dkim-signature":
            m = _DKIM_D.search(value.replace("\n", " ").replace("\r", " "))
            out.append("dkim:signed")
            if m:
                d = m.group(1).lower()
                out.append("dkim:d=" + d)
                out.append("dkim:" + ("aligned" if aligned(d, from_dom) else "unaligned"))
    return out
