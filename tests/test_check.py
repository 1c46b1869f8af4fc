"""spamscore check: findings, clue explanations, DNS checks and the CLI."""

from __future__ import annotations

import base64
import json
import socket
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from spamscore.check import (
    DNS_FINDING_IDS, FAIL, FINDING_IDS, NOTE, PASS, UNSENT_NOTE, WARN, DnsLookupError, check_message,
    content_findings, dns_findings, dns_txt_resolver, explain_clue, looks_bulk, spammy_subject_words,
)
from spamscore.check.explain import Context as _Context
from spamscore.cli import app
from spamscore.features import FeatureOptions, extract, analyze
from spamscore.message import parse
from spamscore.scoring import Model, train

CAMPAIGNS = Path(__file__).resolve().parent / "fixtures" / "campaigns"

_SPAM = [
    "Subject: FREE cash prize winner\n\nYou are a WINNER! Claim your FREE cash prize now, click here "
    "https://bit.ly/abc urgent offer limited time viagra casino money",
    "Subject: Claim your prize now!!!\n\nCongratulations winner, free money, click here to claim cash "
    "http://192.0.2.1/claim act now guaranteed income",
    "Subject: Cheap viagra FREE shipping\n\nBuy now lowest price pills, free offer, click here, "
    "unsubscribe never, cash only https://bit.ly/pills",
    "Subject: URGENT: verify your account\n\nYour account is suspended, click here to verify your password "
    "now, urgent, free gift card prize",
    "Subject: Make money fast\n\nEarn extra cash from home, free, guaranteed, no cost, click here, winner "
    "casino lottery prize money",
    "Subject: 無料 当選 おめでとうございます\n\n当選しました！今すぐ無料で現金を受け取ってください。クリックしてください "
    "https://bit.ly/jp 緊急 高収入 副業",
    "Subject: You won a free iPhone\n\nClick here to claim your free prize, winner selected, cash bonus, "
    "limited time offer, act now",
    "Subject: Lowest mortgage rates\n\nFree quote, click here, cash out, guaranteed approval, no obligation, "
    "winner money",
]
_HAM = [
    "Subject: Minutes of Tuesday's meeting\n\nHi team, attached are the notes from the planning meeting. "
    "The garden project schedule moves to April; seedlings arrive next week.",
    "Subject: Lunch on Friday?\n\nHello Sam, shall we have lunch on Friday near the office? The new "
    "place does good soup. Regards, Alex",
    "Subject: Re: pruning the roses\n\nThanks for the tips on pruning. I cut back the shrubs to healthy "
    "buds as you suggested, and the compost is ready.",
    "Subject: Workshop schedule\n\nThe composting workshop is on Saturday morning at the Riverside "
    "shop. Please bring gloves. Notes will follow on the site.",
    "Subject: Garden notes for March\n\nSpring is here: harden off tomato seedlings for a week before "
    "planting them out, and prune late-flowering shrubs.",
    "Subject: 三月の園芸だより\n\n山田様、いつもありがとうございます。苗の植え付けと剪定についてご紹介します。"
    "講習会は土曜日です。",
    "Subject: Quarterly report draft\n\nPlease review the draft report before Thursday; comments in the "
    "shared document are welcome. Thanks, Maria",
    "Subject: Re: seedlings\n\nThe pepper seedlings look healthy. I will bring them in at night while "
    "frost is possible. See you at the workshop.",
]


def _msg(text: str, i: int, frm: str) -> bytes:
    return (f"From: {frm}\nTo: someone@example.net\nMessage-ID: <t{i}@example.net>\n"
            "Content-Type: text/plain; charset=utf-8\n" + text + "\n").encode("utf-8")


def train_model(path: Path) -> Model:
    """A small model from the messages above, saved to ``path`` and loaded back."""
    raws = [_msg(t, i, "Offers <deals@prize-center.biz>") for i, t in enumerate(_SPAM)]
    raws += [_msg(t, 100 + i, "Friends <friend@example-shop.com>") for i, t in enumerate(_HAM)]
    labels = ["spam"] * len(_SPAM) + ["ham"] * len(_HAM)
    docs = [extract(parse(r), FeatureOptions()) for r in raws]
    model = train(docs, labels, folds=4, meta={"trained_on": "tests/test_check.py"})
    model.save(path)
    return Model.load(path)


# ----------------------------------------------------------------------------
# fixtures and helpers


NOW = datetime(2025, 3, 5, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def model_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("model") / "check.spamscore"
    train_model(path)
    return path


@pytest.fixture(scope="session")
def model(model_file) -> Model:
    return Model.load(model_file)


def fixture(name: str) -> bytes:
    return (CAMPAIGNS / name).read_bytes()


CLEAN = fixture("clean-newsletter.eml")


def edit(raw: bytes, drop: tuple[str, ...] = (), **set_headers: str) -> bytes:
    """``raw`` with header fields dropped or replaced (keyword names: Reply_To -> Reply-To)."""
    head, _, body = raw.partition(b"\n\n")
    lines = head.decode("utf-8", "surrogateescape").split("\n")
    fields: list[list[str]] = []
    for line in lines:
        if line[:1] in (" ", "\t") and fields:
            fields[-1].append(line)
        else:
            fields.append([line])
    names = {k.replace("_", "-").lower(): v for k, v in set_headers.items()}
    dropped = {d.lower() for d in drop} | set(names)
    out = [f for f in fields if f[0].split(":", 1)[0].lower() not in dropped]
    out += [[f"{k}: {v}"] for k, v in names.items() if v is not None]
    text = "\n".join("\n".join(f) for f in out)
    return text.encode("utf-8", "surrogateescape") + b"\n\n" + body


def simple(body: str | bytes, ctype: str = "text/plain; charset=utf-8", cte: str = "8bit", **headers: str) -> bytes:
    """The clean fixture's headers over a single-part body."""
    head = edit(CLEAN, Content_Type=ctype, Content_Transfer_Encoding=cte, **headers).partition(b"\n\n")[0]
    if isinstance(body, str):
        body = body.encode("utf-8")
    return head + b"\n\n" + body


def status(raw: bytes, fid: str, **kw) -> str:
    pm = parse(raw)
    found = {f.id: f for f in content_findings(raw, pm, analyze(pm), now=NOW, **kw)}
    f = found[fid]
    assert f.message  # every finding says what it found
    assert bool(f.fix) == (f.status != PASS)  # and how to fix it when it does not pass
    assert f.basis  # and what rule or evidence its status rests on
    return f.status


LONG_TEXT = "Our spring workshop covers composting, pruning and seedlings in detail. " * 6
HTML_OK = f"<html><body><p>{LONG_TEXT}</p><p><a href='https://www.example-shop.com/'>our shop</a></p></body></html>"


def html_msg(inner: str, **headers: str) -> bytes:
    return simple(f"<html><body>{inner}</body></html>", "text/html; charset=utf-8", **headers)


def alt_msg(text: str, html: str, **headers: str) -> bytes:
    body = ("--b\nContent-Type: text/plain; charset=utf-8\n\n" + text
            + "\n--b\nContent-Type: text/html; charset=utf-8\n\n" + html + "\n--b--\n")
    return simple(body, 'multipart/alternative; boundary="b"', "7bit", **headers)


# ----------------------------------------------------------------------------
# the fixture campaigns

def test_clean_newsletter_passes_everything(model):
    rep = check_message(CLEAN, model, now=NOW)
    assert [f.id for f in rep.findings] == list(FINDING_IDS)
    assert {f.id: f.status for f in rep.findings} == {fid: PASS for fid in FINDING_IDS}
    assert rep.label == "ham"


# What every-problem.eml breaks, and how hard: a fail only where a provider's rule or a real filter
# punishes (issue 18, item 7), the rest warnings, and notes for what the sending system adds.
EVERY_PROBLEM = {
    "input": PASS, "dkim-signature": FAIL, "dkim-alignment": FAIL, "from-domain": WARN, "message-id": NOTE,
    "date": NOTE, "list-unsubscribe": FAIL, "list-unsubscribe-post": FAIL, "text-alternative": WARN,
    "image-ratio": FAIL, "url-shortener": WARN, "ip-url": FAIL, "link-mismatch": FAIL, "link-count": WARN,
    "subject-style": WARN, "size": PASS, "charset": FAIL,
}


def test_every_problem_fails_the_right_ones(model):
    rep = check_message(fixture("every-problem.eml"), model, now=NOW)
    assert {f.id: f.status for f in rep.findings} == EVERY_PROBLEM
    assert rep.bulk  # undisclosed recipients
    assert rep.label == "spam"
    assert "link text shows paypal.com but the link goes to login-paypa1.example" in rep.finding("link-mismatch").message


LEGITIMATE = ("clean-newsletter.eml", "japanese-iso2022jp.eml", "japanese-utf8.eml", "esp-tracked-newsletter.eml",
              "transactional-receipt.eml", "announcement-images.eml")
MODERN = CAMPAIGNS.parent / "modern"  # helper E's labelled modern mail (issue 18)

# Failures a published rule backs, on legitimate mail that breaks it (tests/fixtures/modern, dev rows):
# RFC 8058 section 4 and Gmail's one-click requirement (the DKIM signature must cover both headers;
# a bulk sender must offer one-click).  Any other `fail` on legitimate mail fails the test.
RULE_BACKED_FAILS = {
    "ham-ja/newsletter-eucjp.eml": {"list-unsubscribe-post"},   # h= does not cover List-Unsubscribe-Post
    "ham-ja/newsletter-utf8.eml": {"list-unsubscribe-post"},    # h= does not cover List-Unsubscribe-Post
    "ham-ja/event-iso2022jp.eml": {"list-unsubscribe-post"},    # List-Unsubscribe without one-click
}


def _legitimate_mail() -> list[tuple[Path, str]]:
    """The campaign fixtures above, and the ham `dev` rows of tests/fixtures/modern (its `judge` rows are kept
    aside for judging: not tuned on here)."""
    out = [(CAMPAIGNS / n, n) for n in LEGITIMATE]
    labels = MODERN / "labels.tsv"
    if labels.is_file():
        rows = [line.split("\t") for line in labels.read_text(encoding="utf-8").splitlines()[1:]]
        out += [(MODERN / r[0], r[0]) for r in rows
                if len(r) >= 5 and r[1] == "ham" and r[4] == "dev" and (MODERN / r[0]).is_file()]
    return out


@pytest.mark.parametrize("path,name", _legitimate_mail(), ids=[n for _, n in _legitimate_mail()])
def test_legitimate_mail_gets_no_fail(model, path, name):
    """Newsletters (ESP-tracked, HTML-only, unsent), announcements and transactional mail: nothing a
    provider would punish, beyond the rule-backed failures listed above."""
    rep = check_message(path.read_bytes(), model, now=NOW)
    fails = {f.id for f in rep.findings if f.status == FAIL}
    assert fails == RULE_BACKED_FAILS.get(name, set()), [(f.id, f.message) for f in rep.findings if f.status == FAIL]


def test_modern_ham_is_walked():
    """The test above sees helper E's fixtures when they are there (and their transactional mail as such)."""
    names = {n for _, n in _legitimate_mail()}
    if not (MODERN / "labels.tsv").is_file():
        pytest.skip("tests/fixtures/modern is not there")
    assert {"ham-en/order-receipt.eml", "ham-en/password-reset.eml"} <= names
    pm = parse((MODERN / "ham-en/password-reset.eml").read_bytes())
    assert not looks_bulk(pm, analyze(pm))


def test_mailing_list_post_is_held_to_one_click_only_as_a_warning():
    raw = edit(CLEAN, drop=("List-Unsubscribe-Post",), List_Post="<mailto:garden-talk@lists.example-shop.com>",
               List_Id="Garden talk <garden-talk.lists.example-shop.com>")
    assert status(raw, "list-unsubscribe-post") == WARN
    assert status(edit(CLEAN, drop=("List-Unsubscribe-Post",)), "list-unsubscribe-post") == FAIL


def test_legitimate_fixtures_are_what_they_claim():
    """The fixtures exercise what the test above is about: tracking hosts, HTML-only, no Date, no unsubscribe."""
    esp = fixture("esp-tracked-newsletter.eml")
    assert b"list-manage.com/track/click" in esp and b"text/plain" not in esp and b"\nDate:" not in esp
    receipt = fixture("transactional-receipt.eml")
    assert b"ct.sendgrid.net" in receipt and b"List-Unsubscribe" not in receipt
    pm = parse(receipt)
    assert not looks_bulk(pm, analyze(pm))
    pm = parse(esp)
    assert looks_bulk(pm, analyze(pm))
    rep_statuses = {fid: status(esp, fid) for fid in ("text-alternative", "link-mismatch", "message-id", "date")}
    assert rep_statuses == {"text-alternative": WARN, "link-mismatch": NOTE, "message-id": NOTE, "date": NOTE}
    assert status(receipt, "list-unsubscribe-post") == NOTE
    assert status(receipt, "list-unsubscribe-post", bulk=True) == FAIL  # sent as a campaign, it would fail


@pytest.mark.parametrize("name", ["japanese-iso2022jp.eml", "japanese-utf8.eml"])
def test_japanese_newsletters_pass(model, name):
    raw = fixture(name)
    rep = check_message(raw, model, now=NOW)
    assert {f.id: f.status for f in rep.findings} == {fid: PASS for fid in FINDING_IDS}
    assert rep.subject == "三月の園芸だより：苗と剪定のコツ"
    assert "剪定" in rep.body_text
    assert rep.label == "ham"


def test_japanese_fixtures_are_labelled_as_they_say():
    assert b"charset=ISO-2022-JP" in fixture("japanese-iso2022jp.eml")
    body = fixture("japanese-iso2022jp.eml").partition(b"\n\n")[2]
    assert body.isascii() and b"\x1b$B" in body  # real JIS escapes, 7-bit
    assert b"charset=UTF-8" in fixture("japanese-utf8.eml")


# ----------------------------------------------------------------------------
# each finding: pass and fail (and warn where there is one)

DKIM_UNALIGNED = ("v=1; a=rsa-sha256; d=esp-mailer.net; s=k1; h=from:to:subject:list-unsubscribe:"
                  "list-unsubscribe-post; bh=x; b=eHg=")
DKIM_SUB = ("v=1; a=rsa-sha256; d=mail.example-shop.com; s=k1; h=from:list-unsubscribe:list-unsubscribe-post; "
            "bh=x; b=eHg=")
DKIM_NO_LU = "v=1; a=rsa-sha256; d=example-shop.com; s=k1; h=from:to:subject; bh=x; b=eHg="

CASES = [
    ("dkim-signature", PASS, CLEAN),
    ("dkim-signature", FAIL, edit(CLEAN, drop=("DKIM-Signature",))),
    ("dkim-signature", FAIL, edit(CLEAN, DKIM_Signature="v=1; d=example-shop.com")),
    ("dkim-alignment", PASS, CLEAN),
    ("dkim-alignment", PASS, edit(CLEAN, DKIM_Signature=DKIM_SUB)),
    ("dkim-alignment", WARN, edit(CLEAN, DKIM_Signature=DKIM_UNALIGNED)),  # SPF (Return-Path) aligned
    ("dkim-alignment", FAIL, edit(CLEAN, drop=("Return-Path",), DKIM_Signature=DKIM_UNALIGNED)),
    ("dkim-alignment", FAIL, edit(CLEAN, Return_Path="<b@esp-mailer.net>", DKIM_Signature=DKIM_UNALIGNED)),
    ("dkim-alignment", FAIL, edit(CLEAN, drop=("DKIM-Signature",))),
    ("from-domain", PASS, CLEAN),
    ("from-domain", PASS, edit(CLEAN, drop=("Reply-To", "Return-Path"))),
    ("from-domain", WARN, edit(CLEAN, Reply_To="Claims <claims@other-desk.ru>")),
    ("from-domain", NOTE, edit(CLEAN, Return_Path="<b@bounces.esp-mailer.net>")),
    ("from-domain", FAIL, edit(CLEAN, drop=("From",))),
    ("message-id", PASS, CLEAN),
    ("message-id", NOTE, edit(CLEAN, drop=("Message-ID",))),  # unsent: the sending system adds it
    ("message-id", FAIL, edit(CLEAN, Message_ID="not-an-id")),
    ("date", PASS, CLEAN),
    ("date", NOTE, edit(CLEAN, drop=("Date",))),
    ("date", FAIL, edit(CLEAN, Date="yesterday at noon")),
    ("date", WARN, edit(CLEAN, Date="Mon, 10 Mar 2025 09:00:00 +0000")),
    ("list-unsubscribe", PASS, CLEAN),
    ("list-unsubscribe", PASS, edit(CLEAN, List_Unsubscribe="<mailto:unsub@example-shop.com>")),
    ("list-unsubscribe", FAIL, edit(CLEAN, drop=("List-Unsubscribe",))),
    ("list-unsubscribe", WARN, edit(CLEAN, List_Unsubscribe="<http://example-shop.com/unsub>")),
    ("list-unsubscribe", FAIL, edit(CLEAN, List_Unsubscribe="reply with UNSUBSCRIBE")),
    ("list-unsubscribe-post", PASS, CLEAN),
    ("list-unsubscribe-post", FAIL, edit(CLEAN, drop=("List-Unsubscribe-Post",))),
    ("list-unsubscribe-post", FAIL, edit(CLEAN, List_Unsubscribe_Post="List-Unsubscribe=Yes")),
    ("list-unsubscribe-post", FAIL, edit(CLEAN, List_Unsubscribe="<mailto:unsub@example-shop.com>")),
    ("list-unsubscribe-post", FAIL, edit(CLEAN, DKIM_Signature=DKIM_NO_LU)),
    ("list-unsubscribe-post", FAIL, edit(CLEAN, drop=("DKIM-Signature",))),
    ("text-alternative", PASS, CLEAN),
    ("text-alternative", PASS, simple("Plain words only.")),
    ("text-alternative", WARN, simple(HTML_OK, "text/html; charset=utf-8")),
    ("image-ratio", PASS, CLEAN),
    ("image-ratio", PASS, simple(HTML_OK, "text/html; charset=utf-8")),
    ("image-ratio", FAIL, html_msg('<img src="https://example-shop.com/a.jpg" width="600" height="800"><p>Sale</p>')),
    ("image-ratio", WARN, html_msg("".join(f'<img src="https://example-shop.com/{i}.jpg">' for i in range(10))
                                   + f"<p>{LONG_TEXT}</p>")),
    ("url-shortener", PASS, CLEAN),
    ("url-shortener", WARN, simple("See https://bit.ly/3abc for details.")),
    ("url-shortener", WARN, html_msg('<a href="https://tinyurl.com/x1">our shop</a>')),
    ("ip-url", PASS, CLEAN),
    ("ip-url", FAIL, simple("Log in at http://198.51.100.7/login today.")),
    ("link-mismatch", PASS, CLEAN),
    ("link-mismatch", FAIL, html_msg('<a href="https://login-paypa1.example/verify">paypal.com</a>')),
    ("link-mismatch", FAIL, html_msg('<a href=" JavaScript:alert(1)">www.paypal.com</a>')),
    ("link-mismatch", PASS, html_msg('<a href="https://www.paypal.com/signin">www.paypal.com</a>')),
    ("link-count", PASS, CLEAN),
    ("link-count", NOTE, simple(" ".join(f"https://example-shop.com/p/{i}" for i in range(60)))),
    ("link-count", WARN, simple(" ".join(f"https://example-shop.com/p/{i}" for i in range(120)))),
    ("subject-style", PASS, CLEAN),
    ("subject-style", WARN, edit(CLEAN, Subject="HUGE SPRING SALE ON ALL SEEDS")),
    ("subject-style", WARN, edit(CLEAN, Subject="Spring sale on seeds!!!")),
    ("subject-style", WARN, edit(CLEAN, Subject="")),
    ("subject-style", NOTE, edit(CLEAN, Subject="Free shipping on seeds this week")),
    ("subject-style", NOTE, edit(CLEAN, Subject="=?UTF-8?B?" + base64.b64encode("【無料】春の種まきセミナー".encode()).decode()
                                 + "?=")),
    ("subject-style", NOTE, edit(CLEAN, Subject="=?UTF-8?B?" + base64.b64encode("緊急のお知らせ".encode()).decode() + "?=")),
    ("subject-style", NOTE, edit(CLEAN, Subject="=?UTF-8?B?" + base64.b64encode("抽選に当選しました".encode()).decode() + "?=")),
    ("subject-style", PASS, edit(CLEAN, Subject="=?UTF-8?B?" + base64.b64encode("三月の園芸だより".encode()).decode() + "?=")),
    ("size", PASS, CLEAN),
    ("size", WARN, simple("<html><body>" + "<p>" + "Seedlings and pruning. " * 5000 + "</p></body></html>",
                          "text/html; charset=utf-8")),
    ("size", WARN, simple("--b\nContent-Type: text/plain; charset=utf-8\n\nSee the catalogue.\n--b\n"
                          "Content-Type: application/pdf; name=catalogue.pdf\nContent-Transfer-Encoding: base64\n\n"
                          + base64.encodebytes(bytes(900_000)).decode() + "--b--\n",
                          'multipart/mixed; boundary="b"', "7bit")),
    ("charset", PASS, CLEAN),
    ("charset", PASS, fixture("japanese-iso2022jp.eml")),
    ("charset", PASS, fixture("japanese-utf8.eml")),
    ("charset", PASS, simple("園芸だより".encode("shift_jis"), "text/plain; charset=Shift_JIS")),
    ("charset", PASS, simple(b"plain ascii, no charset", "text/plain", "7bit")),
    ("charset", FAIL, simple("園芸だより".encode("utf-8"), "text/plain; charset=ISO-2022-JP")),
    ("charset", FAIL, simple("園芸だより".encode("iso2022_jp"), "text/plain; charset=us-ascii", "7bit")),
    ("charset", FAIL, simple("café".encode("utf-8"), "text/plain; charset=us-ascii")),
    ("charset", FAIL, simple("園芸だより".encode("shift_jis"), "text/plain; charset=utf-8")),
    ("charset", FAIL, simple("café".encode("latin-1"), "text/plain")),
    ("charset", FAIL, simple(b"hello", "text/plain; charset=x-klingon")),
    ("charset", FAIL, edit(CLEAN, Subject="園芸だより".encode("utf-8").decode("ascii", "surrogateescape"))),
]


# /bin/ls-like bytes: an ELF header and binary
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 8
CASES += [
    ("input", PASS, CLEAN),
    ("input", FAIL, b""),
    ("input", FAIL, ELF),
]


@pytest.mark.parametrize("fid,expected,raw", CASES, ids=[f"{c[0]}-{c[1]}-{i}" for i, c in enumerate(CASES)])
def test_finding(fid, expected, raw):
    assert status(raw, fid) == expected


# Findings that can fail: what a provider's published rule or a real filter punishes (issue 18, item 7).
CAN_FAIL = {"input", "dkim-signature", "dkim-alignment", "from-domain", "message-id", "date", "list-unsubscribe",
            "list-unsubscribe-post", "image-ratio", "ip-url", "link-mismatch", "charset"}


def test_every_finding_has_a_pass_and_a_non_pass_case():
    for fid in FINDING_IDS:
        got = {s for f, s, _ in CASES if f == fid}
        assert PASS in got and got - {PASS}, fid
        assert (FAIL in got) == (fid in CAN_FAIL), fid


@pytest.mark.parametrize("fid,raw", [
    ("message-id", edit(CLEAN, drop=("Message-ID",))),
    ("date", edit(CLEAN, drop=("Date",))),
])
def test_missing_message_id_and_date_fail_a_delivered_message(fid, raw):
    assert status(raw, fid, unsent=True) == NOTE
    assert status(raw, fid, unsent=False) == FAIL


def test_input_finding_lists_the_problems(model):
    rep = check_message(ELF, model, now=NOW)
    f = rep.finding("input")
    assert f.status == FAIL and "binary" in f.message
    assert "empty" in check_message(b"", model, now=NOW).finding("input").message


# ----------------------------------------------------------------------------
# link-mismatch and ESP click tracking

ESP_LINKS = [
    # (href, text, expected)
    ("https://examplegarden.us14.list-manage.com/track/click?u=1&id=2", "www.example-shop.com", NOTE),  # Mailchimp
    ("https://u4821.ct.sendgrid.net/ls/click?upn=abc", "example-shop.com/orders", NOTE),                # SendGrid
    ("https://x.r.us-east-1.awstrack.me/L0/https:%2F%2Fwww.example-shop.com%2F/1/abc=", "example-shop.com", NOTE),
    ("https://t.hubspotlinks.com/Ctc/abc", "www.example-shop.com", NOTE),                                 # HubSpot
    ("https://trk.klclick.com/ls/click?upn=abc", "example-shop.com", NOTE),                             # Klaviyo
    ("https://r.sendibt3.com/mk/cl/abc", "example-shop.com", NOTE),                                      # Brevo
    ("https://click.exacttarget.com/?qs=abc", "example-shop.com", NOTE),                               # SFMC
    ("https://link.mail.beehiiv.com/ss/c/abc", "example-shop.com", NOTE),                              # beehiiv
    ("https://substack.com/redirect/abc", "example-shop.com", NOTE),                                   # Substack
    ("https://pstmrk.it/3s/abc", "example-shop.com", NOTE),                                            # Postmark
    ("https://r20.rs6.net/tn.jsp?f=abc", "example-shop.com", NOTE),                 # Constant Contact
    ("https://example.cmail20.com/t/abc", "example-shop.com", NOTE),                # Campaign Monitor
    ("https://xyz.mjt.lu/lnk/abc", "example-shop.com", NOTE),                                          # Mailjet
    ("https://click.e.example-shop.com/?qs=abc", "www.example-shop.com", PASS),  # branded: the same domain
    # a text naming one bank, an href to an unrelated host: still a failure
    ("https://secure-chase-login.example/verify", "www.chase.com", FAIL),
    ("https://www.bankofamerica.com/login", "www.chase.com", FAIL),
    # a real ESP carrying, in clear, a destination other than the text: a phisher on a real ESP
    ("https://x.r.us-east-1.awstrack.me/L0/https:%2F%2Fchase-verify.example%2F/1/abc=", "www.chase.com", FAIL),
    ("https://track.example-esp.example/c?url=https://evil.example/", "www.chase.com", FAIL),
    ("https://u1.ct.sendgrid.net/ls/click?url=https://chase-verify.example/", "www.chase.com", FAIL),
    # a look-alike of a tracking host is no tracking host
    ("https://us14.list-manage.com.evil.example/track/click", "www.chase.com", FAIL),
    ("https://sendibtx.com/mk/cl/abc", "www.chase.com", FAIL),
]


@pytest.mark.parametrize("href,text,expected", ESP_LINKS, ids=[f"{i}-{e}" for i, (_, _, e) in enumerate(ESP_LINKS)])
def test_link_mismatch_knows_esp_tracking(href, text, expected):
    raw = html_msg(f'<p>{LONG_TEXT}</p><a href="{href}">{text}</a>')
    assert status(raw, "link-mismatch") == expected


def test_tracking_link_beside_a_phishing_link_still_fails():
    raw = html_msg(f'<p>{LONG_TEXT}</p><a href="https://a.us14.list-manage.com/track/click?u=1">example-shop.com</a>'
                   '<a href="https://chase-login.example/x">www.chase.com</a>')
    pm = parse(raw)
    f = {f.id: f for f in content_findings(raw, pm, analyze(pm), now=NOW)}["link-mismatch"]
    assert f.status == FAIL and "chase-login.example" in f.message


def test_spammy_japanese_subject_words():
    assert spammy_subject_words("【無料】今すぐ！") == ["無料", "今すぐ"]
    assert spammy_subject_words("Ｆｒｅｅ gift") == ["free"]  # full-width letters are normalised
    assert spammy_subject_words("Freedom of speech") == []  # whole words only


# ----------------------------------------------------------------------------
# clues in words

def _ctx(raw: bytes) -> _Context:
    pm = parse(raw)
    return _Context(pm, analyze(pm))


@pytest.mark.parametrize("raw,feature,text,where", [
    (edit(CLEAN, Subject="Get FREE seeds"), "subject:free", "the subject word FREE", "subject"),
    (simple("Please click the button."), "click", "the word 'click' in the body", "body"),
    (simple("See https://bit.ly/x"), "url:bit.ly", "a link to bit.ly", "link"),
    (simple("See https://bit.ly/x"), "url:shortener", "a link through a URL shortener (bit.ly)", "link"),
    (html_msg('<a href="https://login-paypa1.example/v">paypal.com</a>'), "url:text-mismatch",
     "link text shows paypal.com but the link goes to login-paypa1.example", "link"),
    (html_msg('<img src="https://x.example/a.jpg">'), "html:image-only",
     "little text for its images (an image-only message)", "html"),
    (CLEAN, "from:domain:example-shop.com", "the From address domain example-shop.com", "header"),
    (edit(CLEAN, X_Mailer="BlastMailer 9"), "x-mailer:blastmailer", "the word 'BlastMailer' in the X-Mailer header",
     "header"),
    (edit(CLEAN, Organization="Acme Widgets"), "widgets", "the word 'Widgets' in the Organization header", "header"),
    (simple("無料でお届けします"), "無料", "'無料でお届けします' in the body (the clue is its part '無料')", "body"),
    (simple("無料"), "無料", "the word '無料' in the body", "body"),
    (CLEAN, "hdr:list-unsubscribe", "a List-Unsubscribe header", "header"),
    (simple("Log in at http://198.51.100.7/x"), "url:ip-host", "a link to a bare IP address (198.51.100.7)", "link"),
])
def test_explain_clue(raw, feature, text, where):
    c = explain_clue(feature, 1.5, _ctx(raw))
    assert (c.text, c.where) == (text, where)


def test_word_in_body_and_subject():
    raw = edit(simple("Our seedlings are ready."), Subject="Seedlings are ready")
    c = explain_clue("seedlings", -2.0, _ctx(raw))
    assert c.text == "the word 'seedlings' in the body and the subject"


def test_report_clues_are_signed_and_sorted(model):
    rep = check_message(fixture("every-problem.eml"), model, now=NOW)
    assert rep.spammy and all(c.weight > 0 for c in rep.spammy)
    assert all(c.weight < 0 for c in rep.hammy)
    w = [abs(c.weight) for c in rep.spammy]
    assert w == sorted(w, reverse=True)
    texts = [c.text for c in rep.spammy]
    assert all(t and ":" not in t.split(" ")[0] for t in texts)  # words, not raw feature names


# ----------------------------------------------------------------------------
# DNS findings

GOOD_DNS = {
    "example-shop.com": ["google-site-verification=abc", "v=spf1 include:_spf.esp.example ip4:192.0.2.0/24 ~all"],
    "_dmarc.example-shop.com": ["v=DMARC1; p=reject; rua=mailto:d@example-shop.com"],
    "mail2024._domainkey.example-shop.com": ["v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC"],
}


def fake(records: dict[str, list[str]]):
    asked = []

    def txt(name: str) -> list[str]:
        asked.append(name)
        return list(records.get(name.lower().rstrip("."), []))

    txt.asked = asked
    return txt


def dns_status(records, raw=CLEAN) -> dict[str, str]:
    return {f.id: f.status for f in dns_findings(parse(raw), fake(records))}


def with_records(**changes):
    recs = dict(GOOD_DNS)
    for k, v in changes.items():
        name = {"spf": "example-shop.com", "dmarc": "_dmarc.example-shop.com",
                "key": "mail2024._domainkey.example-shop.com"}[k]
        if v is None:
            recs.pop(name)
        else:
            recs[name] = v
    return recs


def test_dns_all_pass():
    assert dns_status(GOOD_DNS) == {i: PASS for i in DNS_FINDING_IDS}


@pytest.mark.parametrize("fid,expected,records", [
    ("dns-spf", FAIL, with_records(spf=None)),
    ("dns-spf", FAIL, with_records(spf=["v=spf1 -all", "v=spf1 include:x.example ~all"])),
    ("dns-spf", FAIL, with_records(spf=["v=spf1 +all"])),
    ("dns-spf", FAIL, with_records(spf=["v=spf1 inclde:x.example ~all"])),
    ("dns-spf", WARN, with_records(spf=["v=spf1 include:x.example"])),
    ("dns-spf", PASS, with_records(spf=["v=spf1 redirect=_spf.example-shop.com"])),
    ("dns-dmarc", FAIL, with_records(dmarc=None)),
    ("dns-dmarc", NOTE, with_records(dmarc=["v=DMARC1; p=none"])),  # enough for Gmail and Yahoo
    ("dns-dmarc", PASS, with_records(dmarc=["v=DMARC1; p=quarantine; pct=100"])),
    ("dns-dmarc", FAIL, with_records(dmarc=["v=DMARC1; rua=mailto:x@example-shop.com"])),
    ("dns-dkim-key", FAIL, with_records(key=None)),
    ("dns-dkim-key", FAIL, with_records(key=["v=DKIM1; k=rsa; p="])),
])
def test_dns_finding(fid, expected, records):
    assert dns_status(records)[fid] == expected


def test_dmarc_found_at_the_organizational_domain():
    raw = edit(CLEAN, From="News <news@news.example-shop.com>")
    resolver = fake(GOOD_DNS)
    found = {f.id: f for f in dns_findings(parse(raw), resolver)}
    assert found["dns-dmarc"].status == PASS
    assert resolver.asked[:3] == ["news.example-shop.com", "_dmarc.news.example-shop.com", "_dmarc.example-shop.com"]


def test_dns_without_signature_fails_key_check():
    raw = edit(CLEAN, drop=("DKIM-Signature",))
    assert dns_status(GOOD_DNS, raw)["dns-dkim-key"] == FAIL


def test_dns_lookup_errors_are_warnings():
    def broken(name):
        raise DnsLookupError(f"{name}: timed out")

    found = dns_findings(parse(CLEAN), broken)
    assert [f.status for f in found] == [WARN, WARN, WARN]
    assert "timed out" in found[0].message


def test_no_resolver_no_dns_findings(model):
    rep = check_message(CLEAN, model, now=NOW)
    assert not any(f.id.startswith("dns-") for f in rep.findings)
    rep = check_message(CLEAN, model, now=NOW, resolver=fake(GOOD_DNS))
    assert [f.id for f in rep.findings][-3:] == list(DNS_FINDING_IDS)


class LoopbackDNS:
    """A tiny authoritative DNS server on 127.0.0.1 (UDP) answering TXT from a dict, built with dnspython."""

    def __init__(self, records: dict[str, list[str]]):
        import dns.message
        import dns.rcode
        import dns.rdatatype
        import dns.rrset

        self._dns = (dns.message, dns.rcode, dns.rdatatype, dns.rrset)
        self.records = records
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self):
        message, rcode, rdatatype, rrset = self._dns
        while not self.stop.is_set():
            try:
                data, addr = self.sock.recvfrom(4096)
            except (socket.timeout, OSError):
                continue
            q = message.from_wire(data)
            r = message.make_response(q)
            question = q.question[0]
            name = question.name.to_text().rstrip(".").lower()
            if name == "servfail.example":
                r.set_rcode(rcode.SERVFAIL)
            elif name not in self.records:
                r.set_rcode(rcode.NXDOMAIN)
            elif question.rdtype == rdatatype.TXT:
                txts = ['"' + t.replace('"', '\\"') + '"' for t in self.records[name]]
                r.answer.append(rrset.from_text(question.name, 60, "IN", "TXT", *txts))
            self.sock.sendto(r.to_wire(), addr)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def dns_server():
    pytest.importorskip("dns.message")
    with LoopbackDNS(GOOD_DNS) as server:
        yield server


def test_dnspython_resolver_against_loopback_server(dns_server):
    txt = dns_txt_resolver(["127.0.0.1"], dns_server.port, timeout=2)
    assert txt("_dmarc.example-shop.com") == GOOD_DNS["_dmarc.example-shop.com"]
    assert txt("nothing.example-shop.com") == []
    with pytest.raises(DnsLookupError):
        txt("servfail.example")
    found = {f.id: f.status for f in dns_findings(parse(CLEAN), txt)}
    assert found == {i: PASS for i in DNS_FINDING_IDS}


# ----------------------------------------------------------------------------
# CLI

runner = CliRunner()


def run(*args):
    return runner.invoke(app, ["check", *map(str, args)])


def _stderr(result) -> str:
    try:
        return result.stderr
    except (ValueError, AttributeError):
        return result.output


def test_cli_clean_exit_0(model_file):
    r = run(CAMPAIGNS / "clean-newsletter.eml", "--model", model_file)
    assert r.exit_code == 0, r.output
    assert "HAM" in r.output and "17 pass" in r.output and UNSENT_NOTE in r.output


def test_cli_spam_exit_1(model_file):
    r = run(CAMPAIGNS / "every-problem.eml", "--model", model_file)
    assert r.exit_code == 1
    assert "FAIL  link-mismatch" in r.output
    assert "fix:" in r.output


def test_cli_json_shape(model_file):
    r = run(CAMPAIGNS / "every-problem.eml", "--model", model_file, "--format", "json")
    assert r.exit_code == 1
    d = json.loads(r.output)
    assert d["label"] == "spam" and 0.0 <= d["probability"] <= 1.0
    assert d["clues"] and set(d["clues"][0]) == {"feature", "weight", "explanation", "where"}
    assert [f["id"] for f in d["findings"]] == list(FINDING_IDS)
    for f in d["findings"]:
        assert set(f) == {"id", "status", "message", "fix", "basis"} and f["status"] in (PASS, NOTE, WARN, FAIL)
        assert f["basis"]
    assert d["scored_as"] == "unsent" and d["scoring_note"] == UNSENT_NOTE
    assert {f["basis"] for f in d["findings"] if f["id"] == "list-unsubscribe-post"} == {
        "Gmail and Yahoo sender requirements (2024): one-click unsubscribe for bulk mail; RFC 8058"}


def test_cli_folder(model_file, tmp_path):
    for name in ("clean-newsletter.eml", "japanese-utf8.eml"):
        (tmp_path / name).write_bytes(fixture(name))
    r = run(tmp_path, "--model", model_file)
    assert r.exit_code == 0, r.output
    assert "verdict" in r.output and "failed checks" in r.output  # the summary table
    r = run(tmp_path, "--model", model_file, "--format", "json")
    d = json.loads(r.output)
    assert [m["path"].rsplit("/", 1)[1] for m in d["messages"]] == ["clean-newsletter.eml", "japanese-utf8.eml"]
    assert d["summary"]["messages"] == 2 and d["summary"]["failed"] == 0
    (tmp_path / "spam.eml").write_bytes(fixture("every-problem.eml"))
    r = run(tmp_path, "--model", model_file, "--format", "json")
    assert r.exit_code == 1 and json.loads(r.output)["summary"]["spam"] == 1


def test_cli_fail_on_unsure(model, tmp_path):
    # a copy of the model whose cut-offs make every message 'unsure'
    unsure = Model(model.nb, calibration=model.calibration, spam_cutoff=0.999999999, ham_cutoff=0.0)
    path = tmp_path / "unsure.spamscore"
    unsure.save(path)
    clean = CAMPAIGNS / "clean-newsletter.eml"
    assert run(clean, "--model", path).exit_code == 0
    assert run(clean, "--model", path, "--fail-on", "unsure").exit_code == 1


def test_cli_html_output(model_file, tmp_path):
    out = tmp_path / "report.html"
    r = run(CAMPAIGNS / "clean-newsletter.eml", "--model", model_file, "--format", "html", "--output", out)
    assert r.exit_code == 0, r.output
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "Content-Security-Policy" in page
    assert "<svg" in page and page.count('class="finding"') == len(FINDING_IDS)


@pytest.mark.parametrize("args,needle", [
    (["/nonexistent/message.eml"], "no such file"),
    (["{empty}"], "no .eml files"),
    (["{clean}", "--model", "/nonexistent/model.spamscore"], "model"),
    (["{clean}", "--format", "pdf"], ""),
    (["{clean}", "--dns-server", "127.0.0.1"], "--dns-server needs --dns"),
    (["{clean}", "--output", "/nonexistent/dir/report.txt"], "report.txt"),
])
def test_cli_usage_errors_exit_2(args, needle, tmp_path, model_file):
    empty = tmp_path / "empty"
    empty.mkdir()
    args = [a.format(empty=empty, clean=CAMPAIGNS / "clean-newsletter.eml") for a in args]
    if "--model" not in args:
        args += ["--model", str(model_file)]
    r = runner.invoke(app, ["check", *args])
    assert r.exit_code == 2
    err = _stderr(r)
    assert needle in err
    if needle:
        assert len(err.strip().splitlines()) == 1


def test_cli_dns_against_loopback_server(model_file, dns_server):
    r = run(CAMPAIGNS / "clean-newsletter.eml", "--model", model_file, "--format", "json", "--dns",
            "--dns-server", f"127.0.0.1:{dns_server.port}")
    assert r.exit_code == 0, r.output
    found = {f["id"]: f["status"] for f in json.loads(r.output)["findings"]}
    assert {i: found[i] for i in DNS_FINDING_IDS} == {i: PASS for i in DNS_FINDING_IDS}


def test_cli_no_dns_by_default(model_file, monkeypatch):
    import spamscore.cli.check as cli_check

    def boom(*a, **k):
        raise AssertionError("DNS used without --dns")

    monkeypatch.setattr(cli_check, "dns_txt_resolver", boom)
    r = run(CAMPAIGNS / "clean-newsletter.eml", "--model", model_file, "--format", "json")
    assert r.exit_code == 0, r.output
    assert not any(f["id"].startswith("dns-") for f in json.loads(r.output)["findings"])


def test_cli_help_has_example():
    r = runner.invoke(app, ["check", "--help"])
    assert r.exit_code == 0 and "Example: spamscore check" in r.output


# ----------------------------------------------------------------------------
# hostile input never crashes the check


_PIECES = [b"Content-Type: multipart/mixed; boundary=x\n", b"--x\n", b"Content-Type: text/plain; charset=",
           b"iso-2022-jp", b"utf-8", b"bogus\x00", b"\x1b$B", b"\xff\xfe", b"DKIM-Signature: d=;s=\n",
           b"List-Unsubscribe: <\n", b"Date: 99 Foo 99999 99:99\n", b"\n", b"<a href='http://[::1'>x</a>",
           b"Content-Transfer-Encoding: base64\n", b"=?utf-8?q?=FF?=", b"From: <@>\n"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.one_of(st.sampled_from(_PIECES), st.binary(max_size=40)), max_size=30))
def test_check_never_raises_on_garbage(model, pieces):
    from spamscore.check.html import render_html

    raw = b"".join(pieces)
    rep = check_message(raw, model, now=NOW, resolver=fake({}))
    assert [f.id for f in rep.findings] == list(FINDING_IDS) + list(DNS_FINDING_IDS)
    assert render_html([rep]).startswith("<!DOCTYPE html>")


def test_unsent_message_is_not_credited_for_its_missing_received_headers(model):
    """No Received header is no feature: on the corpus it marked 134 easy_ham (a collection artifact)."""
    assert b"\nReceived:" not in CLEAN and not CLEAN.startswith(b"Received:")
    feats = extract(parse(CLEAN), model.options)
    assert not [f for f in feats if f.startswith("hdr:received-count:")]
    report = check_message(CLEAN, model)
    assert report.probability == model.score_features(feats).probability
    # a delivered message judged as it is (--delivered) has the features it really has
    sent = b"Received: from mx.example.net by mail.example.org; Mon, 2 Sep 2002 10:00:00 +0000\n" + CLEAN
    sent_feats = extract(parse(sent), model.options)
    assert "hdr:received-count:1" in sent_feats
    assert check_message(sent, model, unsent=False).probability == model.score_features(sent_feats).probability


# ----------------------------------------------------------------------------
# campaign mode (issue 18, item 3): delivery features are not counted

DELIVERED = (b"Received: from mx.example.net by mail.example.org; Tue, 4 Mar 2025 09:00:05 +0000\n"
             b"Authentication-Results: mx.example.org; dkim=pass header.d=example-shop.com; spf=pass\n"
             b"Received-SPF: pass (example.org: domain of example-shop.com designates 192.0.2.1)\n" + CLEAN)


def test_check_leaves_delivery_features_out_as_model_score_unsent_does(model, monkeypatch):
    """check_message extracts with the model's unsent options: the verdict of Model.score(raw, unsent=True)."""
    import spamscore.features as features

    used = []
    real = features.extract

    def spy(pm, options, *args, **kwargs):
        used.append(options)
        return real(pm, options, *args, **kwargs)

    monkeypatch.setattr(features, "extract", spy)
    rep = check_message(DELIVERED, model, now=NOW)
    assert [o.unsent for o in used] == [True]
    full = extract(parse(DELIVERED), model.options)
    kept = extract(parse(DELIVERED), model.unsent_options)
    assert "hdr:received-count:1" in full and not [f for f in kept if f.startswith(("received:", "hdr:received"))]
    assert rep.probability == model.score_features(kept).probability == model.score(DELIVERED, unsent=True).probability
    assert not [c for c in rep.spammy + rep.hammy if c.feature.startswith(("received:", "hdr:received"))]
    assert rep.unsent and rep.to_dict()["scored_as"] == "unsent"
    used.clear()
    rep = check_message(DELIVERED, model, now=NOW, unsent=False)
    assert [o.unsent for o in used] == [False]
    assert rep.probability == model.score_features(full).probability   # --delivered: every feature counts
    assert rep.to_dict()["scored_as"] == "delivered"


def test_unsent_scores_like_the_message_without_its_delivery_headers(model):
    """A delivered copy, checked as a campaign, scores as the unsent original."""
    assert check_message(DELIVERED, model, now=NOW).probability == check_message(CLEAN, model, now=NOW).probability


def test_cli_delivered_and_mail_type(model_file, tmp_path):
    msg = tmp_path / "delivered.eml"
    msg.write_bytes(DELIVERED)
    d = json.loads(run(msg, "--model", model_file, "--format", "json").output)
    assert d["scored_as"] == "unsent" and d["scoring_note"] == UNSENT_NOTE
    d = json.loads(run(msg, "--model", model_file, "--format", "json", "--delivered").output)
    assert d["scored_as"] == "delivered" and "Received" not in d["scoring_note"].split(":")[0]
    receipt = CAMPAIGNS / "transactional-receipt.eml"
    statuses = lambda d: {f["id"]: f["status"] for f in d["findings"]}  # noqa: E731
    d = json.loads(run(receipt, "--model", model_file, "--format", "json").output)
    assert d["mail_type"] == "transactional" and statuses(d)["list-unsubscribe-post"] == NOTE
    d = json.loads(run(receipt, "--model", model_file, "--format", "json", "--bulk").output)
    assert d["mail_type"] == "bulk" and statuses(d)["list-unsubscribe-post"] == FAIL
    d = json.loads(run(CAMPAIGNS / "clean-newsletter.eml", "--model", model_file, "--format", "json",
                       "--transactional").output)
    assert d["mail_type"] == "transactional"


def test_charset_check_reads_a_bounded_number_of_boundaries():
    """The stdlib parser behind the charset check is quadratic in nesting: it sees at most 30 boundaries."""
    from spamscore.check.findings.charset import CHARSET_MAX_BOUNDARIES, _charset_input

    nested = b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (i, i) for i in range(900))
    cut = _charset_input(b"From: a@example.com\n" + nested)
    assert cut.count(b"boundary=") == CHARSET_MAX_BOUNDARIES
    assert _charset_input(CLEAN) == CLEAN  # ordinary mail is read whole
    pm = parse(nested)
    assert {f.id for f in content_findings(nested, pm, analyze(pm), now=NOW)} == set(FINDING_IDS)


@pytest.mark.parametrize("name", LEGITIMATE + ("every-problem.eml",))
def test_check_agrees_with_model_score_unsent(model, name):
    """`check` and `Model.score(raw, unsent=True)` (the library's campaign mode) give the same probability."""
    for raw in (fixture(name), DELIVERED):
        assert check_message(raw, model, now=NOW).probability == model.score(raw, unsent=True).probability
        assert check_message(raw, model, now=NOW, unsent=False).probability == model.score(raw).probability


def test_input_finding_uses_spamscore_sanity(model, monkeypatch):
    """The `input` finding lists what spamscore.sanity.input_warnings says (a stub stands in for it here)."""
    import spamscore.check.findings as check_mod

    stub = lambda raw: ["no header block", "binary content"] if raw.startswith(b"\x7fELF") else []  # noqa: E731
    monkeypatch.setattr(check_mod, "input_warnings", stub)
    f = check_message(ELF, model, now=NOW).finding("input")
    assert f.status == FAIL and "no header block; binary content" in f.message and f.basis
    assert check_message(CLEAN, model, now=NOW).finding("input").status == PASS


@pytest.mark.parametrize("host,esp", [
    ("us14.list-manage.com", "Mailchimp"), ("mcusercontent.com", "Mailchimp"), ("eepurl.mailchi.mp", "Mailchimp"),
    ("sendgrid.net", "SendGrid"), ("u123.ct.sendgrid.net", "SendGrid"),
    ("x.r.us-east-1.awstrack.me", "Amazon SES"), ("a1.amazonses.com", "Amazon SES"),
    ("t.hubspotlinks.com", "HubSpot"), ("x.hs-sites.com", "HubSpot"), ("bounce.hubspotemail.net", "HubSpot"),
    ("trk.klclick.com", "Klaviyo"), ("send.klaviyomail.com", "Klaviyo"),
    ("r.sendibt2.com", "Brevo (Sendinblue)"), ("x.sendibm1.com", "Brevo (Sendinblue)"),
    ("r.mail.brevo.com", "Brevo (Sendinblue)"),
    ("click.exacttarget.com", "Salesforce Marketing Cloud"), ("cl.s7.exct.net", "Salesforce Marketing Cloud"),
    ("link.mail.beehiiv.com", "beehiiv"), ("substack.com", "Substack"), ("substackcdn.com", "Substack"),
    ("email.mg.mailgun.org", "Mailgun"), ("pstmrk.it", "Postmark"), ("r20.rs6.net", "Constant Contact"),
    ("x.createsend1.com", "Campaign Monitor"), ("a.cmail19.com", "Campaign Monitor"), ("xyz.mjt.lu", "Mailjet"),
    ("example-shop.com", None), ("list-manage.com.evil.example", None), ("cmailer.com", None),
    ("sendibtfree.com", None), ("", None),
])
def test_esp_table(host, esp):
    from spamscore.features.esp import esp_for_host

    assert esp_for_host(host) == esp


@pytest.mark.parametrize("url,dest", [
    ("https://x.r.us-east-1.awstrack.me/L0/https:%2F%2Fwww.example.com%2Fa/1/abc=", "https://www.example.com/a/1/abc="),
    ("https://t.example/c?id=1&url=https%3A%2F%2Fshop.example%2F", "https://shop.example/"),
    ("https://us14.list-manage.com/track/click?u=abc&id=def", None),
    ("not a url", None),
])
def test_embedded_destination(url, dest):
    from spamscore.features.esp import embedded_destination

    assert embedded_destination(url) == dest
