"""analyze_html against a frozen reference: the straightforward tree walks it replaced.

The fast path drops invisible elements merging each tail into the text
before it, and reads the text nodes with one XPath instead of ``itertext``
after ``strip_elements``; both must yield the same HtmlInfo on any tag soup.
The reference lives in tests/reference/html_walks.py (why it is kept: there).
"""

import random

import pytest

from reference.html_walks import analyze_html as reference
from spamscore.features.html import analyze_html


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
