"""FROZEN REFERENCE: analyze_html's tree walks as they were before the speed work (spamscore 7b4f877).

Not package code, and never to be updated to follow it.  The package's
Python walks (``spamscore.features.html.collect_py``, the reference the
compiled ``_htmlscan`` is tested against) drop invisible elements by merging
each tail into the text before it, and read the text with one XPath over the
text nodes instead of ``itertext()`` after ``etree.strip_elements``: twice as
fast, and correct only because the tree then holds no adjacent text nodes.
These walks are the plain form, lxml's own ``strip_elements`` and
``itertext``, which the package no longer contains: the one independent
statement of what the walks must find, and what
tests/test_features_html_equivalence.py holds the package to on tag soup.
Only the walks are frozen; the parser, the hidden-style pattern and the
attribute reader are the package's own (public names of spamscore.features.html).
"""

import re

from lxml import etree

from spamscore.features.html import HIDDEN_STYLE, HtmlInfo, int_attr, lxml_parser

__all__ = ["analyze_html", "collect"]


def collect(root, info: HtmlInfo, max_links: int, source: str) -> None:
    """The walks as they were before the speed work (spamscore 7b4f877)."""
    for el in root.iter("script"):
        info.scripts += 1
        src = el.get("src")
        if src:
            info.srcs.append(src)
    for el in root.iter("form"):
        info.forms += 1
        action = el.get("action")
        if action:
            info.srcs.append(action)
    for el in root.iter("iframe", "frame"):
        info.iframes += 1
        src = el.get("src")
        if src:
            info.srcs.append(src)
    etree.strip_elements(root, "script", "style", "noscript", "template", "title", with_tail=False)
    low = source.lower()
    styled = root.xpath("//*[@style or @hidden]") if ("style" in low or "hidden" in low) else ()
    for el in styled:
        style = el.get("style")
        if el.get("hidden") is not None or (style and HIDDEN_STYLE.search(style)):
            info.hidden_chars += sum(len(t) for t in el.itertext())
            tail = el.tail
            el.clear()
            el.tail = tail
    for el in root.iter("img"):
        info.images += 1
        w, h = int_attr(el.get("width")), int_attr(el.get("height"))
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
            info.links.append((href, " ".join(el.itertext()).strip()[:300]))
    info.text.append(" ".join(root.itertext()))


def analyze_html(parts: list[str], max_links: int = 1000) -> HtmlInfo:
    info = HtmlInfo()
    for source in parts:
        if not source or not source.strip():
            continue
        info.parts += 1
        try:
            root = etree.fromstring(source, parser=lxml_parser())
            if root is None:
                raise ValueError("empty document")
        except (etree.ParserError, ValueError, etree.XMLSyntaxError):
            info.text.append(re.sub(r"<[^<>]{0,2000}>", " ", source))
            continue
        collect(root, info, max_links, source)
    return info
