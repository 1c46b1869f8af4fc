"""Format 2 model files (spamscore/model/format2.py): mapped, used in place, and scoring like the .npz bit for bit.

The hostile-file cases are in tests/test_model_files.py; here: the same verdicts from both formats,
with and without the compiled helpers, nothing read at load that scoring does not need, learning,
pickling and ``spamscore convert``.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from spamscore.model import format2
from spamscore.cli import app
from spamscore.learn import learn_messages
from spamscore.model import MappedTokenNB, TokenNB, dense_table, dense_table_reference, speedups
from spamscore.scoring import Model, load_model

FIXTURES = Path(__file__).resolve().parent / "fixtures"
RAWS = sorted(FIXTURES.rglob("*.eml"))


@pytest.fixture(scope="module")
def both(default_model, tmp_path_factory):
    """The default model as format 1 and as format 2 (whichever it is shipped as)."""
    tmp = tmp_path_factory.mktemp("formats")
    v1, v2 = tmp / "default.v1.spamscore", tmp / "default.v2.spamscore"
    default_model.save(v1, format_version=1)
    default_model.save(v2)
    return v1, v2


def _verdicts(model: Model) -> list:
    out = []
    for p in RAWS:
        raw = p.read_bytes()
        v = model.score(raw, 20)
        ex, toks, weights = model.explain(model.features(raw), 20)
        out.append((repr(v.probability), repr(v.score), v.label, [(c.feature, repr(c.weight)) for c in v.clues],
                    v.n_features, repr(ex.probability), toks, weights.tolist(),
                    [repr(x) for x in model.family_evidence(model.features(raw))]))
    return out


def test_both_formats_score_alike_bit_for_bit(both):
    v1, v2 = both
    m1, m2 = Model.load(v1), Model.load(v2)
    assert isinstance(m2.nb, MappedTokenNB) and not isinstance(m1.nb, MappedTokenNB)
    assert len(RAWS) > 20
    assert _verdicts(m1) == _verdicts(m2)


def test_loading_reads_no_vocabulary(both):
    m = Model.load(both[1])
    m.score(RAWS[0].read_bytes())
    held = m.nb.__dict__
    assert "_tokens" not in held and "_vocabulary" not in held and "spam_counts_" not in held
    # asked for, they are the file's
    m1 = Model.load(both[0])
    assert m.nb.vocabulary_ == m1.nb.vocabulary_
    assert np.array_equal(m.nb.spam_counts_, m1.nb.spam_counts_) and np.array_equal(m.nb.ham_counts_, m1.nb.ham_counts_)


SCRIPT = """
import json, sys
from spamscore import _native
from spamscore.scoring import Model
m = Model.load(sys.argv[1])
out = []
for p in sys.argv[2:]:
    raw = open(p, 'rb').read()
    v = m.score(raw, 20)
    out.append([repr(v.probability), repr(v.score), [(c.feature, repr(c.weight)) for c in v.clues]])
print(json.dumps({"status": _native.STATUS, "verdicts": out}))
"""


def _score_in(pure: bool, path) -> dict:
    env = {**os.environ, "SPAMSCORE_PURE": "1" if pure else "0", "PYTHONHASHSEED": "random"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(path), *map(str, RAWS)], env=env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout)


def test_pure_and_compiled_agree_on_a_mapped_model(both):
    compiled, pure = _score_in(False, both[1]), _score_in(True, both[1])
    assert all(s.startswith("off") for s in pure["status"].values())
    if speedups is None:
        pytest.skip("no compiled helpers to compare with")
    assert compiled["verdicts"] == pure["verdicts"]


@pytest.mark.skipif(speedups is None or not hasattr(speedups, "build_dense"), reason="no compiled helpers")
def test_the_python_dense_table_is_the_compiled_one(default_model):
    from spamscore import _native

    tokens = [f"tok{i}" for i in range(3000)] + ["caf\u00e9", "\u914d\u4fe1\u505c\u6b62", "a\udc80b"]
    rng = np.random.default_rng(3)
    lf, l1 = np.log(rng.random(len(tokens))), np.log(rng.random(len(tokens)))
    table, bloom = dense_table(tokens, lf, l1)
    ref_table, ref_bloom = dense_table_reference([_native.token_hash(t) for t in tokens], lf, l1)
    assert np.array_equal(table, ref_table) and np.array_equal(bloom, ref_bloom)


def test_learn_on_a_mapped_model_writes_format_2(both, tmp_path):
    path = tmp_path / "m.spamscore"
    path.write_bytes(both[1].read_bytes())
    before = Model.load(path)
    n_spam = before.nb.n_spam_
    raw = b"Message-ID: <learn-f@x>\nSubject: cheap pills\n\nbuy cheap pills now zzqqx\n"
    res = learn_messages(path, [("m", raw, None)], spam=True)
    assert res.learned == 1
    assert path.read_bytes()[:16] == format2.MAGIC
    after = Model.load(path)
    assert after.nb.n_spam_ == n_spam + 1 and "zzqqx" in after.nb.vocabulary_
    assert len(after.nb.learned_digests_) == len(getattr(before.nb, "learned_digests_", ())) + 1
    # the same counts in memory (an ordinary TokenNB) score as the file written from them
    plain = Model(after.nb.unmapped(), calibration=after.calibration, spam_cutoff=after.spam_cutoff,
                  ham_cutoff=after.ham_cutoff, options=after.options)
    for p in RAWS[:10]:
        assert after.score(p.read_bytes()) == plain.score(p.read_bytes())


def test_a_mapped_model_pickles_as_an_ordinary_one(both):
    m = Model.load(both[1])
    clone = pickle.loads(pickle.dumps(m))
    assert type(clone.nb) is TokenNB
    for p in RAWS[:10]:
        assert clone.score(p.read_bytes()) == m.score(p.read_bytes())


def test_convert_both_ways(both, tmp_path):
    v1, _ = both
    v2, back = tmp_path / "v2.spamscore", tmp_path / "back.spamscore"
    res = CliRunner().invoke(app, ["convert", str(v1), str(v2)])
    assert res.exit_code == 0, res.output
    assert "format 2" in res.output and v2.read_bytes()[:16] == format2.MAGIC
    res = CliRunner().invoke(app, ["convert", "--format", "1", str(v2), str(back)])
    assert res.exit_code == 0, res.output
    assert back.read_bytes()[:4] == b"PK\x03\x04"
    a, b = Model.load(back), Model.load(v1)
    assert a.nb.vocabulary_ == b.nb.vocabulary_ and a.meta == b.meta
    res = CliRunner().invoke(app, ["convert", "--format", "3", str(v1), str(tmp_path / "x")])
    assert res.exit_code == 2 and "--format" in res.stderr
    res = CliRunner().invoke(app, ["convert", str(tmp_path / "missing"), str(tmp_path / "x")])
    assert res.exit_code == 2 and res.stderr.count("\n") == 1


def test_version_reads_a_mapped_header(both):
    from spamscore.cli._app import _model_header

    header = _model_header(both[1])
    assert header["format_version"] == 2 and header["n_clues"] > 100_000
    assert _model_header(both[0])["format_version"] == 1
