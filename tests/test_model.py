import math
import zipfile

import numpy as np
import pytest
from scipy.stats import chi2

from spamscore.errors import ModelError, ModelFormatError, ModelVersionError
from spamscore.model import (TokenNB, clue_sums, fisher_logit, load_model_file, log_chi2p, log_chi2q, robinson_s,
                             save_model_file)

DOCS = [["free", "money", "now"], ["free", "prize"], ["meeting", "notes"], ["patch", "notes", "free"]]
Y = [1, 1, 0, 0]


def test_counts_are_binary_document_counts():
    nb = TokenNB().fit(DOCS + [["free", "free", "free"]], Y + [1])
    v = nb.vocabulary_
    assert (nb.n_spam_, nb.n_ham_) == (3, 2)
    assert nb.spam_counts_[v["free"]] == 3 and nb.ham_counts_[v["free"]] == 1
    assert nb.ham_counts_[v["notes"]] == 2 and nb.spam_counts_[v["notes"]] == 0


def test_robinson_probability_matches_the_formula():
    nb = TokenNB(s=1.0, x=0.5, priors={}, young=None).fit(DOCS, Y)
    f = nb.token_probabilities()[nb.vocabulary_["free"]]
    b, g = 2 / 2, 1 / 2                       # in 2 of 2 spam, 1 of 2 ham
    p = b / (b + g)
    assert f == pytest.approx((1.0 * 0.5 + 3 * p) / (1.0 + 3))
    # a young model (4 messages) shrinks harder: s + young / N
    young = TokenNB(s=1.0, x=0.5, priors={}, young=20.0).fit(DOCS, Y)
    assert young.effective_s == pytest.approx(1.0 + 20.0 / 4)
    fy = young.token_probabilities()[young.vocabulary_["free"]]
    assert fy == pytest.approx((6.0 * 0.5 + 3 * p) / (6.0 + 3))
    assert abs(fy - 0.5) < abs(f - 0.5)


def test_a_young_model_is_cautious_and_a_grown_one_is_not():
    small = TokenNB().fit([["w", "x"]] * 2 + [["h"]] * 2, [1, 1, 0, 0])
    big = TokenNB().fit([["w", "x"]] * 2000 + [["h"]] * 2000, [1] * 2000 + [0] * 2000)
    assert small.effective_s == pytest.approx(0.1 + 20 / 4)
    assert big.effective_s == pytest.approx(0.1 + 20 / 4000)
    fs = small.token_probabilities()[small.vocabulary_["w"]]
    fb = big.token_probabilities()[big.vocabulary_["w"]]
    assert 0.5 < fs < 0.8 < 0.99 < fb


def test_partial_fit_adds_and_forgets():
    full = TokenNB().fit(DOCS, Y)
    inc = TokenNB().fit(DOCS[:2], Y[:2]).partial_fit(DOCS[2:], Y[2:])
    assert {t: (full.spam_counts_[i], full.ham_counts_[i]) for t, i in full.vocabulary_.items()} == \
           {t: (inc.spam_counts_[i], inc.ham_counts_[i]) for t, i in inc.vocabulary_.items()}
    inc.partial_fit(DOCS[3:], Y[3:], sample_weight=-1)
    assert inc.n_ham_ == 1 and inc.ham_counts_[inc.vocabulary_["patch"]] == 0


@pytest.mark.parametrize("m,k", [(0.5, 1), (3.0, 4), (40.0, 30), (200.0, 150), (5.0, 60)])
def test_chi2_tails_match_scipy(m, k):
    assert math.exp(log_chi2q(m, k)) == pytest.approx(chi2.sf(2 * m, 2 * k), rel=1e-9, abs=1e-300)
    assert math.exp(log_chi2p(m, k)) == pytest.approx(chi2.cdf(2 * m, 2 * k), rel=1e-7, abs=1e-300)


def test_chi2_tail_keeps_precision_where_double_underflows():
    # Q = chi2.sf(20000, 20) underflows to 0.0 in scipy; the log stays finite and ordered
    assert log_chi2q(10000.0, 10) < log_chi2q(9000.0, 10) < 0
    assert math.isfinite(log_chi2q(10000.0, 10))


def test_fisher_logit_is_the_logit_of_spambayes_indicator():
    f = np.array([0.99, 0.95, 0.2, 0.97])
    k = len(f)
    qh = chi2.sf(-2 * np.log(f).sum(), 2 * k)
    qs = chi2.sf(-2 * np.log1p(-f).sum(), 2 * k)
    i = (1 + qh - qs) / 2
    assert fisher_logit(float(np.log(f).sum()), float(np.log1p(-f).sum()), k) == pytest.approx(math.log(i / (1 - i)), rel=1e-6)


def test_clues_of_a_spammy_document_point_to_spam():
    """A document's clues, their sums and Robinson's S of them: above 0 for spammy words, below for hammy."""
    nb = TokenNB(min_dev=0.1, young=None).fit(DOCS, Y)   # (four messages: a young model has no clues)
    tables = nb.tables()
    s = []
    for doc in (["free", "money", "prize", "unseen"], ["meeting", "notes", "patch", "unseen"]):
        toks, rows = nb.clue_indices(doc)
        assert toks and set(toks) <= set(doc) - {"unseen"} and rows.tolist() == sorted(rows.tolist())
        slf, sl1, k, *_ = clue_sums(rows, tables.log_f, tables.log_1mf, None)
        s.append(robinson_s(slf, sl1, k))
    assert s[0] > 0 > s[1]


def test_the_estimator_does_not_rank_messages():
    """One ranking of a model (issue 17): scoring.Model's calibrated statistics, not a second one here."""
    for name in ("decision_function", "predict_proba", "predict", "score"):
        assert not hasattr(TokenNB, name)


def test_labels_are_validated():
    with pytest.raises(ValueError, match="spam"):
        TokenNB().fit(DOCS, ["spam", "ham", "maybe", "ham"])
    with pytest.raises(ValueError):
        TokenNB().fit(DOCS, [1, 0])


def test_save_load_round_trip(tmp_path):
    nb = TokenNB().fit(DOCS, Y)
    path = tmp_path / "m.spamscore"
    size = save_model_file(path, nb, {"feature_version": "v"})
    assert size == path.stat().st_size
    nb2, header = load_model_file(path, "v")
    assert nb2.vocabulary_ == nb.vocabulary_
    assert np.array_equal(nb2.spam_counts_, nb.spam_counts_) and nb2.n_ham_ == nb.n_ham_
    assert list(tmp_path.iterdir()) == [path]          # no temporary file left behind


def test_feature_version_mismatch_and_garbage_are_clear_errors(tmp_path):
    path = tmp_path / "m.spamscore"
    save_model_file(path, TokenNB().fit(DOCS, Y), {"feature_version": "old"})
    with pytest.raises(ModelVersionError, match="feature version"):
        load_model_file(path, "new")
    bad = tmp_path / "bad"
    bad.write_bytes(b"not a model")
    with pytest.raises(ModelFormatError):
        load_model_file(bad, "new")
    with pytest.raises(ModelError, match="not found"):
        load_model_file(tmp_path / "missing", "new")


def test_pickled_object_arrays_are_refused(tmp_path):
    path = tmp_path / "evil.spamscore"
    np.savez(path, header=np.array([object()], dtype=object), vocabulary=np.zeros(1, np.uint8),
             spam_counts=np.zeros(1, np.int32), ham_counts=np.zeros(1, np.int32))
    with pytest.raises(ModelFormatError):
        load_model_file(str(path) + ".npz", "v")
    with zipfile.ZipFile(str(path) + ".npz") as z:
        assert "header.npy" in z.namelist()


def test_robinson_geometric_mean_indicator():
    from spamscore.model import robinson_s

    f = np.array([0.99, 0.95, 0.2, 0.97])
    p = 1 - np.prod(1 - f) ** (1 / len(f))
    q = 1 - np.prod(f) ** (1 / len(f))
    assert robinson_s(float(np.log(f).sum()), float(np.log1p(-f).sum()), len(f)) == pytest.approx((p - q) / (p + q))
    assert robinson_s(0.0, 0.0, 0) == 0.0
    hammy = np.array([0.01, 0.05])
    assert robinson_s(float(np.log(hammy).sum()), float(np.log1p(-hammy).sum()), 2) < 0


def test_training_counts_equal_fit_counts():
    from spamscore.scoring import train

    docs = [["free", "money", "w%d" % i] if i % 2 else ["notes", "patch", "w%d" % i] for i in range(20)]
    y = [i % 2 for i in range(20)]
    m = train(docs, y, folds=3)
    ref = TokenNB().fit(docs, y)
    got = {t: (m.nb.spam_counts_[i], m.nb.ham_counts_[i]) for t, i in m.nb.vocabulary_.items()}
    assert got == {t: (ref.spam_counts_[i], ref.ham_counts_[i]) for t, i in ref.vocabulary_.items()}
    assert (m.nb.n_spam_, m.nb.n_ham_) == (10, 10)


def test_default_clues_keep_a_token_seen_once_and_drop_a_nine_to_one_header_token():
    # "nine" and "hdr:nine": in 9 of 10 spam and 1 of 10 ham
    docs = [["w", "nine", "hdr:nine"] + (["once"] if i == 0 else []) for i in range(10)] + \
           [["h"] + (["nine", "hdr:nine"] if i == 0 else []) for i in range(10)]
    y = [1] * 10 + [0] * 10
    nb = TokenNB(priors={}, young=None).fit(docs, y)             # (young: see the test above)
    f = dict(zip(nb.vocabulary_, nb.token_probabilities()))
    assert f["once"] == pytest.approx((0.1 * 0.52 + 1) / 1.1)      # s = 0.1: a hapax stays a clue, weaker
    assert 0.5 + 0.375 < f["nine"] == f["hdr:nine"] < 0.5 + 0.44    # a clue at Bogofilter's min_dev
    toks, _ = nb.clue_indices(["once", "nine", "hdr:nine", "w", "h"])
    # a word counts from text_min_dev (0.2) away from 0.5, a header token from min_dev (0.44)
    assert sorted(toks) == ["h", "nine", "once", "w"]
    old = TokenNB(priors={}, text_min_dev=None, young=None).fit(docs, y)      # one threshold for all (before feature version 8)
    assert sorted(old.clue_indices(["once", "nine", "hdr:nine"])[0]) == ["once"]
    assert sorted(TokenNB(priors={}, min_dev=0.375, text_min_dev=None, young=None).fit(docs, y).clue_indices(
        ["once", "nine", "hdr:nine"])[0]) == ["hdr:nine", "nine", "once"]


def test_every_authentication_prior_is_a_clue_at_the_default_min_dev():
    """A prior closer to 0.5 than min_dev would never reach the score."""
    from spamscore.model import AUTH_PRIORS, TokenNB

    nb = TokenNB().fit([["a"], ["b"]], [1, 0])
    f = nb.token_probabilities()
    for tok in AUTH_PRIORS:
        assert abs(f[nb.vocabulary_[tok]] - 0.5) >= nb.min_dev, tok
    assert set(AUTH_PRIORS) <= set(nb._get_scorer().tokens)


def _hash_seed_worker(blob: bytes, docs) -> list:
    import pickle as _p
    return [_p.loads(blob).clue_indices(d)[0] for d in docs]


def test_a_pickled_model_scores_alike_in_a_process_with_another_hash_seed(tmp_path):
    """The scorer's table holds this process's hash() of each token: it must not travel in a pickle."""
    import os
    import pickle
    import subprocess
    import sys

    docs = [[f"w{i}", f"t{i % 7}", "free"] for i in range(60)]
    y = [i % 2 for i in range(60)]
    nb = TokenNB(min_dev=0.0).fit(docs, y)
    path = tmp_path / "m.spamscore"
    save_model_file(path, nb, {"feature_version": "t"})
    loaded, _ = load_model_file(path, "t")
    probe = [["w3", "t3", "free"], ["w10", "t4"], ["nothing"]]
    want = [loaded.clue_indices(d)[0] for d in probe]   # builds the scorer (and uses the load's hashes)
    assert any(want)
    blob = pickle.dumps(loaded)
    assert b"_scorer" not in blob and b"_hashes" not in blob
    code = ("import pickle, sys; sys.path.insert(0, %r); from tests.test_model import _hash_seed_worker; "
            "print(repr(_hash_seed_worker(sys.stdin.buffer.read(), %r)))" % (os.getcwd(), probe))
    for seed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", code], input=blob, capture_output=True, check=True,
                             env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        assert eval(out) == want


def test_a_loaded_model_builds_its_vocabulary_dict_only_when_asked(tmp_path):
    nb = TokenNB().fit(DOCS, Y)
    path = tmp_path / "m.spamscore"
    save_model_file(path, nb, {"feature_version": "t"})
    loaded, _ = load_model_file(path, "t")
    loaded.clue_rows(["free", "money"])
    assert "_vocabulary" not in loaded.__dict__          # scoring did not need it
    assert loaded.vocabulary_ == nb.vocabulary_          # and it is the same when asked for
    loaded.partial_fit([["brand", "new"]], [1])          # grows, and the scorer follows
    assert "brand" in loaded.vocabulary_ and len(loaded._token_list()) == len(nb.vocabulary_) + 2
    assert loaded._get_scorer().tokens[0] in loaded.vocabulary_
