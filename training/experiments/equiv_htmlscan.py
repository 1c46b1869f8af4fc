"""spamscore._htmlscan (compiled walks of ``analyze_html``) against the Python reference.

Usage: python training/experiments/equiv_htmlscan.py [--no-hostile] [--bench]

For every HTML part list of

* the 6,046 corpus messages (``/tmp/sa_corpus``, all splits),
* the test fixtures (``tests/fixtures/**/*.eml``),
* the hostile generator's cases (``tests/hostile.py``; those above 5 MB skipped),

compares ``analyze_html`` as the pipeline calls it (max_bytes=512 KiB,
max_links=500) and with small bounds (max_bytes=2000, max_links=7) three ways:

* new: ``spamscore.features.html.analyze_html`` with ``_htmlscan`` (C),
* py:  the same with ``html._htmlscan = None`` (the Python walks it keeps),
* ref: ``REF_analyze_html`` below, a verbatim copy of ``analyze_html``,
  ``_collect`` and ``_drop`` as they were before the compiled walks
  (spamscore/features/html.py at HEAD when this was written),

field for field (HtmlInfo equality), and prints how many differ (must be 0),
and how often the C walk declined a tree (then the Python walks run).

``--bench``: A/B of analyze_html (C vs Python walks) and of
``load_model().score(raw)`` on the corpus test half, CPU time, alternating
passes, medians.
"""
from __future__ import annotations

import argparse
import glob
import os
import re
import statistics
import sys
import time

from lxml import etree

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, REPO)
INDEX = "/work/shared/corpora/spamassassin-public.tsv"
ROOT = "/tmp/sa_corpus"

from spamscore.features import html as H  # noqa: E402
from spamscore.features.html import HtmlInfo, _parser  # noqa: E402
from spamscore.message import parse  # noqa: E402

# ---- the reference: verbatim copy (names prefixed REF_) ---------------------

REF_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*[01](?:px|pt)?\s*(?:;|$)", re.I)
REF_NUM = re.compile(r"\s*(\d{1,6})")


def REF_int_attr(value: str | None) -> int:
    if not value:
        return 0
    m = REF_NUM.match(value)
    return int(m.group(1)) if m else 0


def REF_analyze_html(parts: list[str], max_bytes: int = 512 * 1024, max_links: int = 1000) -> HtmlInfo:
    """Parse HTML parts into an :class:`HtmlInfo`; never raises.

    Tree walks use lxml's C iterators (``iter(tag)``, ``itertext``) rather
    than a Python loop over every element: four times faster on the corpus.
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
            REF_collect(root, info, max_links, source)
        except (ValueError, etree.LxmlError):  # pragma: no cover - defensive
            info.text.append(re.sub(r"<[^<>]{0,2000}>", " ", source))
    return info


# Compiled once: root.xpath(str) compiles the expression and sets up an
# evaluator on every call.
REF_STYLED = etree.XPath("//*[@style or @hidden]")


def REF_collect(root, info: HtmlInfo, max_links: int, source: str) -> None:
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
    REF_drop(root)
    # The XPath below took a sixth of the HTML time; it can only find
    # something where the source names a style or hidden attribute (attribute
    # names cannot be hidden in entities).  57% of the corpus' HTML parts do
    # not.  (Most of the others say it in lower case: no lower() copy then.)
    if "style" in source or "hidden" in source:
        styled = REF_STYLED(root)
    else:
        low = source.lower()
        styled = REF_STYLED(root) if ("style" in low or "hidden" in low) else ()
    for el in styled:
        style = el.get("style")
        if el.get("hidden") is not None or (style and REF_HIDDEN_STYLE.search(style)):
            info.hidden_chars += sum(len(t) for t in el.itertext())
            tail = el.tail
            el.clear()
            el.tail = tail
    for el in root.iter("img"):
        info.images += 1
        w, h = REF_int_attr(el.get("width")), REF_int_attr(el.get("height"))
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
                text = " ".join(REF_TEXT_NODES(el)).strip()[:300]
            else:  # text only: itertext would yield just el.text
                text = el.text
                text = text.strip()[:300] if text else ""
            info.links.append((href, text))
    info.text.append(" ".join(REF_TEXT_NODES(root)))


def REF_drop(root) -> None:
    """Remove the elements whose text the reader does not see, keeping their tails.

    What ``etree.strip_elements(root, *REF_DROPPED, with_tail=False)`` did,
    except that each tail is merged into the text before it (as
    lxml.html's ``drop_tree`` does) instead of being left as a separate text
    node beside it: the tree then holds no adjacent text nodes, so that its
    text nodes (``REF_TEXT_NODES``, an XPath: half the time of ``itertext``)
    are exactly the chunks ``itertext`` yields (which merges adjacent ones).
    """
    for el in list(root.iter(*REF_DROPPED)):
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


REF_DROPPED = ("script", "style", "noscript", "template", "title")
# The text nodes under an element in document order: its text, then each
# child's text, descendants and tail; not its own tail (as itertext()).
REF_TEXT_NODES = etree.XPath("descendant::text()", smart_strings=False)


# ---- the comparison ---------------------------------------------------------


def sources(hostile: bool = True):
    """(name, raw bytes) of every message compared."""
    rows = [line.rstrip("\n").split("\t") for line in open(INDEX)][1:]
    for p, _label, _split, _ in rows:
        with open(os.path.join(ROOT, p), "rb") as f:
            yield "corpus:" + p, f.read()
    for path in sorted(glob.glob(os.path.join(REPO, "tests", "fixtures", "**", "*.eml"), recursive=True)):
        with open(path, "rb") as f:
            yield "fixture:" + os.path.relpath(path, REPO), f.read()
    if hostile:
        sys.path.insert(0, os.path.join(REPO, "tests"))
        from hostile import hostile_cases
        for name, raw in hostile_cases(huge=True):
            if len(raw) > 5 * 1024 * 1024:
                print("skipped (above 5 MB): hostile:" + name)
                continue
            yield "hostile:" + name, raw


class _Counting:
    """Wraps the C module to count the trees it declines."""

    def __init__(self, mod):
        self.mod, self.calls, self.declined = mod, 0, 0

    def collect(self, *args):
        res = self.mod.collect(*args)
        self.calls += 1
        self.declined += res is None
        return res


def compare(hostile: bool) -> int:
    mod = H._htmlscan
    if mod is None:
        sys.exit("spamscore._htmlscan is not built (or failed its self-test): nothing to compare")
    counting = _Counting(mod)
    n = n_html = differ = 0
    for name, raw in sources(hostile):
        parts = parse(raw).html
        n += 1
        if parts:
            n_html += 1
        for max_bytes, max_links in ((512 * 1024, 500), (2000, 7)):
            H._htmlscan = counting
            new = H.analyze_html(parts, max_bytes=max_bytes, max_links=max_links)
            H._htmlscan = None
            py = H.analyze_html(parts, max_bytes=max_bytes, max_links=max_links)
            H._htmlscan = mod
            ref = REF_analyze_html(parts, max_bytes=max_bytes, max_links=max_links)
            if not (new == ref and py == ref):
                differ += 1
                fields = [f for f in HtmlInfo.__slots__ if getattr(new, f) != getattr(ref, f)
                          or getattr(py, f) != getattr(ref, f)]
                print(f"DIFFERS: {name} (max_bytes={max_bytes}, max_links={max_links}): {fields}")
    print(f"messages: {n} ({n_html} with HTML parts), comparisons: {2 * n}; "
          f"C walk calls: {counting.calls}, declined (Python walks ran): {counting.declined}")
    print(f"differ: {differ}")
    return differ


def bench(passes: int = 7) -> None:
    import spamscore
    rows = [line.rstrip("\n").split("\t") for line in open(INDEX)][1:]
    raws = []
    for p, _label, split, _ in rows:
        if split == "test":
            with open(os.path.join(ROOT, p), "rb") as f:
                raws.append(f.read())
    parts = [parse(r).html for r in raws]
    model = spamscore.load_model()
    mod = H._htmlscan

    def t_html():
        t = time.process_time()
        for p in parts:
            H.analyze_html(p, max_bytes=512 * 1024, max_links=500)
        return (time.process_time() - t) / len(parts) * 1e6

    def t_score():
        t = time.process_time()
        for r in raws:
            model.score(r)
        return (time.process_time() - t) / len(raws) * 1e6

    for label, fn in (("analyze_html", t_html), ("score", t_score)):
        res = {"C": [], "Python": []}
        fn()  # warm up
        for _ in range(passes):
            H._htmlscan = mod
            res["C"].append(fn())
            H._htmlscan = None
            res["Python"].append(fn())
        H._htmlscan = mod
        c, py = statistics.median(res["C"]), statistics.median(res["Python"])
        print(f"{label}: {py:.1f} -> {c:.1f} CPU-us per message (test half, {len(raws)} messages, "
              f"median of {passes}; saves {py - c:.1f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--no-hostile", action="store_true")
    ap.add_argument("--bench", action="store_true")
    args = ap.parse_args()
    differ = compare(not args.no_hostile)
    if args.bench:
        bench()
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
