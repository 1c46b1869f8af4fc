"""The HTML report of `spamscore check`: self-contained, hostile mail cannot run in it.

The page is checked twice: statically (what the HTML contains), and after
rendering in headless Chromium (``--dump-dom``: what the DOM holds once the
page has loaded; ``--screenshot``: an artifact under tests/artifacts/).
Chromium tests skip on a machine without it, and fail under CI=true.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import html as lxml_html

from spamscore.check import FINDING_IDS, check_message
from spamscore.check.html import gauge_svg, render_html
from test_check import NOW, fixture, train_model  # tests/ is on sys.path (rootdir-relative import)

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return train_model(tmp_path_factory.mktemp("model") / "html.spamscore")


def page_for(model, *names: str) -> str:
    reps = [check_message(fixture(n), model, path=n, now=NOW) for n in names]
    return render_html(reps)


# ----------------------------------------------------------------------------
# static checks

ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "main", "h1", "h2", "h3", "section", "div", "span",
                "table", "tr", "th", "td", "code", "pre", "mark", "p", "a", "svg", "path", "line", "circle", "text",
                "tbody"}


def test_hostile_message_yields_only_our_markup(model):
    page = page_for(model, "hostile-html.eml")
    low = page.lower()
    for bad in ("<script", "<iframe", "<img", "<form", "<base", "<link", "evil.example", "url(",
                "http-equiv=\"refresh\""):
        assert bad not in low, bad
    doc = lxml_html.document_fromstring(page)
    tags = {el.tag.split("}")[-1] for el in doc.iter() if isinstance(el.tag, str)}
    assert tags <= ALLOWED_TAGS, tags - ALLOWED_TAGS
    for el in doc.iter():
        if isinstance(el.tag, str):
            assert not [a for a in el.attrib if a.lower().startswith("on")], (el.tag, el.attrib)
            assert not [v for v in el.attrib.values() if "javascript:" in v.lower()], (el.tag, el.attrib)
            href = el.get("href")
            assert href is None or href.startswith("#")
    # the hostile text is still shown, as text
    assert '<script>document.title="PWNED-SUBJECT"</script>' in doc.findtext(".//title")
    assert "document.title='PWNED-ESCAPED'" in doc.text_content()
    assert "'www.paypal.com' is a javascript: link" in doc.text_content()  # reported, as text


def test_csp_forbids_scripts_and_fetches(model):
    doc = lxml_html.document_fromstring(page_for(model, "clean-newsletter.eml"))
    csp = doc.xpath("//meta[@http-equiv='Content-Security-Policy']/@content")[0]
    assert "default-src 'none'" in csp and "script-src" not in csp  # falls back to 'none'
    assert "unsafe-inline" not in csp and "style-src 'sha256-" in csp
    # the hash is that of the page's own <style>, so its styles do apply under the policy
    import base64
    import hashlib

    style = doc.xpath("//style")[0].text
    digest = base64.b64encode(hashlib.sha256(style.encode("utf-8")).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in csp


def test_highlights_spammy_and_hammy_words(model):
    doc = lxml_html.document_fromstring(page_for(model, "every-problem.eml", "clean-newsletter.eml"))
    spam_marks = {m.text_content().lower() for m in doc.xpath("//section[@id='msg-1']//mark[@class='spam']")}
    ham_marks = {m.text_content().lower() for m in doc.xpath("//section[@id='msg-2']//mark[@class='ham']")}
    assert {"click", "cash"} <= spam_marks
    assert "seedlings" in ham_marks
    # a summary table links to both sections
    assert doc.xpath("//a/@href")[:2] == ["#msg-1", "#msg-2"]
    assert len(doc.xpath("//section[@id='msg-1']//tr[@class='finding']")) == len(FINDING_IDS)


def test_report_says_how_it_scored_and_why_each_finding(model):
    """Campaign mode is stated; notes have their own style; every non-passing finding names its basis."""
    from spamscore.check import UNSENT_NOTE

    doc = lxml_html.document_fromstring(page_for(model, "esp-tracked-newsletter.eml"))
    assert UNSENT_NOTE in doc.xpath("//div[@class='scoring']")[0].text_content()
    rows = {tr.get("data-id"): tr for tr in doc.xpath("//tr[@class='finding']")}
    assert rows["link-mismatch"].xpath(".//span[@class='st note']")
    assert "Mailchimp click tracking" in rows["link-mismatch"].text_content()
    assert "Why: " in rows["text-alternative"].text_content()
    assert not rows["dkim-signature"].xpath(".//div[@class='basis']")  # a pass needs no why


def test_japanese_report_keeps_text(model):
    page = page_for(model, "japanese-iso2022jp.eml")
    doc = lxml_html.document_fromstring(page)
    assert "三月の園芸だより" in doc.findtext(".//title")
    assert "剪定" in doc.xpath("//pre[@class='body']")[0].text_content()


@pytest.mark.parametrize("p,x_expected", [(0.0, 110 - 68), (1.0, 110 + 68)])
def test_gauge_needle_follows_probability(p, x_expected):
    svg = gauge_svg(p, 0.2, 0.9, "ham")
    line = lxml_html.fragment_fromstring(svg).xpath("//line")[0]
    assert abs(float(line.get("x2")) - x_expected) < 0.5
    assert f"{p * 100:.1f}%" in svg


# ----------------------------------------------------------------------------
# headless Chromium

def _chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    if os.environ.get("CI"):
        pytest.fail("chromium is not installed (CI=true: .ci/setup.d/chromium.sh should install it)")
    pytest.skip("chromium is not installed")


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
           "--hide-scrollbars", f"--user-data-dir={tmp_path / 'chromium-profile'}", *args]
    return subprocess.run(cmd, capture_output=True, timeout=120, check=False, text=True)


def dump_dom(tmp_path: Path, page: Path):
    r = chromium(tmp_path, "--virtual-time-budget=2000", "--dump-dom", page.as_uri())
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.strip(), "chromium printed no DOM"
    return lxml_html.document_fromstring(r.stdout)


def test_harness_sees_scripts_that_run(tmp_path):
    """Positive control: the --dump-dom check does detect a script that runs."""
    page = tmp_path / "control.html"
    page.write_text("<!DOCTYPE html><html><head><title>before</title></head><body>"
                    "<script>document.title='PWNED';document.body.insertAdjacentHTML('beforeend',"
                    "'<div id=\"pwned\">pwned</div>')</script></body></html>")
    doc = dump_dom(tmp_path, page)
    assert doc.findtext(".//title") == "PWNED"
    assert doc.get_element_by_id("pwned", None) is not None


def test_hostile_report_in_chromium(model, tmp_path):
    page = tmp_path / "hostile.html"
    text = page_for(model, "hostile-html.eml")
    page.write_text(text, encoding="utf-8")
    doc = dump_dom(tmp_path, page)
    title = doc.findtext(".//title")
    assert title == lxml_html.document_fromstring(text).findtext(".//title")  # unchanged by any script
    assert title.startswith("spamscore check: ")
    assert doc.get_element_by_id("pwned", None) is None
    assert not doc.xpath("//script|//iframe|//img|//form")
    assert doc.findtext(".//h1") == "spamscore check"  # still our page: no meta refresh went anywhere
    assert len(doc.xpath("//tr[@class='finding']")) == len(FINDING_IDS)
    assert doc.xpath("//mark[@class='spam']")


def test_screenshot_artifact(model, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    for name in ("every-problem.eml", "japanese-utf8.eml", "hostile-html.eml"):
        page = tmp_path / (name + ".html")
        page.write_text(page_for(model, name), encoding="utf-8")
        png = ARTIFACTS / f"check-{name.removesuffix('.eml')}.png"
        png.unlink(missing_ok=True)
        r = chromium(tmp_path, f"--screenshot={png}", "--window-size=1200,1600", page.as_uri())
        assert r.returncode == 0, r.stderr[-2000:]
        data = png.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
        print(f"screenshot: {png}")
