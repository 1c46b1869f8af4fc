"""What the reader sees: a text alternative to the HTML, text against images, the subject's style, the size.

SpamAssassin's MIME_HTML_ONLY and HTML_IMAGE_ONLY_* rules, its subject rules
(SUBJ_ALL_CAPS, trigger words) and Gmail's clipping of HTML over 102 KB; only
image-only HTML fails, the rest warn or note.
"""

from __future__ import annotations

import re
import unicodedata

from ...features import Analysis
from ...message import ParsedMessage
from ..report import FAIL, NOTE, PASS, WARN, Finding
from ..report import make_finding as _f  # one short call a finding

__all__ = [
    "GMAIL_CLIP_BYTES", "MAX_MESSAGE_BYTES", "MIN_TEXT_CHARS", "MIN_CHARS_PER_IMAGE", "spammy_subject_words",
    "text_alternative_finding", "image_ratio_finding", "subject_style_finding", "size_finding",
]

_SPAMMY_SUBJECT_WORDS = (
    # English: the classic SpamAssassin / mail-tester subject triggers
    "free", "winner", "win", "won", "cash", "prize", "urgent", "act now", "limited time", "guarantee",
    "guaranteed", "viagra", "100%", "$$$", "congratulations", "click here", "buy now", "risk-free",
    "no cost", "earn money", "make money", "double your", "lowest price", "cheap", "casino", "lottery",
    "miracle", "credit card", "no obligation", "order now", "extra income", "weight loss",
    # Japanese: free, urgent, won (a prize), now, limited, high income, side job, can earn, huge discount,
    # encounters (dating), cash, profitable, claim it
    "無料", "緊急", "当選", "今すぐ", "限定", "高収入", "副業", "稼げる", "激安", "出会い", "現金", "儲かる",
    "当選者", "今だけ", "必ず儲",
)
_ASCII_WORD = {w: re.compile(r"(?<![a-z0-9])" + re.escape(w) + r"(?![a-z0-9])") for w in _SPAMMY_SUBJECT_WORDS
               if w.isascii()}

# Gmail clips messages whose HTML is larger than about 102 KB.
GMAIL_CLIP_BYTES = 102 * 1024
MAX_MESSAGE_BYTES = 1024 * 1024
MIN_TEXT_CHARS = 200          # below this an image message is "image only" (SpamAssassin HTML_IMAGE_ONLY_*)
MIN_CHARS_PER_IMAGE = 100


def text_alternative_finding(pm: ParsedMessage, a: Analysis) -> Finding:
    """``text-alternative``: an HTML message carries a text/plain version."""
    if not pm.html:
        return _f("text-alternative", PASS, "plain-text message (no HTML)")
    if not a.plain_text.strip():
        # a warning, not a failure: mailbox providers deliver HTML-only newsletters every day
        return _f("text-alternative", WARN, "HTML message without a text/plain part",
                  "send multipart/alternative with a text/plain version of the HTML (read by text-only clients "
                  "and screen readers)")
    return _f("text-alternative", PASS, "HTML message with a text/plain alternative")


def image_ratio_finding(a: Analysis) -> Finding:
    """``image-ratio``: enough visible text for the images (alt text counts)."""
    info = a.html
    if not info.images:
        return _f("image-ratio", PASS, "no images")
    # visible text (alt text counts: a reader without images sees it)
    text_len = len(" ".join(info.visible_text.split()))
    if text_len < MIN_TEXT_CHARS:
        return _f("image-ratio", FAIL, f"{info.images} image(s) and only {text_len} characters of text",
                  "put your message in real text; images should illustrate it, not carry it")
    per = text_len / info.images
    if per < MIN_CHARS_PER_IMAGE:
        return _f("image-ratio", WARN, f"{info.images} images for {text_len} characters of text ({per:.0f} per image)",
                  f"use fewer images or more text (at least {MIN_CHARS_PER_IMAGE} characters per image)")
    return _f("image-ratio", PASS, f"{info.images} image(s), {text_len} characters of text")


def spammy_subject_words(subject: str) -> list[str]:
    """The trigger words of :data:`_SPAMMY_SUBJECT_WORDS` in ``subject`` (NFKC, case-folded; ASCII ones as words)."""
    s = unicodedata.normalize("NFKC", subject).lower()
    found = []
    for w in _SPAMMY_SUBJECT_WORDS:
        if w.isascii():
            if _ASCII_WORD[w].search(s):
                found.append(w)
        elif w in s:
            found.append(w)
    return found


def subject_style_finding(subject: str) -> Finding:
    """``subject-style``: not empty, not in capitals, no repeated '!', no trigger words, not overlong."""
    s = subject.strip()
    if not s:
        return _f("subject-style", WARN, "empty subject", "write a subject that says what the message is about",
                  "SpamAssassin EMPTY_SUBJECT / MISSING_SUBJECT (small scores)")
    letters = [c for c in s if c.isalpha() and c.lower() != c.upper()]
    problems, fixes = [], []
    if len(letters) >= 8 and sum(c.isupper() for c in letters) / len(letters) > 0.8:
        problems.append("written in capitals")
        fixes.append("write it in sentence case")
    norm = unicodedata.normalize("NFKC", s)
    if "!!" in norm or norm.count("!") >= 3:
        problems.append("repeated '!'")
        fixes.append("use at most one '!'")
    if problems:
        return _f("subject-style", WARN, "subject " + " and ".join(problems) + f": {s[:80]!r}", "; ".join(fixes))
    words = spammy_subject_words(s)
    if words:
        return _f("subject-style", NOTE, "spam-trigger words in the subject: " + ", ".join(words[:6]),
                  "say what the message offers in your own words instead",
                  "heuristic: trigger-word lists (mail-tester, SpamAssassin); the model's clues say what they weigh")
    if len(s) > 150:
        return _f("subject-style", NOTE, f"subject is {len(s)} characters long", "keep the subject under 80 characters",
                  "heuristic: clients cut subjects at about 60-80 characters")
    return _f("subject-style", PASS, f"subject {s[:80]!r}")


def size_finding(pm: ParsedMessage, raw: bytes) -> Finding:
    """``size``: the message under 1 MiB and its HTML under Gmail's 102 KiB clipping."""
    html_bytes = sum(len(h.encode("utf-8", "replace")) for h in pm.html)
    if len(raw) > MAX_MESSAGE_BYTES:
        return _f("size", WARN, f"message is {len(raw) // 1024} KiB",
                  f"keep campaign mail under {MAX_MESSAGE_BYTES // 1024} KiB: link to files instead of attaching them")
    if html_bytes > GMAIL_CLIP_BYTES:
        return _f("size", WARN, f"HTML is {html_bytes // 1024} KiB: Gmail clips messages over 102 KiB",
                  "trim the HTML (inline CSS, comments, repeated blocks) under 102 KiB")
    return _f("size", PASS, f"message is {len(raw) / 1024:.1f} KiB")
