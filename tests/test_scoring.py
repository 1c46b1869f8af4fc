import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import spamscore
from spamscore.scoring import Model

from conftest import fixture_bytes, make_message


def test_spam_scores_above_ham_with_signed_clues(small_model):
    import random

    rng = random.Random(7)
    spam = small_model.score(make_message(rng, True, 999))
    ham = small_model.score(make_message(rng, False, 998))
    assert spam.probability > 0.5 > ham.probability
    assert spam.label == "spam" and ham.label == "ham"
    assert spam.clues and all(c.weight != 0 for c in spam.clues)
    assert max(c.weight for c in spam.clues) > 0 and min(c.weight for c in ham.clues) < 0
    assert 0.0 <= spam.probability <= 1.0


def test_cutoffs_are_stored_and_ordered(small_model, small_model_path):
    again = Model.load(small_model_path)
    assert 0 < again.ham_cutoff <= again.spam_cutoff < 1
    assert (again.ham_cutoff, again.spam_cutoff) == (small_model.ham_cutoff, small_model.spam_cutoff)


def test_score_rejects_non_bytes(small_model):
    with pytest.raises(spamscore.InputError, match="bytes"):
        small_model.score("a str")


def test_score_many_keeps_order(small_model):
    raws = [fixture_bytes(n) for n in ("plain_ham.eml", "multipart_spam.eml", "broken_mime.eml")]
    assert [v.probability for v in small_model.score_many(raws)] == [small_model.score(r).probability for r in raws]


def test_thread_safe_scoring_gives_identical_results(small_model_path):
    model = spamscore.load_model(small_model_path)      # fresh: lookup tables built lazily, under a lock
    raws = [fixture_bytes(n) for n in ("plain_ham.eml", "multipart_spam.eml", "japanese_sjis.eml", "html_images.eml")] * 25
    with ThreadPoolExecutor(8) as pool:
        parallel = list(pool.map(lambda r: model.score(r).probability, raws))
    assert parallel == [model.score(r).probability for r in raws]


def test_default_model_loads_and_separates_fixtures(default_model):
    spam = default_model.score(fixture_bytes("multipart_spam.eml"))
    ham = default_model.score(fixture_bytes("plain_ham.eml"))
    assert spam.probability > ham.probability
    assert spam.label in ("spam", "unsure")


def test_authentication_priors_reach_the_score(default_model):
    raw = fixture_bytes("forged_auth.eml")
    trusted = spamscore.load_model(default_model.path, trusted_authserv_ids=["mx.receiver.example"])
    v_trusted, v_plain = trusted.score(raw), default_model.score(raw)
    assert v_trusted.score > v_plain.score
    assert any(c.feature == "auth:dmarc=fail" and c.weight > 0 for c in v_trusted.clues)


def test_module_level_score_uses_default_model():
    v = spamscore.score(fixture_bytes("plain_ham.eml"))
    assert v.label in ("ham", "unsure", "spam") and 0 <= v.probability <= 1


# -- family-wise combining (text clues vs header/URL/structure clues) -----------

def test_feature_families_follow_the_extractor():
    from spamscore.features import analyze, extract
    from spamscore.features.auth import auth_features
    from spamscore.features.html import html_features
    from spamscore.features.tokens import header_tokens, subject_tokens
    from spamscore.features.urls import url_features
    from spamscore.message import parse
    from spamscore.scoring import is_meta

    from conftest import FIXTURES

    n_meta = 0
    for path in sorted(FIXTURES.glob("*.eml")):
        pm = parse(path.read_bytes())
        a = analyze(pm)
        meta = (header_tokens(pm.headers) + url_features(a.urls, a.html.links) + html_features(a.html, len(a.plain_text))
                + auth_features(pm.headers, frozenset({"mx.receiver.example"}))
                + [t for t in extract(pm) if t.startswith(("part:", "charset:", "attach:", "defect:", "msg:"))])
        assert [t for t in meta if not is_meta(t)] == []
        n_meta += len(meta)
        assert not any(map(is_meta, subject_tokens(pm.subject)))
        assert not any(is_meta(t) for t in extract(pm) if ":" not in t)
    assert n_meta > 100
    assert not is_meta("hdr") and not is_meta("body:caps:3") and not is_meta("skip:h 40") and not is_meta("11:15")


def test_family_statistics_shrink_a_lone_clue_towards_zero():
    from spamscore.model import robinson_s
    from spamscore.scoring import family_statistics

    assert family_statistics([], np.zeros(0)) == (0.0, 0.0)
    lo = np.log(0.99 / 0.01)
    text, meta = family_statistics(["received:spam.example"], np.array([lo]), pseudo_clues=0.0)
    assert text == 0.0 and meta == pytest.approx(robinson_s(math.log(0.99), math.log(0.01), 1)) and meta > 0.9
    text, meta = family_statistics(["received:spam.example"], np.array([lo]), pseudo_clues=10.0)
    assert text == 0.0 and 0 < meta < 0.2
    # with pseudo-clues, S is the geometric-mean S of the clues plus 10 clues at f = 0.5
    f = np.array([0.99, 0.02, 0.97])
    toks = ["cash", "meeting", "url:bit.ly"]
    text, meta = family_statistics(toks, np.log(f / (1 - f)), pseudo_clues=10.0)
    ln_half = 10 * math.log(0.5)
    assert text == pytest.approx(robinson_s(math.log(0.99 * 0.02) + ln_half, math.log(0.01 * 0.98) + ln_half, 12))
    assert meta == pytest.approx(robinson_s(math.log(0.97) + ln_half, math.log(0.03) + ln_half, 11))


def test_scores_use_the_family_weights(small_model):
    import dataclasses
    import random

    from spamscore.scoring import Calibration

    raw = make_message(random.Random(3), True, 77)
    feats = small_model.features(raw)
    li, z, s, s_text, s_meta = small_model.family_evidence(feats)
    assert (li, z, s) == small_model.evidence(feats)
    assert s_text > 0 and s_meta > 0
    only_meta = Model(small_model.nb, calibration=Calibration(w_logit=0.0, w_z=0.0, w_meta=2.0, bias=-0.5))
    assert only_meta.score(raw).score == pytest.approx(2.0 * s_meta - 0.5)
    shrunk = dataclasses.replace(only_meta.calibration, family_clues=100.0)
    assert abs(Model(small_model.nb, calibration=shrunk).score(raw).score + 0.5) < abs(2.0 * s_meta)


def test_training_calibrates_on_the_families_and_the_model_file_keeps_them(small_model, small_model_path):
    cal = small_model.calibration
    assert cal.w_s != 0 and cal.w_text != 0 and cal.w_meta != 0 and cal.w_logit == cal.w_z == 0
    again = Model.load(small_model_path)
    assert again.calibration == cal
    raw = make_message(__import__("random").Random(5), True, 55)
    assert again.score(raw).probability == small_model.score(raw).probability


def test_calibrate_on_three_statistics_uses_s_only():
    from spamscore.scoring import calibrate

    rng = np.random.default_rng(0)
    y = np.array([1] * 50 + [0] * 100)
    stats = rng.normal(size=(150, 5)) + y[:, None]
    three, _, _ = calibrate(stats[:, :3], y)
    five, _, _ = calibrate(stats, y)
    assert three.w_s > 0 and three.w_text == three.w_meta == 0
    assert five.w_s > 0 and five.w_text > 0 and five.w_meta > 0


def test_a_model_file_from_before_the_families_scores_as_before(small_model, tmp_path):
    import random

    from spamscore.model import save_model_file

    old_cal = {"w_logit": 0.0, "w_z": 0.0, "bias": 0.3, "w_s": 4.0}
    path = tmp_path / "old.spamscore"
    save_model_file(path, small_model.nb, {"feature_version": small_model.meta.get("feature_version", "6"),
                                           "calibration": old_cal, "spam_cutoff": 0.9, "ham_cutoff": 0.2,
                                           "ignored_headers": list(small_model.options.ignored_headers)})
    old = Model.load(path)
    assert not old.calibration.uses_families
    raw = make_message(random.Random(9), False, 12)
    assert old.score(raw).score == pytest.approx(4.0 * old.evidence(old.features(raw))[2] + 0.3)


def test_cross_validated_statistics_equal_fold_models_scoring_the_held_out_documents():
    """cv_statistics computes from vocabulary rows what Model(fold counts).family_evidence gives."""
    import random

    from spamscore._fit import stratified_folds
    from spamscore.folds import cv_statistics
    from spamscore.model import TokenNB
    from spamscore.scoring import Model

    rng = random.Random(5)
    words = [f"w{i}" for i in range(300)] + [f"hdr:h{i}" for i in range(60)] + [f"url:d{i}.example" for i in range(40)]
    docs, y = [], []
    for n in range(240):
        spam = n % 3 == 0
        pool = words[: 250] if spam else words[100:]
        docs.append(rng.sample(pool, rng.randint(5, 60)) + (["free", "hdr:x-spam-tool"] if spam else ["meeting"]))
        y.append(int(spam))
    y = np.array(y)
    stats, final = cv_statistics(docs, y, {}, 5, 0)
    assert stats.shape == (240, 5) and np.abs(stats[:, 3:]).sum() > 0
    for held in stratified_folds(y, 5, 0):
        train = np.setdiff1d(np.arange(240), held)
        m = Model(TokenNB().fit([docs[i] for i in train], y[train]))
        for i in held:
            np.testing.assert_allclose(stats[i], m.family_evidence(docs[i]), rtol=1e-12, atol=1e-12)
    assert final.n_spam_ == 80 and final.n_ham_ == 160


# -- scikit-learn's estimator interface: one ranking, the shipped score ----------

ESTIMATOR_FIXTURES = ("plain_ham.eml", "multipart_spam.eml", "html_images.eml", "japanese_sjis.eml", "forged_auth.eml")


@pytest.mark.parametrize("which", ["small", "default"])
def test_estimator_interface_gives_the_shipped_score(which, small_model, default_model):
    import random

    model = small_model if which == "small" else default_model
    rng = random.Random(11)
    raws = [make_message(rng, n % 2 == 0, 500 + n) for n in range(10)] + [fixture_bytes(n) for n in ESTIMATOR_FIXTURES]
    verdicts = [model.score(r) for r in raws]
    proba = model.predict_proba(raws)
    assert proba.shape == (len(raws), 2) and proba.dtype == np.float64
    assert proba[:, 1].tolist() == [v.probability for v in verdicts]       # exactly, not approximately
    assert proba[:, 0].tolist() == [1.0 - v.probability for v in verdicts]
    dec = model.decision_function(raws)
    assert dec.tolist() == [v.score for v in verdicts]
    assert np.allclose(1 / (1 + np.exp(-dec)), proba[:, 1], rtol=1e-12, atol=1e-15)  # P is the logistic of it
    # decision_function orders the messages as the probability does (strictly where the probabilities differ)
    for i in range(len(raws)):
        for j in range(len(raws)):
            if proba[i, 1] < proba[j, 1]:
                assert dec[i] < dec[j], (i, j)
    assert model.predict(raws).tolist() == [int(v.label == "spam") for v in verdicts]
    assert list(model.classes_) == [0, 1]


def test_estimator_interface_takes_feature_lists_as_score_features_does(small_model):
    import random

    rng = random.Random(12)
    raws = [make_message(rng, n % 3 == 0, 700 + n) for n in range(9)]
    feats = [small_model.features(r) for r in raws]
    want = [small_model.score_features(f).probability for f in feats]
    assert small_model.predict_proba(feats)[:, 1].tolist() == want
    assert small_model.predict_proba(tuple(set(f) for f in feats))[:, 1].tolist() == want   # any iterable of str
    assert small_model.decision_function(feats).tolist() == small_model.decision_function(raws).tolist()
    labels = small_model.predict(feats)
    assert labels.tolist() == [1 if n % 3 == 0 else 0 for n in range(9)]          # spam is predicted spam
    with pytest.raises(spamscore.InputError, match="got str"):
        small_model.predict_proba(["subject:free"])
