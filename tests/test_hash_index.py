"""model.HashIndex: the open-addressing token table, against a dict.

Each test runs on both implementations: the compiled ``spamscore._speedups``
(when built) and the numpy reference code, and on tables built by either.
"""

import importlib
import os
import random
import shutil
import sysconfig
import types

import numpy as np
import pytest

from spamscore.model import HashIndex, native

from conftest import native_reason

IMPLS = ["numpy", "c"]


@pytest.fixture(params=IMPLS)
def impl(request, monkeypatch):
    if request.param == "c":
        if native.speedups is None:
            pytest.skip(native_reason("_speedups"))
    else:
        monkeypatch.setattr(native, "speedups", None)
    return request.param


def _truth(vocab, doc):
    d = {t: i for i, t in enumerate(vocab)}
    return sorted({d[t] for t in doc if t in d})


@pytest.mark.parametrize("n", [0, 1, 7, 1000, 50_000])
def test_lookup_equals_a_dict(impl, n):
    rng = random.Random(n)
    vocab = [f"tok{i}:{rng.random()}" for i in range(n)]
    idx = HashIndex(vocab)
    for _ in range(20):
        doc = rng.sample(vocab, min(len(vocab), rng.randint(0, 300))) + [f"unknown{rng.random()}" for _ in range(200)]
        doc += doc[: len(doc) // 3]  # duplicates
        rng.shuffle(doc)
        got = idx.lookup(doc)
        assert got.dtype == np.int64
        assert got.tolist() == _truth(vocab, doc)
        assert idx.lookup(tuple(doc)).tolist() == idx.lookup(set(doc)).tolist() == got.tolist()


def test_every_vocabulary_token_is_found_at_its_row(impl):
    vocab = [f"w{i}" for i in range(20_000)]
    idx = HashIndex(vocab)
    assert idx.lookup(vocab).tolist() == list(range(20_000))
    assert idx.lookup([]).tolist() == []
    # and the table is at most a quarter full
    assert (idx.keys != HashIndex.EMPTY).sum() == 20_000 and len(idx.keys) >= 4 * 20_000


def test_long_probe_chains_take_the_python_path(monkeypatch):
    monkeypatch.setattr(native, "speedups", None)

    class OneRound(HashIndex):
        ROUNDS = 1  # every feature whose first slot is taken goes to the fallback loop

    vocab = [f"x{i}" for i in range(5000)]
    idx = OneRound(vocab)
    doc = vocab[::3] + [f"y{i}" for i in range(5000)]
    assert idx.lookup(doc).tolist() == _truth(vocab, doc)


def test_tables_built_either_way_answer_alike(monkeypatch):
    if native.speedups is None:
        pytest.skip(native_reason("_speedups"))
    rng = random.Random(3)
    vocab = [f"v{i}{rng.random()}" for i in range(30_000)]
    c_built = HashIndex(vocab)
    with monkeypatch.context() as m:
        m.setattr(native, "speedups", None)
        np_built = HashIndex(vocab)
    doc = rng.sample(vocab, 500) + [f"no{i}" for i in range(500)]
    truth = _truth(vocab, doc)
    for idx in (c_built, np_built):
        assert idx._lookup(doc).tolist() == truth  # numpy probing
        assert np.frombuffer(native.speedups.lookup(doc, idx.keys, idx.rows), dtype=np.int64).tolist() == truth


def test_compiled_functions_reject_bad_arguments():
    sp = native.speedups
    if sp is None:
        pytest.skip(native_reason("_speedups"))
    keys = np.full(16, -1, dtype=np.int64)
    rows = np.zeros(16, dtype=np.int32)
    with pytest.raises(ValueError):
        sp.lookup(["a"], keys, rows[:8])          # lengths differ
    with pytest.raises(ValueError):
        sp.lookup(["a"], keys[:12], rows[:12])    # not a power of two
    with pytest.raises(ValueError):
        sp.lookup(["a"], keys, rows.astype(np.int64))
    with pytest.raises(TypeError):
        sp.lookup(["a", ["unhashable"]], keys, rows)
    with pytest.raises(TypeError):
        sp.lookup(42, keys, rows)
    with pytest.raises(ValueError):
        sp.build(np.arange(9, dtype=np.int64), keys, rows)  # more than half full
    with pytest.raises(ValueError):
        sp.build(np.array([-1], dtype=np.int64), keys, rows)
    with pytest.raises(ValueError):  # read-only table
        keys.flags.writeable = False
        sp.build(np.array([5], dtype=np.int64), keys, rows)


def test_the_extensions_are_built_where_a_compiler_is():
    """The benchmarks' figures are of the compiled helpers: an install with a C compiler must have built them all."""
    cc = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()[0]  # (setuptools honours $CC)
    if shutil.which(cc) is None or os.path.realpath(shutil.which(cc)) == os.path.realpath("/bin/false"):
        pytest.skip(f"no C compiler ({cc}): the Python code is used")
    header = os.path.join(sysconfig.get_paths()["include"], "Python.h")
    if not os.path.exists(header):
        pytest.skip(f"no Python headers ({header}): the Python code is used")
    from spamscore import _native

    # every helper _native knows, each a concern (a module attribute) of the native core spamscore._core,
    # and every concern of the core one of them (a concern _native does not know is never used)
    names = sorted(_native.NAMES)
    assert "_speedups" in names
    try:
        core = importlib.import_module("spamscore._core")
    except ImportError as e:
        raise AssertionError(f"setup.py did not build spamscore._core (pip install -e . again?): {e}") from None
    concerns = {"_" + k for k, v in vars(core).items() if isinstance(v, types.ModuleType)}
    assert concerns == set(names), f"the core has {sorted(concerns)}, _native knows {names}"
    # and the package uses each one: no import-time self-check turned one off
    # (the Unicode tables of _bodyscan, lxml's layout for _htmlscan, the hashed path)
    from spamscore import _native
    from spamscore.features import tokens

    if _native.PURE:
        pytest.skip("SPAMSCORE_PURE=1: the Python code is used")
    assert sorted(_native.NAMES) == names
    off = {name: _native.STATUS.get(name) for name in names if _native.load(name) is None}
    assert not off, off
    assert tokens._WORD_HASHES, "the body words do not reach the lookup by hash"


def test_compiled_lookup_is_safe_when_hash_runs_python_code():
    """A str subclass whose __hash__ empties the document while it is looked up: no crash, a fixed answer."""
    sp = native.speedups
    if sp is None:
        pytest.skip(native_reason("_speedups"))
    vocab = ["alpha", "beta", "gamma"]
    idx = HashIndex(vocab)
    doc: list = []

    class Evil(str):
        def __hash__(self):
            doc.clear()
            return str.__hash__(self)

    doc.extend([Evil("alpha"), "beta", "nothing", "gamma"])
    got = np.frombuffer(sp.lookup(doc, idx.keys, idx.rows), dtype=np.int64).tolist()
    assert got == [0, 1, 2]  # the items as they were when the lookup began


def test_compiled_build_refuses_a_full_table():
    sp = native.speedups
    if sp is None:
        pytest.skip(native_reason("_speedups"))
    keys = np.arange(16, dtype=np.int64)  # no free slot
    with pytest.raises(ValueError):
        sp.build(np.array([3], dtype=np.int64), keys, np.zeros(16, dtype=np.int32))
