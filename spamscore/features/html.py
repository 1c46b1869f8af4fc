"""HTML bodies: visible text, links, images, and the signals spam hides in them.

One parse per HTML part (lxml's recovering parser, which never raises and caps
nesting itself) yields an :class:`HtmlInfo` that the token, URL and HTML
feature families share.  Continuous quantities become log2 buckets
(``html:text-len:2**10``), as in SpamBayes, so one model sees them all.

Hypotheses (SpamAssassin's HTML_IMAGE_RATIO_* and HTML_SHORT_LINK_IMG rules):
image-heavy mail with little visible text is mostly spam; text hidden with
``display:none``, zero font size or a tiny font is a Bayes-poisoning trick;
forms and scripts are rare in ham.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from lxml import etree

from .. import _native

_htmlscan = _native.load("_htmlscan")  # None (not built, or SPAMSCORE_PURE=1): the Python walks below

__all__ = ["HtmlInfo", "analyze_html", "html_features", "bucket"]

_PARSER = None
_SKIP_TEXT_TAGS = frozenset({"script", "style", "head", "title", "noscript", "template"})
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*[01](?:px|pt)?\s*(?:;|$)", re.I)
_NUM = re.compile(r"\s*(\d{1,6})")


def bucket(n: float) -> str:
    """log2 bucket of a non-negative quantity: 0, 1, 2**1, 2**2, ..."""
    if n <= 0:
        return "0"
    return f"2**{int(math.log2(n))}"


@dataclass(slots=True)
class HtmlInfo:
    """What one or more HTML parts show and link to."""

    text: list[str] = field(default_factory=list)          # visible text chunks
    links: list[tuple[str, str]] = field(default_factory=list)  # (href, link text)
    srcs: list[str] = field(default_factory=list)           # img/iframe/script src
    images: int = 0
    image_area: int = 0             # sum of width*height where both are given
    hidden_chars: int = 0
    forms: int = 0
    scripts: int = 0
    iframes: int = 0
    parts: int = 0

    @property
    def visible_text(self) -> str:
        return " ".join(self.text)


def _parser():
    global _PARSER
    if _PARSER is None:
        # lxml.etree's parser, not lxml.html's: the latter looks up a Python
        # element class for every element touched (a Python call each, ~25%
        # of the HTML time on the corpus); nothing here needs HtmlElement.
        _PARSER = etree.HTMLParser(recover=True, no_network=True, remove_comments=True,
                                   remove_pis=True, default_doctype=False)
    return _PARSER


def _int_attr(value: str | None) -> int:
    if not value:
        return 0
    m = _NUM.match(value)
    return int(m.group(1)) if m else 0


def analyze_html(parts: list[str], max_bytes: int = 512 * 1024, max_links: int = 1000) -> HtmlInfo:
    """Parse HTML parts into an :class:`HtmlInfo`; never raises.

    Tree walks use lxml's C iterators (``iter(tag)``, ``itertext``) rather
    than a Python loop over every element: four times faster on the corpus.
    When built, ``_htmlscan`` does all of ``_collect`` in one read-only walk
    over libxml2's nodes (same results: tests/test_htmlscan.py, on the
    inputs of tests/equivalence.py too); ``_collect`` is the reference
    and runs for the rare trees the compiled walk declines (returns None).
    """
    info = HtmlInfo()
    for source in parts:
        if not source or source.isspace():
            continue
        info.parts += 1
        source = source[:max_bytes]
        try:
            root = etree.fromstring(source, parser=_parser())
            if root is None:
                raise ValueError("empty document")
        except (etree.ParserError, ValueError, etree.XMLSyntaxError):
            # empty document after recovery, or an encoding declaration lxml
            # refuses in a str: strip tags the crude way.
            info.text.append(re.sub(r"<[^<>]{0,2000}>", " ", source))
            continue
        try:
            if _htmlscan is not None:
                res = _htmlscan.collect(root, etree._Element, source, _styled_gate, _HIDDEN_STYLE.search,
                                        len(info.srcs), len(info.links), max_links)
                if res is not None:
                    _apply(info, res)
                    continue
                # None: a tree it does not model (or one on which _collect
                # raises); the tree is untouched, so the reference decides
            _collect(root, info, max_links, source)
        except (ValueError, etree.LxmlError):  # pragma: no cover - defensive
            info.text.append(re.sub(r"<[^<>]{0,2000}>", " ", source))
    return info


def _styled_gate(source: str) -> bool:
    """Whether the source can name a style or hidden attribute: _collect's test
    for running the styled XPath (_htmlscan asks it only once it meets one)."""
    if "style" in source or "hidden" in source:
        return True
    low = source.lower()
    return "style" in low or "hidden" in low


def _apply(info: HtmlInfo, res: tuple) -> None:
    """Add what ``_htmlscan.collect`` found (what ``_collect`` would add) to info."""
    scripts, forms, iframes, srcs, hidden_chars, images, image_area, texts, links = res
    info.scripts += scripts
    info.forms += forms
    info.iframes += iframes
    info.srcs.extend(srcs)
    info.hidden_chars += hidden_chars
    info.images += images
    info.image_area += image_area
    info.text.extend(texts)
    info.links.extend(links)


# Compiled once: root.xpath(str) compiles the expression and sets up an
# evaluator on every call.
_STYLED = etree.XPath("//*[@style or @hidden]")


def _collect(root, info: HtmlInfo, max_links: int, source: str) -> None:
    # script, form and iframe/frame in one walk; their srcs are kept in that
    # order (scripts, forms, frames), each in document order.
    forms: list[str] = []
    frames: list[str] = []
    for el in root.iter("script", "form", "iframe", "frame"):
        tag = el.tag
        if tag == "script":
            info.scripts += 1
            src = el.get("src")
            if src:
                info.srcs.append(src)
        elif tag == "form":
            info.forms += 1
            action = el.get("action")
            if action:
                forms.append(action)
        else:
            info.iframes += 1
            src = el.get("src")
            if src:
                frames.append(src)
    info.srcs.extend(forms)
    info.srcs.extend(frames)
    # what the reader does not see
    _drop(root)
    # The XPath below took a sixth of the HTML time; it can only find
    # something where the source names a style or hidden attribute (attribute
    # names cannot be hidden in entities).  57% of the corpus' HTML parts do
    # not.  (Most of the others say it in lower case: no lower() copy then.)
    styled = _STYLED(root) if _styled_gate(source) else ()
    for el in styled:
        style = el.get("style")
        if el.get("hidden") is not None or (style and _HIDDEN_STYLE.search(style)):
            info.hidden_chars += sum(len(t) for t in el.itertext())
            tail = el.tail
            el.clear()
            el.tail = tail
    for el in root.iter("img"):
        info.images += 1
        w, h = _int_attr(el.get("width")), _int_attr(el.get("height"))
        if w and h:
            info.image_area += min(w * h, 10_000_000)
        src = el.get("src")
        if src and len(info.srcs) < max_links:
            info.srcs.append(src)
        alt = el.get("alt")
        if alt:
            info.text.append(alt)
    for el in root.iter("a"):
        href = el.get("href")
        if href is not None and len(info.links) < max_links:
            if len(el):  # (no adjacent text nodes: the same chunks as itertext)
                text = " ".join(_TEXT_NODES(el)).strip()[:300]
            else:  # text only: itertext would yield just el.text
                text = el.text
                text = text.strip()[:300] if text else ""
            info.links.append((href, text))
    info.text.append(" ".join(_TEXT_NODES(root)))


def _drop(root) -> None:
    """Remove the elements whose text the reader does not see, keeping their tails.

    What ``etree.strip_elements(root, *_DROPPED, with_tail=False)`` did,
    except that each tail is merged into the text before it (as
    lxml.html's ``drop_tree`` does) instead of being left as a separate text
    node beside it: the tree then holds no adjacent text nodes, so that its
    text nodes (``_TEXT_NODES``, an XPath: half the time of ``itertext``)
    are exactly the chunks ``itertext`` yields (which merges adjacent ones).
    """
    for el in list(root.iter(*_DROPPED)):
        parent = el.getparent()
        if parent is None:  # the root itself is never removed
            continue
        tail = el.tail
        if tail is not None:
            prev = el.getprevious()
            if prev is None:
                parent.text = (parent.text or "") + tail
            else:
                prev.tail = (prev.tail or "") + tail
        parent.remove(el)  # the element's tail goes with it


_DROPPED = ("script", "style", "noscript", "template", "title")
# The text nodes under an element in document order: its text, then each
# child's text, descendants and tail; not its own tail (as itertext()).
_TEXT_NODES = etree.XPath("descendant::text()", smart_strings=False)

# The Python reference of _htmlscan.collect and the parts a reference of the walks needs (tests/).
collect_py = _collect
int_attr = _int_attr
HIDDEN_STYLE = _HIDDEN_STYLE
lxml_parser = _parser


def html_features(info: HtmlInfo, plain_text_chars: int) -> list[str]:
    """HTML signal features (prefixed, bucketed)."""
    if not info.parts:
        return []
    out = ["html:yes"]
    text_len = sum(len(t.strip()) for t in info.text)
    out.append("html:text-len:" + bucket(text_len))
    if info.images:
        out.append("html:images:" + bucket(info.images))
        if info.image_area:
            out.append("html:image-area:" + bucket(info.image_area))
        # SpamAssassin's HTML_IMAGE_RATIO: visible characters per image
        ratio = text_len / info.images
        out.append("html:chars-per-image:" + bucket(ratio))
        if text_len < 200 and plain_text_chars < 200:
            out.append("html:image-only")
    if info.hidden_chars:
        out.append("html:hidden-text:" + bucket(info.hidden_chars))
    if info.forms:
        out.append("html:form")
    if info.scripts:
        out.append("html:script")
    if info.iframes:
        out.append("html:iframe")
    if not plain_text_chars:
        out.append("html:no-text-alternative")
    return out


_SELF_TEST = (
    "<html><head><title>t</title><style>p{}</style></head><body style='color:red'>a<b>b</b>"
    "<script src='s.js'>x</script>c<div hidden>h<span style='display:none'>i</span>j</div>k"
    "<a href='u'>l <i>m</i><noscript>n</noscript>o</a><img src='i' width=' 10px' height=20 alt='p'>"
    "<form action='f'></form><iframe src='fr'></iframe></body></html><p style='visibility:hidden'>q</p>"
)


def _htmlscan_agrees() -> bool:
    """Whether _htmlscan reads this lxml's trees as _collect does.

    It reads libxml2's nodes through the headers of the lxml it was built
    against (setup.py records that lxml's and its libxml2's versions): used
    only with that same lxml, and after a check, once at import, on a
    sample that exercises every field of HtmlInfo.
    """
    # built against this very lxml's headers (setup.py): another lxml (an upgrade
    # since the build) may lay its structs out otherwise, so the Python walk it is
    built = getattr(_htmlscan, "LXML_BUILD_VERSION", None), getattr(_htmlscan, "LIBXML_BUILD_VERSION", None)
    if built != (".".join(map(str, etree.LXML_VERSION)), ".".join(map(str, etree.LIBXML_COMPILED_VERSION))):
        return False
    try:
        new, ref = HtmlInfo(), HtmlInfo()
        root = etree.fromstring(_SELF_TEST, parser=_parser())
        res = _htmlscan.collect(root, etree._Element, _SELF_TEST, _styled_gate, _HIDDEN_STYLE.search, 0, 0, 1000)
        if res is None:
            return False
        _apply(new, res)
        _collect(etree.fromstring(_SELF_TEST, parser=_parser()), ref, 1000, _SELF_TEST)
        return bool(new == ref and new.hidden_chars > 0 and new.links and new.image_area > 0)
    except Exception:  # pragma: no cover - an incompatible lxml
        return False


if _htmlscan is not None and not _htmlscan_agrees():  # pragma: no cover
    _native.disable("_htmlscan", f"built against lxml {getattr(_htmlscan, 'LXML_BUILD_VERSION', '?')}, "
                                 f"running with lxml {'.'.join(map(str, etree.LXML_VERSION))}, or it does not "
                                 "read its trees as the Python walk does")
    _htmlscan = None
