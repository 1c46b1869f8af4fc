"""Japanese mail is judged by what it says, not by being Japanese (issue 18)."""

from __future__ import annotations

import csv
from email.mime.text import MIMEText
from pathlib import Path

import numpy as np
import pytest

from spamscore import features as F
from spamscore.features.japanese import JA_PHRASE_PRIORS, PHRASES
from spamscore.message import parse
from spamscore.model import DEFAULT_PRIORS, TokenNB

FIXTURES = Path(__file__).parent / "fixtures"
CHARSETS = ("iso-2022-jp", "shift_jis", "euc-jp", "utf-8")


def message(text: str, charset: str, subject: str = "お知らせ") -> bytes:
    m = MIMEText(text, "plain", charset)
    m["From"] = "shop@example.jp"
    m["To"] = "user@example.net"
    m["Subject"] = subject
    return m.as_bytes()


@pytest.mark.parametrize("charset", CHARSETS)
def test_every_phrase_yields_its_token_in_each_charset(charset):
    # each phrase inside ordinary text, so it is found within a longer run
    missing = []
    for phrase in PHRASES:
        raw = message(f"いつもご利用いただき{phrase}について、ご連絡いたします。", charset)
        if "ja:" + phrase not in F.extract(parse(raw)):
            missing.append(phrase)
    assert not missing, f"{charset}: {missing}"


def test_phrases_in_the_subject_count_too():
    raw = message("ご確認ください。", "iso-2022-jp", subject="【緊急】本人確認のお願い")
    fs = set(F.extract(parse(raw)))
    assert {"ja:緊急", "ja:本人確認"} <= fs


def test_no_phrase_token_from_text_without_the_phrase():
    raw = message("明日の会議は十時からです。資料を確認してください。", "utf-8")
    assert not [f for f in F.extract(parse(raw)) if f.startswith("ja:")]


def test_the_priors_are_clues_and_in_every_new_model():
    nb = TokenNB()
    for tok, (x, s) in JA_PHRASE_PRIORS.items():
        assert abs(x - 0.5) >= nb.text_min_dev, tok   # else the prior could never be a clue
        assert s > 0
        assert DEFAULT_PRIORS[tok] == (x, s)
    fitted = TokenNB().fit([["hello", "world"], ["spam", "offer"]], [0, 1])
    scorer_tokens = set(fitted._get_scorer().tokens)
    assert "ja:本人確認" in scorer_tokens and "ja:お世話になっております" in scorer_tokens


def test_real_counts_outweigh_a_phrase_prior():
    # ja:無料 is spammy a priori; counted in 30 ham and no spam it becomes a ham clue
    docs = [["ja:無料", f"h{i}"] for i in range(30)] + [[f"s{i}"] for i in range(30)]
    nb = TokenNB().fit(docs, [0] * 30 + [1] * 30)
    f = nb.token_probabilities(np.array([nb.vocabulary_["ja:無料"]]))[0]
    assert f < 0.1


def test_cjk_tokens_seen_in_a_few_spam_are_no_clue_but_phrases_are():
    # The SpamAssassin corpus has three Japanese messages, all spam: trained like that,
    # common bigrams (です, ます) must not become spam clues.
    jp = ["です", "ます", "お知", "知ら", "らせ", "ja:無料"]
    docs = [jp + [f"s{i}"] for i in range(3)] + [[f"s{i}", "offer"] for i in range(3, 40)] + \
           [[f"h{i}", "meeting"] for i in range(60)]
    y = [1] * 40 + [0] * 60
    nb = TokenNB().fit(docs, y)
    clues = set(nb._get_scorer().tokens)
    assert not {"です", "ます", "お知"} & clues
    assert "ja:無料" in clues
    # without the CJK shrinkage they would be (the behaviour this replaces)
    old = TokenNB(cjk_s=None).fit(docs, y)
    assert {"です", "ます"} <= set(old._get_scorer().tokens)


def _japanese_fixtures(label: str) -> list[Path]:
    rows = list(csv.DictReader(open(FIXTURES / "modern" / "labels.tsv"), delimiter="\t"))
    out = [FIXTURES / "modern" / r["path"] for r in rows if r["label"] == label and r["path"].startswith(f"{label}-ja/")]
    if label == "ham":
        out += [FIXTURES / "campaigns" / "japanese-utf8.eml", FIXTURES / "campaigns" / "japanese-iso2022jp.eml"]
    return out


def test_the_fixtures_cover_the_four_charsets():
    for label in ("ham", "spam"):
        charsets = set()
        for p in _japanese_fixtures(label):
            charsets.update(c for _, c in parse(p.read_bytes()).parts if c)
        assert {"iso-2022-jp", "shift_jis", "euc-jp", "utf-8"} <= charsets, (label, charsets)


_SCRIPT_CLUES = ("date:tz:", "charset:", "content-transfer-encoding:", "content-type:")


@pytest.fixture(scope="module")
def script_tokens(default_model) -> set[str]:
    """The tokens that mean "this is Japanese": CJK words of one or two characters found in at least 40% of the
    Japanese ham fixtures AND of the Japanese spam fixtures (particles, です/ます, dates...).  A token that one
    class uses and the other does not (無料, お知らせ's bigrams in a newsletter) is what the message says, not its
    script, and may count."""
    def share(label):
        counts: dict[str, int] = {}
        paths = _japanese_fixtures(label)
        for p in paths:
            for t in set(default_model.features(p.read_bytes())):
                if not t.isascii() and not t.startswith("ja:") and len(t) <= 2:
                    counts[t] = counts.get(t, 0) + 1
        return {t for t, n in counts.items() if n >= 0.4 * len(paths)}

    common = share("ham") & share("spam")
    assert {"ます", "から"} & common, common  # the definition finds the script's own words
    return common


@pytest.mark.parametrize("path", _japanese_fixtures("ham") + _japanese_fixtures("spam"), ids=lambda p: p.name)
def test_no_clue_about_time_zone_charset_encoding_or_script_decides_a_japanese_message(default_model, script_tokens,
                                                                                       path):
    raw = path.read_bytes()
    feats = default_model.features(raw)
    verdict = default_model.score_features(feats)
    script = [t for t in feats if t.startswith(_SCRIPT_CLUES) or t in script_tokens]
    # the model holds no such clue at all, or those it holds do not change the label
    rest = [t for t in feats if t not in set(script)]
    assert default_model.score_features(rest).label == verdict.label, script


@pytest.fixture(scope="module")
def receiving_model():
    """The default model as the fixtures' receiver runs it: believing its own Authentication-Results."""
    import spamscore

    return spamscore.load_model(trusted_authserv_ids=["mx.example.net"])


@pytest.mark.parametrize("path", _japanese_fixtures("ham"), ids=lambda p: p.name)
def test_japanese_ham_is_not_spam(receiving_model, path):
    assert receiving_model.score(path.read_bytes()).label != "spam"
