"""Distributed training and scoring: the Dask path must give the one-process model, count for count."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest

from spamscore.batch import train_items
from spamscore.corpus import iter_index, iter_sources
from spamscore.distributed import merge_counts, plan_index, plan_sources
from spamscore.folds import FoldCounts, merge_fold_counts
from spamscore.model import TokenNB
from spamscore.scoring import Model, load_model

if os.environ.get("CI"):
    import dask.distributed  # noqa: F401  CI installs the test extra, which includes dask: never skip there
else:
    pytest.importorskip("dask.distributed")

SPAM_WORDS = "free money offer click viagra winner cash prize loan cheap pills urgent bonus casino".split()
HAM_WORDS = "meeting patch review lunch kernel build report thanks agenda release python debian draft".split()
COMMON = "the and you for with this that have from your about will".split()


def _message(rng: random.Random, n: int, spam: bool) -> bytes:
    pool = SPAM_WORDS if spam else HAM_WORDS
    words = [rng.choice(pool if rng.random() < 0.5 else COMMON) for _ in range(rng.randint(20, 80))]
    words += [f"w{rng.randint(0, 400)}" for _ in range(rng.randint(3, 15))]   # a long tail of rare tokens
    subject = " ".join(rng.choice(pool) for _ in range(3))
    sender = "promo@deals.example" if spam and rng.random() < 0.7 else f"user{n % 7}@lists.example.org"
    url = f"http://{rng.choice(['bit.ly', 'deals.example', 'docs.example.org'])}/{n}\n" if rng.random() < 0.4 else ""
    return (f"From: {sender}\nTo: me@example.org\nSubject: {subject}\nMessage-ID: <{n}@example>\n"
            f"Date: Mon, 1 Jan 2024 10:00:{n % 60:02d} +0000\n\n{' '.join(words)}\n{url}").encode()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    rng = random.Random(7)
    lines = ["path\tlabel"]
    for n in range(90):
        spam = n % 3 == 0
        sub = root / ("spam" if spam else "ham")
        sub.mkdir(exist_ok=True)
        (sub / f"{n:03d}.eml").write_bytes(_message(rng, n, spam))
        lines.append(f"{sub.name}/{n:03d}.eml\t{'spam' if spam else 'ham'}")
    index = root / "index.tsv"
    index.write_text("\n".join(lines) + "\n")
    return root, index


@pytest.fixture(scope="module")
def client():
    from dask.distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address="127.0.0.1:0", memory_limit="1GiB", silence_logs=40)
    c = Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


def _counts(model: Model) -> dict:
    nb = model.nb
    return {t: (int(nb.spam_counts_[i]), int(nb.ham_counts_[i])) for t, i in nb.vocabulary_.items()}


def _assert_same_model(a: Model, b: Model) -> None:
    assert _counts(a) == _counts(b)
    assert (a.nb.n_spam_, a.nb.n_ham_) == (b.nb.n_spam_, b.nb.n_ham_)
    assert a.calibration == b.calibration          # exact, not approximately
    assert (a.spam_cutoff, a.ham_cutoff) == (b.spam_cutoff, b.ham_cutoff)


def test_merge_counts_equals_fit_on_everything():
    rng = random.Random(1)
    docs = [[f"t{rng.randint(0, 60)}" for _ in range(rng.randint(1, 20))] for _ in range(60)]
    y = [rng.randint(0, 1) for _ in docs]
    whole = TokenNB().fit(docs, y)
    parts = []
    for lo, hi in ((0, 10), (10, 35), (35, 60)):
        nb = TokenNB().fit(docs[lo:hi], y[lo:hi])
        parts.append((nb.vocabulary_, nb.spam_counts_, nb.ham_counts_, nb.n_spam_, nb.n_ham_))
    merged = merge_counts(parts)
    as_map = lambda nb: {t: (int(nb.spam_counts_[i]), int(nb.ham_counts_[i])) for t, i in nb.vocabulary_.items()}
    assert as_map(merged) == as_map(whole)
    assert (merged.n_spam_, merged.n_ham_) == (whole.n_spam_, whole.n_ham_)
    # the same f(w) for every token, and the same clues (tokens and weights) for any document
    probabilities = lambda nb: dict(zip(nb.token_list(), nb.token_probabilities().tolist()))
    assert probabilities(merged) == probabilities(whole)

    def clues(nb, doc):
        toks, rows = nb.clue_indices(doc)
        return sorted(zip(toks, nb.tables().log_odds[rows].tolist()))

    test_docs = docs[:15]
    assert any(clues(whole, doc) for doc in test_docs)
    assert [clues(merged, doc) for doc in test_docs] == [clues(whole, doc) for doc in test_docs]


def test_merge_counts_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="expected counts"):
        merge_counts([(["a", "b"], np.array([1]), np.array([0, 1]), 1, 1)])


def test_fold_counts_merge_is_per_fold():
    a = FoldCounts({"x": 0, "y": 1}, np.array([[1, 0], [0, 2]]), np.array([[0, 1], [1, 0]]), np.array([1, 2]),
                   np.array([1, 1]))
    b = FoldCounts({"y": 0, "z": 1}, np.array([[3, 0], [0, 1]]), np.array([[0, 0], [1, 1]]), np.array([3, 1]),
                   np.array([0, 2]))
    m = merge_fold_counts(a, b)
    got = {t: (m.spam[i].tolist(), m.ham[i].tolist()) for t, i in m.vocab.items()}
    assert got == {"x": ([1, 0], [0, 1]), "y": ([3, 2], [1, 0]), "z": ([0, 1], [1, 1])}
    assert m.n_spam.tolist() == [4, 3] and m.n_ham.tolist() == [1, 3]


def test_statistics_do_not_depend_on_vocabulary_order(corpus):
    root, index = corpus
    model, _ = train_items(iter_index(index), folds=0)
    nb = model.nb
    order = list(nb.vocabulary_)
    random.Random(3).shuffle(order)
    shuffled = TokenNB()
    shuffled.vocabulary_ = {t: i for i, t in enumerate(order)}
    shuffled.spam_counts_ = np.array([nb.spam_counts_[nb.vocabulary_[t]] for t in order])
    shuffled.ham_counts_ = np.array([nb.ham_counts_[nb.vocabulary_[t]] for t in order])
    shuffled.n_spam_, shuffled.n_ham_, shuffled.classes_ = nb.n_spam_, nb.n_ham_, nb.classes_
    other = Model(shuffled)
    for path in sorted((root / "spam").iterdir())[:10]:
        feats = model.features(path.read_bytes())
        li, z, _, _ = model.statistics(feats)
        li2, z2, _, _ = other.statistics(list(reversed(feats)))
        assert (li, z) == (li2, z2)


def test_plan_sources_follows_the_reader_order(corpus):
    root, _ = corpus
    planned = [u.path for u in plan_sources([str(root / "ham"), str(root / "spam")])]
    read = [it.path for it in iter_sources([str(root / "ham"), str(root / "spam")])]
    assert planned == read and all(u.raw is None for u in plan_sources([str(root)]))


def test_relative_paths_are_opened_absolute_and_reported_as_given(corpus, monkeypatch):
    from spamscore.distributed import _items

    root, _ = corpus
    monkeypatch.chdir(root)
    units = plan_sources(["spam"], "spam")
    assert units[0].path == "spam/000.eml" and units[0].source == str(root / "spam" / "000.eml")
    monkeypatch.chdir("/")
    items = list(_items(units[:2]))
    assert [it.path for it in items] == ["spam/000.eml", "spam/003.eml"] and all(it.raw for it in items)


def test_one_process_jobs_and_dask_give_the_same_model(corpus, client):
    from spamscore.distributed import train_dask

    _, index = corpus
    one, rep1 = train_items(iter_index(index), jobs=1)
    two, _ = train_items(iter_index(index), jobs=2)
    dist, rep = train_dask(plan_index(index), client, shard_size=25)   # 4 shards over 2 workers
    assert rep.workers == 2 and rep.shards == 4 and not rep.errors
    assert (rep.spam, rep.ham) == (rep1.spam, rep1.ham) == (30, 60)
    _assert_same_model(one, two)
    _assert_same_model(one, dist)
    assert one.calibration.w_s != 0.0      # calibration really ran (5 folds)


def test_dask_reports_unreadable_messages(corpus, client, tmp_path):
    from spamscore.distributed import train_dask

    root, index = corpus
    bad = tmp_path / "index.tsv"
    bad.write_text(index.read_text() + f"{root}/missing.eml\tspam\n")
    model, rep = train_dask(plan_index(bad, root), client, folds=0)
    assert [p for p, _ in rep.errors] == [f"{root}/missing.eml"]
    assert (rep.spam, rep.ham) == (30, 60) and model.nb.n_spam_ == 30


def test_cli_train_and_score_on_a_scheduler(corpus, client, tmp_path):
    from typer.testing import CliRunner

    from spamscore.cli import app

    root, index = corpus
    out = tmp_path / "m.spamscore"
    addr = client.scheduler.address
    res = CliRunner().invoke(app, ["train", "--index", str(index), "-o", str(out), "--backend", "dask",
                                   "--scheduler", addr])
    assert res.exit_code == 0, res.output
    one, _ = train_items(iter_index(index))
    _assert_same_model(one, load_model(out))
    res = CliRunner().invoke(app, ["score", "--format", "jsonl", "--backend", "dask", "--scheduler", addr,
                                   "-m", str(out), str(root / "spam"), str(root / "nope.eml")])
    assert res.exit_code == 2           # the missing file is an error, the others are scored
    import json
    lines = [json.loads(l) for l in res.stdout.splitlines() if l.startswith("{")]
    local = load_model(out)
    files = sorted((root / "spam").iterdir())
    assert [d["path"] for d in lines] == [str(f) for f in files]
    assert [d["probability"] for d in lines] == [local.score(f.read_bytes()).probability for f in files]


def test_cli_rejects_scheduler_without_dask(corpus, tmp_path):
    from typer.testing import CliRunner

    from spamscore.cli import app

    _, index = corpus
    res = CliRunner().invoke(app, ["train", "--index", str(index), "-o", str(tmp_path / "m"),
                                   "--scheduler", "tcp://127.0.0.1:1"])
    assert res.exit_code == 2 and "--backend dask" in res.output


def test_unreachable_scheduler_is_a_clear_error():
    from spamscore.distributed import DistributedError, dask_client

    with pytest.raises(DistributedError, match="cannot reach the Dask scheduler tcp://127.0.0.1:9"):
        with dask_client("tcp://127.0.0.1:9", timeout=2):
            pass


def test_cli_backend_dask_starts_a_local_cluster(corpus, tmp_path):
    from typer.testing import CliRunner

    from spamscore.cli import app

    _, index = corpus
    out = tmp_path / "local.spamscore"
    res = CliRunner().invoke(app, ["train", "--index", str(index), "-o", str(out), "--backend", "dask",
                                   "--jobs", "2", "--folds", "3"])
    assert res.exit_code == 0, res.output
    one, _ = train_items(iter_index(index), folds=3)
    _assert_same_model(one, load_model(out))
