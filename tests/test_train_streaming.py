"""Streaming training (issue 16, item 4): counts in a table, calibration on a bounded sample.

Below the sample size the model must be the one ``scoring.train`` makes from
every message's feature list (same counts, calibration and cut-offs to the
last bit); past it, the counts are still every message's, and what is kept per
message is bounded by the sample.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import pytest

from spamscore.batch import StreamingCounts, extract_items, train_items
from spamscore.corpus import iter_index
from spamscore.folds import FoldAssigner, Reservoir
from spamscore.model import TokenNB
from spamscore.scoring import Model, calibrate, train

SPAM_WORDS = "free money offer click winner cash prize loan cheap pills urgent bonus casino".split()
HAM_WORDS = "meeting patch review lunch kernel build report thanks agenda release python debian draft".split()
COMMON = "the and you for with this that have from your about will".split()


def _message(rng: random.Random, n: int, spam: bool) -> bytes:
    pool = SPAM_WORDS if spam else HAM_WORDS
    words = [rng.choice(pool if rng.random() < 0.5 else COMMON) for _ in range(rng.randint(20, 80))]
    words += [f"w{rng.randint(0, 400)}" for _ in range(rng.randint(3, 15))]
    subject = " ".join(rng.choice(pool) for _ in range(3))
    sender = "promo@deals.example" if spam and rng.random() < 0.7 else f"user{n % 7}@lists.example.org"
    return (f"From: {sender}\nTo: me@example.org\nSubject: {subject}\nMessage-ID: <{n}@example>\n\n"
            f"{' '.join(words)}\n").encode()


@pytest.fixture(scope="module")
def index(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("stream")
    rng = random.Random(11)
    lines = []
    for n in range(120):
        spam = n % 3 == 0
        (root / f"{n:03d}.eml").write_bytes(_message(rng, n, spam))
        lines.append(f"{n:03d}.eml\t{'spam' if spam else 'ham'}")
    (root / "index.tsv").write_text("\n".join(lines) + "\n")
    return root / "index.tsv"


def _docs(index):
    docs, labels = [], []
    for item, feats in extract_items(iter_index(index)):
        docs.append(feats)
        labels.append(item.label)
    return docs, labels


def _counts(nb: TokenNB) -> dict:
    return {t: (int(nb.spam_counts_[i]), int(nb.ham_counts_[i])) for t, i in nb.vocabulary_.items()}


def _assert_same_model(a: Model, b: Model) -> None:
    assert _counts(a.nb) == _counts(b.nb)
    assert (a.nb.n_spam_, a.nb.n_ham_) == (b.nb.n_spam_, b.nb.n_ham_)
    assert a.calibration == b.calibration                       # exact, not approximately
    assert (a.spam_cutoff, a.ham_cutoff) == (b.spam_cutoff, b.ham_cutoff)


@pytest.mark.parametrize("folds", [5, 3, 0])
def test_below_the_sample_the_model_is_train_on_feature_lists(index, folds):
    docs, labels = _docs(index)
    want = train(docs, labels, folds=folds)
    got, rep = train_items(iter_index(index), folds=folds)
    _assert_same_model(got, want)
    assert (rep.spam, rep.ham) == (40, 80)
    assert "calibration_sample" not in got.meta


def test_in_small_batches_and_at_exactly_the_sample_size(index):
    docs, labels = _docs(index)
    want = train(docs, labels)
    acc = StreamingCounts(5, sample=len(docs))
    y = [1 if lab == "spam" else 0 for lab in labels]
    for i in range(0, len(docs), 7):
        acc.add(docs[i:i + 7], y[i:i + 7])
    assert not acc.streaming
    _assert_same_model(acc.model(), want)


SA = Path(os.environ.get("SA_CORPUS", "/tmp/sa_corpus"))
SA_INDEX = Path(__file__).resolve().parent.parent / "data" / "spamassassin-public.tsv"


@pytest.mark.skipif(not (SA / "spam").is_dir(), reason="the SpamAssassin corpus is not unpacked at $SA_CORPUS")
def test_sa_train_half_model_is_unchanged():
    """The SA train half (3,034 messages, below the sample): today's model, to the last bit."""
    docs, labels = [], []
    for item, feats in extract_items(iter_index(SA_INDEX, SA, "train")):
        docs.append(feats)
        labels.append(item.label)
    want = train(docs, labels)
    del docs
    got, rep = train_items(iter_index(SA_INDEX, SA, "train"))
    assert (rep.spam, rep.ham) == (945, 2089)
    from spamscore import _native

    if not _native.PURE:
        _assert_same_model(got, want)
        return
    # With the Python reference (SPAMSCORE_PURE=1) the two ways may number the vocabulary in another order (a
    # set's iteration order follows its insertion history), and a message with more than max_clues clues keeps
    # its strongest ones with ties broken by row: the same counts, a calibration equal to ~1e-9.
    assert _counts(got.nb) == _counts(want.nb)
    assert (got.nb.n_spam_, got.nb.n_ham_) == (want.nb.n_spam_, want.nb.n_ham_)
    for name, value in vars(want.calibration).items():
        assert getattr(got.calibration, name) == pytest.approx(value, rel=1e-8, abs=1e-10), name


def test_past_the_sample_counts_are_every_messages_and_calibration_uses_the_sample(index):
    docs, labels = _docs(index)
    y = np.array([1 if lab == "spam" else 0 for lab in labels])
    model, rep = train_items(iter_index(index), sample=45)
    assert _counts(model.nb) == _counts(TokenNB().fit(docs, y))
    assert (model.nb.n_spam_, model.nb.n_ham_) == (40, 80)
    assert model.meta["calibration_sample"] == 45
    # the calibration is fitted on the sample's out-of-fold statistics: recompute them
    # independently (a TokenNB fitted per fold on the documents outside it)
    slots = Reservoir(45, 0)
    kept = {}
    for i in range(len(docs)):
        s = slots.slot(i)
        if s is not None:
            kept[s] = i
    assign = FoldAssigner(5, 0)
    fold_of = np.array([assign(int(v)) for v in y])
    which = np.array([kept[s] for s in range(45)])
    assert len(set(which.tolist())) == 45 and which.max() >= 45    # a sample, not the first 45
    stats = np.zeros((45, 5))
    for k in range(5):
        out = np.flatnonzero(fold_of != k)
        m = Model(TokenNB().fit([docs[i] for i in out], y[out]))
        for j, i in enumerate(which):
            if fold_of[i] == k:
                stats[j] = m.family_evidence(docs[i])
    cal, spam_cut, ham_cut = calibrate(stats, y[which], 0.001, 0.01)
    for name in ("w_s", "w_text", "w_meta", "bias"):
        assert getattr(model.calibration, name) == pytest.approx(getattr(cal, name), rel=1e-9, abs=1e-12)
    assert (model.spam_cutoff, model.ham_cutoff) == pytest.approx((spam_cut, ham_cut), rel=1e-9)
    again, _ = train_items(iter_index(index), sample=45)
    assert again.calibration == model.calibration                     # seeded: the same sample each time


def test_what_is_kept_is_bounded_by_the_sample_and_the_vocabulary():
    """Memory grows with the vocabulary: 20,000 messages over a fixed vocabulary keep 50 rows
    and a table of at most 1.5 x the vocabulary, the same as after 2,000."""
    rng = random.Random(3)
    words = [f"w{i}" for i in range(500)]
    acc = StreamingCounts(5, sample=50)
    sizes = []
    for batch in range(80):
        docs = [rng.sample(words, rng.randint(5, 40)) for _ in range(250)]
        acc.add(docs, [rng.randint(0, 1) for _ in docs])
        if batch in (7, 79):
            acc.counts()
            sizes.append((len(acc.rows), acc.table.capacity, sum(r.nbytes for r in acc.rows) <= 50 * 40 * 4))
    assert acc.n == 20_000 and acc.streaming
    assert sizes[0][0] == sizes[1][0] == 50 and sizes[0][2] and sizes[1][2]
    assert sizes[0][1] == sizes[1][1] <= 1.5 * len(acc.vocab)
    c = acc.counts()
    assert int(c.n_spam.sum() + c.n_ham.sum()) == 20_000
    assert int(c.spam.sum() + c.ham.sum()) > 20_000 * 5


def test_folds_are_stratified_and_seeded():
    y = [1] * 37 + [0] * 63
    random.Random(2).shuffle(y)
    a = FoldAssigner(5, 0)
    folds = np.array([a(v) for v in y])
    y = np.array(y)
    for c in (0, 1):
        per = np.bincount(folds[y == c], minlength=5)
        assert per.max() - per.min() <= 1
    b = FoldAssigner(5, 0)
    assert [b(v) for v in y.tolist()] == folds.tolist()
    c = FoldAssigner(5, 1)
    assert [c(v) for v in y.tolist()] != folds.tolist()


def test_reservoir_is_uniform_enough_and_depends_only_on_the_seed():
    hits = np.zeros(1000)
    for seed in range(200):
        r = Reservoir(100, seed)
        kept = [None] * 100
        for i in range(1000):
            s = r.slot(i)
            if s is not None:
                kept[s] = i
        hits[kept] += 1
    # each message is kept with probability 0.1: 20 of 200 runs; the first and last tenth alike
    assert 15 < hits[:100].mean() < 25 and 15 < hits[-100:].mean() < 25


def test_batches_must_match_their_labels():
    with pytest.raises(ValueError, match="expected 2 labels"):
        StreamingCounts().add([["a"], ["b"]], [1])


def test_dask_past_the_sample_gives_the_one_process_model(index):
    """The Dask client assigns the same stream folds and picks the same sample: the same model."""
    pytest.importorskip("dask.distributed")
    from dask.distributed import Client, LocalCluster

    from spamscore.distributed import plan_index, train_dask

    one, _ = train_items(iter_index(index), sample=45)
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address="127.0.0.1:0", memory_limit="1GiB", silence_logs=40)
    try:
        with Client(cluster) as client:
            two, rep = train_dask(plan_index(index), client, sample=45, shard_size=25)
    finally:
        cluster.close()
    assert rep.shards > 1
    _assert_same_model(one, two)
    assert two.meta["calibration_sample"] == 45


@pytest.mark.parametrize("sample", [45, 1000])
def test_two_jobs_count_what_one_job_counts(index, sample):
    """With --jobs 2 each worker sends the tokens it has not sent before and per-message rows of its own."""
    one, _ = train_items(iter_index(index), sample=sample)
    two, rep = train_items(iter_index(index), sample=sample, jobs=2)
    _assert_same_model(one, two)
    assert (rep.spam, rep.ham) == (40, 80)


def test_chunks_with_newline_tokens_leave_them_out():
    acc = StreamingCounts(0, sample=10)
    tokens = ["a", "b\nc", "d"]
    acc.add_chunk(tokens, np.array([3, 1]), np.array([0, 1, 2, 1]), [1, 0])
    c = acc.counts()
    assert "b\nc" not in acc.vocab
    assert [r.tolist() for r in acc.rows] == [[acc.vocab["a"], acc.vocab["d"]], []]
    assert int(c.spam.sum()) == 2 and int(c.ham.sum()) == 0 and (int(c.n_spam.sum()), int(c.n_ham.sum())) == (1, 1)


def test_worker_tokens_cross_once_and_map_like_plain_lists():
    """A worker's ChunkTokens carry only the tokens it had not met: a later chunk's rows refer to earlier
    chunks' tokens, and the counts equal those of the same messages as plain token lists."""
    from spamscore.batch import ChunkTokens

    plain = StreamingCounts(0, sample=10)
    plain.add([["a", "b"], ["b", "c"], ["c", "a", "d"]], [1, 0, 1])
    inc = StreamingCounts(0, sample=10)
    first = ChunkTokens("w1:run", 0, ["a", "b"])
    second = ChunkTokens("w1:run", 2, ["c"])
    other = ChunkTokens("w2:run", 0, ["c", "a", "d"])
    inc.add_chunk(first, np.array([2]), np.array([0, 1]), [1])
    inc.add_chunk(second, np.array([2]), np.array([1, 2]), [0])
    inc.add_chunk(other, np.array([3]), np.array([0, 1, 2]), [1])
    assert list(inc.vocab)[-4:] == ["a", "b", "c", "d"]   # first seen first, across chunks and workers
    a, b = plain.counts(), inc.counts()

    def per_token(c, vocab):
        return {t: (int(c.spam[i].sum()), int(c.ham[i].sum())) for t, i in vocab.items()}

    assert per_token(a, plain.vocab) == per_token(b, inc.vocab)
    assert per_token(b, inc.vocab)["c"] == (1, 1)
    with pytest.raises(ValueError, match="expected 3"):   # a chunk out of its worker's order
        inc.add_chunk(ChunkTokens("w1:run", 7, ["e"]), np.array([1]), np.array([0]), [0])
    with pytest.raises(ValueError, match="expected 2 rows"):   # lens and rows that disagree
        inc.add_chunk(ChunkTokens("w1:run", 3, []), np.array([1, 1]), np.array([0]), [0, 1])


@pytest.mark.parametrize("jobs", [1, 2])
def test_an_unlabelled_item_is_a_corpus_error(jobs):
    from spamscore.corpus import Item
    from spamscore.errors import CorpusError

    raw = _message(random.Random(1), 1, False)
    items = [Item(f"{n}.eml", raw, "spam") for n in range(300)] + [Item("b.eml", raw, None)]
    with pytest.raises(CorpusError, match="b.eml: expected the label"):
        train_items(items, jobs=jobs)


def test_a_workers_chunk_marks_unreadable_messages_and_leaves_out_newline_tokens():
    """_chunk_rows gives one (tokens, lens, rows) per chunk: -1 for a message that could not be read, and
    each readable one's distinct features as the worker's rows, one message after the other."""
    from spamscore import batch
    from spamscore.batch import _chunk_rows
    from spamscore.vocabulary import without_dropped as _without_dropped
    from spamscore.features import FeatureOptions, extract
    from spamscore.message import DEFAULT_LIMITS, parse

    raws = [_message(random.Random(i), i, i % 2 == 0) for i in range(3)]
    batch._RUN.clear()
    tokens, lens, rows, expanded = _chunk_rows([raws[0], None, raws[1]], FeatureOptions(), DEFAULT_LIMITS, "t")
    assert expanded is None
    assert lens[1] == -1 and lens.dtype == np.int32 and rows.dtype == np.int32
    feats = [set(extract(parse(r, DEFAULT_LIMITS), FeatureOptions())) for r in raws[:2]]
    assert [int(lens[0]), int(lens[2])] == [len(f) for f in feats]
    assert tokens.start == 0 and len(tokens.new) == len(feats[0] | feats[1])
    first = set(tokens.new[r] for r in rows[: lens[0]].tolist())
    assert first == feats[0] and set(tokens.new[r] for r in rows[lens[0]:].tolist()) == feats[1]
    again, lens2, rows2, _ = _chunk_rows([raws[0]], FeatureOptions(), DEFAULT_LIMITS, "t")   # known: nothing new
    assert again.start == len(tokens.new) and again.new == [] and sorted(rows2.tolist()) == sorted(rows[: lens[0]].tolist())
    batch._RUN.clear()

    kept, kept_lens = _without_dropped(np.array([4, -1, 5, -1, -1, 6]), np.array([2, 1, 3]))
    assert kept.tolist() == [4, 5, 6] and kept_lens.tolist() == [1, 1, 1]


def test_the_calibration_fit_in_a_child_is_the_fit_in_process():
    from spamscore._fit import FitProcess, fit_logistic

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = (X @ np.array([1.0, -2.0, 0.5]) + rng.normal(size=300) > 0).astype(int)
    want = fit_logistic(X, y)
    with FitProcess() as fp:
        got = fp.fit_logistic(X, y)
        assert fp._pool is not None
    assert fp._pool is None
    assert got[0].tolist() == want[0].tolist() and got[1] == want[1]


def test_a_calibration_child_that_dies_leaves_the_fit_to_this_process():
    import os
    import signal

    from spamscore._fit import FitProcess, fit_logistic

    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    y = np.array([0, 0, 1, 1])
    with FitProcess() as fp:
        fp._ready.result(timeout=120)
        for pid in list(fp._pool._processes):
            os.kill(pid, signal.SIGKILL)
        got = fp.fit_logistic(X, y)
        assert fp._pool is None   # given up, not retried for every fit
    assert got[0].tolist() == fit_logistic(X, y)[0].tolist()


def test_a_script_without_a_main_guard_trains_with_two_jobs_past_the_sample(index, tmp_path):
    """The calibration's child (past the sample, with --jobs 2) must not run the caller's main script again,
    as a child of multiprocessing's spawn does when the script has no ``if __name__ == "__main__"``."""
    import subprocess
    import sys

    script = tmp_path / "train_it.py"
    script.write_text(
        "print('script body ran', flush=True)\n"
        "import sys\n"
        "from spamscore.batch import train_items\n"
        "from spamscore.corpus import iter_index\n"
        "model, rep = train_items(iter_index(sys.argv[1]), jobs=2, sample=45)\n"
        "print('trained', rep.spam, rep.ham, model.meta['calibration_sample'], flush=True)\n")
    out = subprocess.run([sys.executable, str(script), str(index)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.splitlines() == ["script body ran", "trained 40 80 45"]


def test_deferred_items_are_read_by_the_workers_with_every_message_and_error(tmp_path):
    """iter_entries(defer=True) leaves the reading to the process that extracts: a worker reads each source
    (an mbox gives its messages, a missing file one unreadable item) and the parent counts the same
    messages, in the same order, as when it reads them itself."""
    from spamscore import batch
    from spamscore.batch import _chunk_rows
    from spamscore.corpus import iter_entries, read_deferred
    from spamscore.features import FeatureOptions
    from spamscore.message import DEFAULT_LIMITS

    rng = random.Random(5)
    entries = []
    for n in range(60):
        p = tmp_path / f"{n:02d}.eml"
        p.write_bytes(_message(rng, n, n % 3 == 0))
        entries.append((str(p), "spam" if n % 3 == 0 else "ham"))
    box = tmp_path / "box.mbox"
    box.write_bytes(b"".join(b"From sender@example Mon Jan  1 00:00:00 2001\n" + _message(rng, 100 + i, True) + b"\n"
                             for i in range(3)))
    entries[10:10] = [(str(box), "spam"), (str(tmp_path / "missing.eml"), "ham")]

    read = list(iter_entries(entries))
    deferred = list(iter_entries(entries, defer=True))
    assert all(it.deferred and it.raw is None for it in deferred) and len(deferred) == len(entries)
    assert [(it.path, it.raw, it.label, it.error) for it in read_deferred(deferred)] == \
        [(it.path, it.raw, it.label, it.error) for it in read]
    assert len(read) == len(entries) + 2 and read[13].error   # the mbox's 3 messages, then the missing file

    batch._RUN.clear()
    _, lens, _, expanded = _chunk_rows([str(box), read[0].raw, str(tmp_path / "missing.eml")], FeatureOptions(),
                                       DEFAULT_LIMITS, "d")
    batch._RUN.clear()
    assert [len(e) if e else e for e in expanded] == [3, None, 1]
    assert [p for p, _ in expanded[0]] == [f"{box}#{i}" for i in range(3)] and expanded[2][0][1] == read[13].error
    batch._RUN.clear()
    _, lens3, rows3, expanded3 = _chunk_rows([entries[0][0], read[1].raw, entries[2][0]], FeatureOptions(),
                                             DEFAULT_LIMITS, "e")   # readable files: nothing to say
    batch._RUN.clear()
    assert expanded3 is None and len(lens3) == 3 and min(lens3.tolist()) > 0 and len(rows3) == sum(lens3.tolist())
    assert lens.tolist()[4] == -1 and min(lens.tolist()[:4]) > 0

    for jobs in (1, 2):
        one, rep1 = train_items(iter(read), sample=45, jobs=jobs)
        two, rep2 = train_items(iter(deferred), sample=45, jobs=jobs)
        _assert_same_model(one, two)
        assert (rep1.spam, rep1.ham, rep1.errors) == (rep2.spam, rep2.ham, rep2.errors) == (23, 40, [(read[13].path, read[13].error)])


def _pids(payloads):
    return [os.getpid()] * len(payloads)


def _gc_settings(payloads):
    import gc

    return [(gc.get_threshold(), gc.get_freeze_count() > 0)] * len(payloads)


def test_training_workers_collect_cycles_less_often_than_the_caller():
    """A training worker freezes its imports' objects and raises the collector's threshold (batch._worker_start);
    the calling process keeps its own settings."""
    import gc

    from spamscore.batch import _pool_chunks
    from spamscore.corpus import Item

    before = gc.get_threshold()
    got = {r for _, res in _pool_chunks(_gc_settings, iter([[Item("a", b"x")]] * 4), 2) for r in res}
    assert got == {((10_000, 50, 50), True)}
    assert gc.get_threshold() == before


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads /proc to see the workers end")
@pytest.mark.parametrize("early", [False, True])
def test_training_workers_end_with_their_chunks(early):
    """Training's worker processes are its own (not joblib's shared ones) and end as soon as the chunks are
    done, or at once when the caller stops early; results come in order."""
    import time

    from spamscore.batch import _pool_chunks
    from spamscore.corpus import Item

    chunks = [[Item(f"{c}.{i}", b"x", "ham") for i in range(3)] for c in range(12)]
    seen, pids = [], set()
    gen = _pool_chunks(_pids, iter(chunks), 2)
    for chunk, result in gen:
        seen.append(chunk)
        pids.update(result)
        assert len(result) == len(chunk)
        if early and len(seen) == 3:
            gen.close()
            break
    assert seen == chunks[: len(seen)] and len(seen) == (3 if early else 12)
    assert pids and os.getpid() not in pids
    deadline = time.monotonic() + 60
    while any(_running(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_running(p) for p in pids)


@pytest.mark.skipif(not hasattr(os, "nice"), reason="no process priorities here")
def test_the_calibration_child_imports_at_a_lower_priority():
    from spamscore._fit import FitProcess

    with FitProcess() as fp:
        fp._ready.result(timeout=120)
        assert fp._pool.submit(os.nice, 0).result(timeout=60) == os.nice(0) + 10
