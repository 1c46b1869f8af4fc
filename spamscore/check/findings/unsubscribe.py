"""Bulk mail and its unsubscribe: is the message bulk, and does it offer (one-click) unsubscribe.

Gmail's and Yahoo's 2024 rule (RFC 2369 ``List-Unsubscribe`` with an https
URI, RFC 8058 one-click, both headers signed by DKIM) binds bulk mail only:
``list-unsubscribe`` and ``list-unsubscribe-post`` fail for bulk mail, warn
for a post relayed by list software, and are notes for transactional mail.
"""

from __future__ import annotations

import re

from ...features import Analysis
from ...message import ParsedMessage
from ..report import FAIL, NOTE, PASS, WARN, Finding
from ..report import make_finding as _f  # one short call a finding
from .headers import addr_domain

__all__ = ["is_list_post", "looks_bulk", "unsubscribe_findings"]

# Words of an unsubscribe or opt-out footer (English, Japanese: 配信停止 "stop delivery",
# 配信解除 "cancel delivery", 購読解除 "cancel subscription", メルマガ "mail magazine").
_OPT_OUT = re.compile(r"unsubscribe|(?<![a-z])opt[ -]?out|email preferences|"
                      r"manage (?:your )?(?:subscription|preferences)|"
                      r"配信停止|配信解除|購読解除|配信を停止|メルマガ|メールマガジン", re.I)


def is_list_post(pm: ParsedMessage) -> bool:
    """Whether the message is a post relayed by mailing-list software (Mailman, Google Groups...).

    RFC 2369's List-Post, Google Groups' Mailing-list header, or a To address
    that is the list itself: an author's post to a discussion or announce
    list, not a sender's campaign.  Gmail's one-click rule binds senders of
    5,000+ messages a day; list software adds it for large lists (Mailman
    3.3.9, Google Groups), so its absence there is a warning, not a failure.
    """
    if pm.get("list-post") is not None or pm.get("mailing-list") is not None:
        return True
    list_id = (pm.get("list-id") or "").lower()
    to = addr_domain(pm.get("to"))
    m = re.search(r"<([^<>@\s]{1,200})>", list_id)
    if not (m and to):
        return False
    addr = (pm.get("to") or "").lower()
    local = m.group(1).split(".", 1)[0]
    return f"{local}@" in addr


def looks_bulk(pm: ParsedMessage, analysis: Analysis) -> bool:
    """Whether a message is bulk (marketing, newsletter) rather than transactional or personal mail.

    Gmail's one-click rule applies to "marketing and subscribed messages",
    not to receipts or password resets, so ``list-unsubscribe`` and
    ``list-unsubscribe-post`` fail only for bulk mail.  Signs of bulk mail:
    list headers (List-Unsubscribe, List-Id, Precedence: bulk/list), an
    unsubscribe or opt-out footer, or undisclosed recipients.
    """
    if pm.get("list-unsubscribe") is not None or pm.get("list-unsubscribe-post") is not None:
        return True
    if pm.get("list-id") is not None:
        return True
    if (pm.get("precedence") or "").strip().lower() in ("bulk", "list", "junk"):
        return True
    to = (pm.get("to") or "").lower()
    if "undisclosed" in to or (pm.get("to") is None and pm.get("cc") is None):
        return True
    text = analysis.plain_text[:200_000] + "\n" + analysis.html.visible_text[:200_000]
    if _OPT_OUT.search(text):
        return True
    return any(_OPT_OUT.search(t[:200]) or _OPT_OUT.search(h[:300]) for h, t in analysis.html.links[:500])


_ANGLE_URI = re.compile(r"<([^<>]{1,2000})>")


def unsubscribe_findings(pm: ParsedMessage, sigs: list[dict[str, str]], bulk: bool = True
                         ) -> tuple[Finding, Finding]:
    """List-Unsubscribe and RFC 8058 one-click: failures for bulk mail, notes for transactional mail."""
    value = pm.get("list-unsubscribe")
    post = pm.get("list-unsubscribe-post")
    # transactional mail (receipts, password resets) needs no unsubscribe: Gmail's rule is for bulk mail;
    # a post relayed by list software is held to it only when the list is large
    listpost = bulk and is_list_post(pm)
    missing = WARN if listpost else FAIL if bulk else NOTE
    kind = ("a mailing-list post: Gmail requires one-click of senders of 5,000+ messages a day" if listpost
            else "bulk mail" if bulk else "transactional mail: no list headers or unsubscribe footer")
    if value is None:
        lu = _f("list-unsubscribe", missing, f"no List-Unsubscribe header ({kind})",
                "add List-Unsubscribe: <https://...>, <mailto:...> (Gmail and Yahoo require it of bulk senders)")
        uris: list[str] = []
    else:
        uris = [u.strip() for u in _ANGLE_URI.findall(value)]
        good = [u for u in uris if u.lower().startswith(("https://", "mailto:"))]
        if good:
            lu = _f("list-unsubscribe", PASS, "List-Unsubscribe: " + ", ".join(good)[:200])
        elif any(u.lower().startswith("http://") for u in uris):
            lu = _f("list-unsubscribe", WARN, "List-Unsubscribe has only a plain http:// URI",
                    "give an https:// (and/or mailto:) unsubscribe URI")
        else:
            lu = _f("list-unsubscribe", missing,
                    f"List-Unsubscribe has no https or mailto URI in <...>: {value.strip()[:80]!r}",
                    "write it as <https://example.com/unsub?id=...>, <mailto:unsub@example.com>")
    https = [u for u in uris if u.lower().startswith("https://")]
    if post is None:
        lup = _f("list-unsubscribe-post", missing,
                 f"no List-Unsubscribe-Post header (no one-click unsubscribe; {kind})",
                 "add List-Unsubscribe-Post: List-Unsubscribe=One-Click with an https List-Unsubscribe URI (RFC 8058)")
    elif post.strip() != "List-Unsubscribe=One-Click":
        lup = _f("list-unsubscribe-post", missing, f"List-Unsubscribe-Post is {post.strip()[:60]!r}",
                 "its value must be exactly List-Unsubscribe=One-Click (RFC 8058)")
    elif not https:
        lup = _f("list-unsubscribe-post", missing, "one-click unsubscribe needs an https URI in List-Unsubscribe",
                 "add <https://...> to List-Unsubscribe: RFC 8058 one-click works by POST to that URI")
    else:
        covered = any({"list-unsubscribe", "list-unsubscribe-post"} <=
                      {h.strip().lower() for h in s.get("h", "").split(":")} for s in sigs)
        if not covered:
            # RFC 8058 section 4: both headers MUST be in a valid DKIM signature's h=, and
            # receivers SHOULD NOT offer one-click unsubscribe otherwise.
            lup = _f("list-unsubscribe-post", missing, "one-click unsubscribe present, but no DKIM signature covers "
                     "both List-Unsubscribe and List-Unsubscribe-Post",
                     "include both headers in the DKIM h= list (RFC 8058 section 4)")
        else:
            lup = _f("list-unsubscribe-post", PASS, "one-click unsubscribe (RFC 8058), signed by DKIM")
    return lu, lup
