"""Feature profiles: which feature families a model learns from, and campaign (unsent) mode.

A model trained on one mailbox learns two kinds of evidence.  Words, URLs,
HTML shape, authentication results and message structure mean the same on
anyone's mail.  Header *identities* (the relays of the Received chain, the
time zone of the Date header, Message-ID hosts, MIME boundary shapes, mailer
versions, the recipient's own address) mostly describe the training
mailbox's delivery path and its era: on the SpamAssassin corpus the
strongest of them were ``received:phobos.labs.spamassassin.taint.org`` and
``date:tz:+0900``, which mean nothing on anyone else's mail (issue 18).

* ``full`` keeps every family: for an operator's own mail, where the
  delivery path is real evidence.
* ``portable`` leaves out the families in :data:`PORTABLE_DROPS`: for a
  model meant for other people's mail (the shipped default).  Each family's
  membership was chosen by the cross-corpus protocol
  (``training/cross_corpus.py``: train on the SA train half, judge on the
  SA test half and on CSDMC 2009-2010 mail); the figures are in
  ``training/PROFILES.md`` and the model card.

The profile is stored in the model file, so ``score`` extracts what the
model was trained on.  Dropping happens after extraction (a filter on
prefixes), so the families themselves stay defined in one place each.

Campaign mode: a message that has not been sent yet has no delivery
headers.  ``FeatureOptions(unsent=True)`` leaves out the features that only
exist after delivery (the Received chain, trace headers, a receiver's
Authentication-Results), so that their absence is no evidence either way
(the model only counts features that are present).
"""

from __future__ import annotations

from .. import _native

__all__ = ["FAMILIES", "PROFILES", "PORTABLE_DROPS", "UNSENT_PREFIXES", "check_profile", "without_prefixes"]

_hdrscan = _native.load("_hdrscan")  # its without_prefixes; None: the comprehension below

# Feature families by prefix.  Used by training/cross_corpus.py --families
# (one run per family left out) and by the profiles below.
FAMILIES: dict[str, tuple[str, ...]] = {
    "received-hosts": ("received:",),            # Received hosts and IPs (received:ip: too)
    "received-count": ("hdr:received-count:",),
    "date": ("date:",),                           # time zone and shape of the Date header
    "message-id": ("message-id:",),
    "boundary": ("boundary:",),
    "mailer": ("x-mailer:", "user-agent:", "x-mimeole:"),
    "recipient": ("to:", "cc:"),                  # the training mailbox's own addresses
    "list-identity": ("list-id:", "sender:", "errors-to:", "return-path:"),
    "organization": ("organization:",),
    "originating-ip": ("x-originating-ip:",),
    "sender-identity": ("from:", "reply-to:"),
    "header-names": ("hdr:",),
    "url-hosts": ("url:",),
    "priority": ("x-priority:", "x-msmail-priority:", "precedence:"),
}

# The portable profile's drops.  Measured with training/cross_corpus.py (train
# on the SA train half; (1-AUC)% and FNR at 0.1% FPR on the SA test half /
# (1-AUC)% on CSDMC; Bogofilter trained the same way: 0.052 / 11.3% / 0.113;
# with TokenNB(text_min_dev=0.2, cjk_s=10)):
#   full profile                                  0.0212 / 1.26% / 0.1045
#   - Received hosts and IPs                      0.0283 / 2.52% / 0.0647
#   - and Date time zone, Content-Type and
#     Content-Transfer-Encoding words (charset
#     names, base64: what Japanese mail looks
#     like, not what it says), Organization,
#     X-Originating-IP                            0.0299 / 2.84% / 0.0420
#   - and the mailing lists' identities (List-Id,
#     Sender, Errors-To, Return-Path)             0.0307 / 1.89% / 0.0233
#   - and the sender's user name (from:user:, the
#     part before the @: news@ and info@ were
#     2002 spam, they are every newsletter today) 0.0322 / 1.89% / 0.0234   <- portable
#     (and of the 37 legitimate and Japanese fixtures scored unsent, 27 ham
#     instead of 24, the three campaign fixtures of issue 18 among them)
# Measured and kept (dropping them cost SA and gained nothing on CSDMC):
# MIME boundary shape (+boundary 0.0318 / 3.36% / 0.0225 with the Date shape),
# Message-ID host (0.0339 / 3.58%), recipient To/Cc (0.0397 / 3.79% / 0.0134),
# mailer names (x-mailer: etc., 0.0312 / 4.94% / 0.0200), header names (hdr:,
# CSDMC 0.0647 -> 0.1758 without them: header presence and shape travel), the
# number of relays (no change).  training/PROFILES.md has the table.
PORTABLE_DROPS: tuple[str, ...] = (
    "received:", "date:tz:", "content-type:", "content-transfer-encoding:", "organization:", "x-originating-ip:",
    "list-id:", "sender:", "errors-to:", "return-path:", "from:user:",
)

PROFILES: dict[str, tuple[str, ...]] = {"full": (), "portable": PORTABLE_DROPS}

# Features that only exist once a message has been delivered: what a receiving
# MTA, the mail store or a receiver's filter add.  A campaign checked before
# sending has none of them, and their absence must not read as evidence.
UNSENT_PREFIXES: tuple[str, ...] = (
    "received:", "hdr:received", "hdr:return-path", "return-path:", "hdr:delivered-to", "hdr:x-original-to",
    "hdr:envelope-to", "hdr:x-envelope-", "hdr:authentication-results", "hdr:arc-", "hdr:received-spf",
    "auth:", "spf-hdr:", "hdr:x-originalarrivaltime", "hdr:x-apparently-to", "hdr:x-delivery-agent",
    "hdr:x-ms-exchange-", "hdr:x-gm-", "hdr:x-google-", "hdr:x-received",
)


def check_profile(profile: str) -> str:
    if profile not in PROFILES:
        from ..errors import InputError

        raise InputError(f"expected a feature profile among {', '.join(sorted(PROFILES))}, got {profile!r}")
    return profile


def without_prefixes(tokens: list[str], prefixes: tuple[str, ...]) -> list[str]:
    """The tokens that start with none of ``prefixes``, in order (what a profile or campaign mode drops).

    In C when it is built (``hdrscan.without_prefixes``: a first-character test before each prefix
    comparison); this comprehension is its reference, and what runs for anything but a list of str."""
    if _hdrscan is not None:
        out = _hdrscan.without_prefixes(tokens, prefixes)
        if out is not None:
            return out
    return [t for t in tokens if not t.startswith(prefixes)]
