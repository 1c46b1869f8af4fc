from concurrent.futures import ThreadPoolExecutor

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
