"""ParsedMessage -> list of prefixed string features.

Each family lives in its own module and returns strings; :func:`extract`
runs them all.  The HTML is parsed once (:func:`html.analyze_html`) and
shared by the token, URL and HTML families.  Bump ``FEATURE_VERSION``
whenever a change alters the features a message yields: a model records the
version it was trained with, and loading refuses a mismatch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..message import ParsedMessage
from .auth import auth_features
from .bulk import bulk_features
from .html import HtmlInfo, analyze_html, bucket, html_features
from . import tokens as _tokens
from .profiles import PROFILES, UNSENT_PREFIXES, check_profile, without_prefixes
from .tokens import DEFAULT_IGNORED_HEADERS, body_tokens, header_tokens, subject_tokens
from .urls import find_urls, url_features

__all__ = ["FEATURE_VERSION", "FeatureOptions", "Analysis", "analyze", "extract"]

FEATURE_VERSION = "8"


@dataclass(frozen=True)
class FeatureOptions:
    """Options of feature extraction.

    ``trusted_authserv_ids``: Authentication-Results from these authserv-ids
    are believed (see :mod:`.auth`).  ``ignored_headers``: header-name prefixes
    left out (filters' verdicts).  ``max_urls`` and ``max_text_chars`` bound
    the work done on one message.
    """

    trusted_authserv_ids: frozenset[str] = field(default_factory=frozenset)
    ignored_headers: tuple[str, ...] = DEFAULT_IGNORED_HEADERS
    max_urls: int = 500
    # Body text tokenized per message (plain and HTML visible text each).
    # Hypothesis: the tail of a long message (digests, quoted threads, legal
    # boilerplate) dilutes the evidence, and costs time.  CV (3 seeds),
    # (1-AUC)% / FNR@0.1% / FNR@1%: 200,000 chars 0.0418 / 5.86 / 0.39;
    # 20,000 0.0392 / 5.93 / 0.42 (kept); 10,000 0.0398 / 6.91 / 0.42;
    # 5,000 0.0423 / 6.74 / 0.56.  The 100 longest of the test half's 3,012
    # messages (> 18,875 chars) took 22% of the extraction time.
    max_text_chars: int = 20_000
    max_html_bytes: int = 512 * 1024
    # Which feature families the model learns from (see .profiles): "full"
    # or "portable".  Stored in the model file.
    profile: str = "full"
    # Campaign mode: the message has not been sent; features that only exist
    # after delivery are left out (.profiles.UNSENT_PREFIXES).
    unsent: bool = False

    def __post_init__(self):
        check_profile(self.profile)

    @property
    def drops(self) -> tuple[str, ...]:
        """Prefixes of the header and authentication features left out (profile, campaign mode)."""
        drops = PROFILES[self.profile]
        return drops + UNSENT_PREFIXES if self.unsent else drops


DEFAULT_OPTIONS = FeatureOptions()


@dataclass(slots=True)
class Analysis:
    """Intermediate results shared by feature families (and reports).

    ``plain_seq`` and ``html_seq``: ``lower().split()`` of the plain text and
    of the HTML visible text (cut at ``seq_chars``), when ASCII and the body
    words are Python (without spamscore._bodyscan); computed once here for
    both :func:`find_urls` and the body word tokens.  None otherwise.
    """

    message: ParsedMessage
    html: HtmlInfo
    plain_text: str
    urls: list[str]
    visible_text: str | None = None
    plain_seq: list[str] | None = None
    html_seq: list[str] | None = None
    seq_chars: int = -1


def analyze(pm: ParsedMessage, options: FeatureOptions = DEFAULT_OPTIONS) -> Analysis:
    info = analyze_html(pm.html, max_bytes=options.max_html_bytes, max_links=options.max_urls)
    max_chars = options.max_text_chars
    plain = "\n".join(pm.text)[:max_chars]
    # The split is shared with the body words only when they are Python:
    # spamscore._bodyscan splits an ASCII text itself, and find_urls then
    # scans the text in C without a list of words (_urlscan.find_urls_text).
    share = not _tokens.compiled_body_words()
    plain_seq = html_seq = None
    if share and plain.isascii():
        low = plain.lower()
        plain_seq = low.split()
        urls = find_urls(plain, options.max_urls, low, plain_seq)
    else:
        urls = find_urls(plain, options.max_urls)
    visible = None
    if info.parts:
        visible = info.visible_text
        urls.extend([href for href, _ in info.links])
        urls.extend(info.srcs)
        vis = visible[:max_chars]
        vis_low = None
        if share and vis.isascii():
            vis_low = vis.lower()
            html_seq = vis_low.split()
        if len(urls) < options.max_urls:
            urls.extend(find_urls(vis, options.max_urls - len(urls), vis_low, html_seq))
    return Analysis(pm, info, plain, urls[: options.max_urls], visible, plain_seq, html_seq, max_chars)


def extract(pm: ParsedMessage, options: FeatureOptions = DEFAULT_OPTIONS, analysis: Analysis | None = None,
            into: list[bytes] | None = None) -> list[str]:
    """All features of a parsed message (duplicates removed, order unspecified).

    ``into`` (the scoring path, :meth:`spamscore.scoring.Model.score`): body
    words may be left out of the list and put there instead, as bytes of
    their int64 ``hash()`` values (see :func:`.tokens.words`); the list and
    those hashes together are then the features, a word possibly in both.
    """
    a = analysis if analysis is not None else analyze(pm, options)
    texts = [a.plain_text]
    seqs = None
    if a.seq_chars == options.max_text_chars and len(a.plain_text) <= options.max_text_chars:
        seqs = [a.plain_seq, a.html_seq]
    if a.html.parts:
        texts.append(a.html.visible_text if a.visible_text is None else a.visible_text)
    feats = body_tokens(texts, options.max_text_chars, seqs, into)  # a new set: extended in place
    feats.update(subject_tokens(pm.subject))
    drops = options.drops
    hdr = header_tokens(pm.headers, options.ignored_headers)
    auth = auth_features(pm.headers, options.trusted_authserv_ids)
    if drops:  # only header and authentication features are ever dropped: body words never are
        hdr = without_prefixes(hdr, drops)
        auth = without_prefixes(auth, drops)
    feats.update(hdr)
    feats.update(url_features(a.urls, a.html.links, options.max_urls))
    feats.update(html_features(a.html, len(a.plain_text.strip())))
    feats.update(auth)
    feats.update(bulk_features(pm.headers))
    for ctype, charset in pm.parts[:50]:
        feats.add("part:" + ctype[:60])
        if charset:
            feats.add("charset:" + charset[:40])
    for att in pm.attachments[:50]:
        feats.add("attach:" + att.content_type[:60])
        if "." in att.name:
            feats.add("attach:ext:" + att.name.rsplit(".", 1)[1].lower()[:10])
        feats.add("attach:size:" + bucket(att.size))
    for d in pm.defects[:50]:
        feats.add("defect:" + d)
    if pm.truncated:
        feats.add("msg:truncated")
    feats.add("msg:size:" + bucket(pm.size))
    return list(feats)
