"""analyze_html against a reference: the straightforward tree walks it replaced.

The fast path drops invisible elements merging each tail into the text
before it, and reads the text nodes with one XPath instead of ``itertext``
after ``strip_elements``; both must yield the same HtmlInfo on any tag soup.
"""

import random
import re

import pytest
from lxml import etree

from spamscore.features.html import HtmlInfo, _HIDDEN_STYLE, _int_attr, _parser, analyze_html


def _reference_collect(root, info: HtmlInfo, max_links: int, source: str) -> None:
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
            info.links.append((href, " ".join(el.itertext()).strip()[:300]))
    info.text.append(" ".join(root.itertext()))


def reference(parts: list[str], max_links: int = 1000) -> HtmlInfo:
    info = HtmlInfo()
    for source in parts:
        if not source or not source.strip():
            continue
        info.parts += 1
        try:
            root = etree.fromstring(source, parser=_parser())
            if root is None:
                raise ValueError("empty document")
        except (etree.ParserError, ValueError, etree.XMLSyntaxError):
            info.text.append(re.sub(r"<[^<>]{0,2000}>", " ", source))
            continue
        _reference_collect(root, info, max_links, source)
    return info


_PIECES = [
    "<script>var a='<b>x</b>';</script>", "<script src='http://s.example/a.js'></script>", "<style>p{}</style>",
    "<noscript>nos</noscript>", "<template>tpl</template>", "<title>t</title>", "<!-- c -->", "<?pi x?>",
    "<![CDATA[cd]]>", "&amp;", "&nbsp;", "&bogus;", "&#0;", "&#x1F600;", "<b>", "</b>", "<i>", "</i>", "<p>",
    "</p>", "<br>", "<div style='display:none'>", "<span style='DISPLAY : none'>", "<span hidden>", "</span>",
    "</div>", "<font style='font-size:1px'>", "</font>", "<a href='http://a.example/x'>", "<a href=''>", "<a>",
    "</a>", "<img src='http://i.example/i.gif' width=10 height='20px' alt='Alt text'>", "<img>",
    "<form action='http://f.example/post'>", "</form>", "<iframe src='http://f.example/'></iframe>",
    "<frame src='x'>", "<table><tr><td>", "</td></tr></table>", "<html>", "</html>", "<body>", "</body>",
    "<head>", "</head>", "<textarea>", "</textarea>", "<xmp>", "</xmp>", "<plaintext>", "<svg><style>s</style>",
    "</svg>", "<math>", "<select><option>o", "<", ">", "<<", "</", "\u00a0", "\u200b", "\ud800",
    " ", "\n", "\t", "word", "free money", "caf\u00e9", "\u7121\u6599", "x" * 50,
]


def _soup(rng: random.Random) -> str:
    return "".join(rng.choice(_PIECES) for _ in range(rng.randrange(1, 40)))


@pytest.mark.parametrize("seed", range(40))
def test_analyze_html_matches_the_reference_on_tag_soup(seed):
    rng = random.Random(seed)
    for _ in range(50):
        parts = [_soup(rng) for _ in range(rng.randrange(1, 3))]
        max_links = rng.choice([1, 3, 1000])
        assert analyze_html(parts, max_links=max_links) == reference(parts, max_links), parts


def test_a_tail_meeting_text_reads_as_one_word():
    # the case the tail merge exists for: "free<script/>money" reads "freemoney"
    parts = ["<p>free<script>x</script>money <a href='h'>a<style>s</style>b</a></p>"]
    info = analyze_html(parts)
    assert info == reference(parts)
    assert info.visible_text.split() == ["freemoney", "ab"]
    assert info.links == [("h", "ab")]
