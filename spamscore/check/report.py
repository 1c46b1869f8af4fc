"""What a check returns: finding statuses, :class:`Finding`, :class:`CheckReport`, and each finding's basis.

Every other module of the check builds or reads these; none of them computes
anything.  A status ranks ``pass < note < warn < fail`` (:data:`STATUS_RANK`),
and a report's ``worst`` is its highest.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..scoring import Verdict
from .explain import ExplainedClue

__all__ = [
    "PASS", "NOTE", "WARN", "FAIL", "STATUS_RANK", "FINDING_IDS", "DNS_FINDING_IDS", "UNSENT_NOTE",
    "DELIVERED_NOTE", "GMAIL_2024", "BASIS", "Finding", "CheckReport", "make_finding",
]

PASS, NOTE, WARN, FAIL = "pass", "note", "warn", "fail"
STATUS_RANK = {PASS: 0, NOTE: 1, WARN: 2, FAIL: 3}

FINDING_IDS = (
    "input", "dkim-signature", "dkim-alignment", "from-domain", "message-id", "date", "list-unsubscribe",
    "list-unsubscribe-post", "text-alternative", "image-ratio", "url-shortener", "ip-url", "link-mismatch",
    "link-count", "subject-style", "size", "charset",
)
DNS_FINDING_IDS = ("dns-spf", "dns-dmarc", "dns-dkim-key")

UNSENT_NOTE = ("scored as an unsent message: delivery headers (Received, Authentication-Results...) "
               "are not counted")
DELIVERED_NOTE = "scored as a delivered message: every header counts, delivery headers included"

# What each finding rests on (the ``basis`` of a Finding), by id.
GMAIL_2024 = "Gmail and Yahoo sender requirements (2024)"
BASIS = {
    "input": "RFC 5322 (a message is a header block, a blank line and a body)",
    "dkim-signature": f"{GMAIL_2024}: bulk senders sign with DKIM; RFC 6376",
    "dkim-alignment": f"{GMAIL_2024}: From aligned with the DKIM or SPF domain (DMARC, RFC 7489 section 3.1)",
    "from-domain": "RFC 5322 section 3.6.2 (From is required); DMARC SPF alignment (RFC 7489)",
    "message-id": "RFC 5322 section 3.6.4; Gmail sender guidelines (format per RFC 5322)",
    "date": "RFC 5322 section 3.6.1 (Date is required)",
    "list-unsubscribe": f"{GMAIL_2024}: one-click unsubscribe for bulk mail; RFC 2369",
    "list-unsubscribe-post": f"{GMAIL_2024}: one-click unsubscribe for bulk mail; RFC 8058",
    "text-alternative": "SpamAssassin MIME_HTML_ONLY (a small score); mailbox providers deliver HTML-only mail",
    "image-ratio": "SpamAssassin HTML_IMAGE_ONLY_* and HTML_IMAGE_RATIO_* rules",
    "url-shortener": "shared shortener domains carry other senders' reputation (URI blocklists list abused ones)",
    "ip-url": "SpamAssassin NUMERIC_HTTP_ADDR, Rspamd HTTP_TO_IP",
    "link-mismatch": "phishing checks: Rspamd PHISHING, Thunderbird's scam warning; ESP click tracking excepted",
    "link-count": "heuristic: long link lists read as link farms; no provider rule",
    "subject-style": "SpamAssassin SUBJ_ALL_CAPS, Rspamd SUBJ_ALL_CAPS and trigger-word rules (small scores)",
    "size": "Gmail clips HTML over 102 KB; receivers cap message size",
    "charset": "RFC 2045/2047 and Gmail sender guidelines (format per RFC 5322 and MIME); Rspamd R_BAD_CTE_7BIT",
    "dns-spf": f"{GMAIL_2024}: SPF; RFC 7208",
    "dns-dmarc": f"{GMAIL_2024}: a DMARC record for bulk senders; RFC 7489",
    "dns-dkim-key": f"{GMAIL_2024}: DKIM; RFC 6376 section 3.6",
}


@dataclass(frozen=True, slots=True)
class Finding:
    id: str
    status: str          # pass, note, warn or fail
    message: str         # what was found
    fix: str             # one line: what to do ('' when it passes)
    basis: str = ""      # the rule or evidence behind the status

    def to_dict(self) -> dict:
        return {"id": self.id, "status": self.status, "message": self.message, "fix": self.fix,
                "basis": self.basis or BASIS.get(self.id, "")}


@dataclass(slots=True)
class CheckReport:
    path: str | None
    verdict: Verdict
    spammy: list[ExplainedClue]
    hammy: list[ExplainedClue]
    findings: list[Finding]
    subject: str = ""
    from_: str = ""
    body_text: str = ""          # the visible text (plain part, else HTML text), for rendering
    spam_cutoff: float = 0.9
    ham_cutoff: float = 0.2
    unsent: bool = True          # scored as an unsent message (campaign mode)
    bulk: bool = True            # judged as bulk mail (one-click unsubscribe required)

    @property
    def probability(self) -> float:
        return self.verdict.probability

    @property
    def label(self) -> str:
        return self.verdict.label

    @property
    def scoring_note(self) -> str:
        return UNSENT_NOTE if self.unsent else DELIVERED_NOTE

    @property
    def worst(self) -> str:
        return max((f.status for f in self.findings), key=STATUS_RANK.__getitem__, default=PASS)

    def counts(self) -> dict[str, int]:
        out = {PASS: 0, NOTE: 0, WARN: 0, FAIL: 0}
        for f in self.findings:
            out[f.status] += 1
        return out

    def finding(self, fid: str) -> Finding | None:
        return next((f for f in self.findings if f.id == fid), None)

    def to_dict(self) -> dict:
        d = {
            "path": self.path,
            "probability": self.verdict.probability,
            "label": self.verdict.label,
            "spam_cutoff": self.spam_cutoff,
            "ham_cutoff": self.ham_cutoff,
            "scored_as": "unsent" if self.unsent else "delivered",
            "scoring_note": self.scoring_note,
            "mail_type": "bulk" if self.bulk else "transactional",
            "subject": self.subject,
            "clues": [c.to_dict() for c in self.spammy] + [c.to_dict() for c in self.hammy],
            "findings": [f.to_dict() for f in self.findings],
            "summary": self.counts(),
        }
        return d


def make_finding(fid: str, status: str, message: str, fix: str = "", basis: str = "") -> Finding:
    """A :class:`Finding`: no fix when it passes; the basis defaults to :data:`BASIS` of its id."""
    return Finding(fid, status, message, fix if status != PASS else "", basis or BASIS.get(fid, ""))
