"""The compiled helpers and the Python code give the same features and scores, bit for bit.

One harness, run in two subprocesses: one with ``SPAMSCORE_PURE=1`` (every
compiled helper off: the Python reference code everywhere), one with the
helpers the install has.  Each computes, for the same messages, the features
of ``Model.features`` and the verdicts of ``Model.score`` (the scoring path:
body words by token hash, the dense clue table) and of ``score_features``
with the default model, floats written exactly (``float.hex``); the test
compares the two outputs record by record.

The messages: those of every equivalence test (tests/equivalence.py: every
fixture, every hostile case up to 512 KB and every 20th of the SpamAssassin
corpus' 6,046 messages when the corpus is at hand).  This replaced
training/experiments/speedups_equivalence.py (removed), which CI never ran; each
helper's own tests (test_bodyscan.py, test_mimescan.py, ...) compare it alone
on the same messages and on generated input.

Run the harness by hand: ``python tests/test_native_equivalence.py DIR OUT [MODEL]``
(DIR: a folder of messages; OUT: the JSON lines written; MODEL: a model file,
else the default model).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import equivalence as eq
except ModuleNotFoundError:  # run as a script (the two-way harness below) with PYTHONSAFEPATH=1: tests/ is not on the path
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import equivalence as eq



def _records(folder: Path, out: Path, model_path: str) -> None:
    """The harness: one JSON line per message of ``folder`` (sorted by name) into ``out``, scored
    with the model at ``model_path`` ("": the default model)."""
    import spamscore
    from spamscore import _native
    from spamscore.features import tokens

    model = spamscore.load_model(model_path or None)

    def verdict(v) -> list:
        return [v.probability.hex(), v.label, [[c.feature, float(c.weight).hex()] for c in v.clues],
                float(v.score).hex(), v.n_features]

    with open(out, "w", encoding="utf-8") as fh:
        fh.write(json.dumps({"pure": _native.PURE, "status": _native.STATUS,
                             "word_hashes": tokens._WORD_HASHES}) + "\n")
        for path in sorted(folder.iterdir()):
            raw = path.read_bytes()
            feats = model.features(raw)
            rec = {"name": path.name, "features": sorted(feats), "n": len(feats),
                   "score": verdict(model.score(raw, 15)),
                   "score_features": verdict(model.score_features(feats, 15)),
                   "unsent": verdict(model.score(raw, 15, unsent=True))}
            fh.write(json.dumps(rec, ensure_ascii=True) + "\n")


def _features(raw: bytes) -> list[str]:
    from spamscore.features import extract
    from spamscore.message import parse

    return list(extract(parse(raw)))


def _write_messages(folder: Path) -> int:
    """The messages of tests/equivalence.py as files of ``folder``; how many from the corpus."""
    for i, (name, raw) in enumerate(eq.messages()):
        (folder / f"{i:04d}-{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}").write_bytes(raw)
    return len(eq.corpus_sample())


def _model_path(folder: Path, tmp: Path) -> str:
    """"" (the default model) when it loads, else a model of the messages themselves, saved once.

    (The default model is refused after a feature change until it is
    retrained; one model for both processes keeps the row order, and so the
    order of tied clues, the same.)"""
    import spamscore

    try:
        spamscore.load_model()
        return ""
    except spamscore.SpamscoreError:
        paths = sorted(folder.iterdir())
        # "spam" in a name: the corpus' spam folders and the spam fixtures; the rest ham
        model = spamscore.train([_features(p.read_bytes()) for p in paths],
                                ["spam" if "spam" in p.name else "ham" for p in paths], folds=3)
        model.save(tmp / "model.spamscore")
        return str(tmp / "model.spamscore")


def _run(folder: Path, out: Path, pure: bool, model_path: str) -> list[dict]:
    env = {**os.environ, "SPAMSCORE_PURE": "1" if pure else "0", "PYTHONHASHSEED": "random"}
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), str(folder), str(out), model_path],
                          env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with open(out, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


@pytest.fixture(scope="module")
def both_ways(tmp_path_factory):
    folder = tmp_path_factory.mktemp("messages")
    n_corpus = _write_messages(folder)
    tmp = tmp_path_factory.mktemp("out")
    model_path = _model_path(folder, tmp)
    compiled = _run(folder, tmp / "compiled.jsonl", pure=False, model_path=model_path)
    pure = _run(folder, tmp / "pure.jsonl", pure=True, model_path=model_path)
    return compiled, pure, n_corpus


def test_the_switch_turns_every_helper_off(both_ways):
    compiled, pure, _ = both_ways
    from spamscore import _native

    assert pure[0]["pure"] is True and pure[0]["word_hashes"] is False
    assert set(pure[0]["status"]) == set(_native.NAMES)
    assert all(s == "off: SPAMSCORE_PURE=1" for s in pure[0]["status"].values())
    assert compiled[0]["pure"] is False and set(compiled[0]["status"]) == set(_native.NAMES)
    if any(s != "loaded" for s in compiled[0]["status"].values()):
        # (tests/test_hash_index.py fails an install with a compiler that lacks one)
        pytest.skip(f"not every helper is in use: {compiled[0]['status']}")
    assert compiled[0]["word_hashes"] is True


def test_features_and_scores_are_the_same_bit_for_bit(both_ways):
    compiled, pure, n_corpus = both_ways
    assert len(compiled) == len(pure) > 60
    if os.environ.get("CI") and not n_corpus:
        print("no corpus (tests/equivalence.py): fixtures and hostile cases only")
    differ = []
    for c, p in zip(compiled[1:], pure[1:]):
        assert c["name"] == p["name"]
        for key in ("features", "n", "score", "score_features", "unsent"):
            if c[key] != p[key]:
                differ.append((c["name"], key, c[key] if key != "features" else sorted(set(c[key]) ^ set(p[key]))[:8],
                               p[key] if key != "features" else None))
        # and the scoring path gives the verdict of its own features, either way
        if c["score"] != c["score_features"] or p["score"] != p["score_features"]:
            differ.append((c["name"], "score != score_features", c["score"], p["score"]))
    assert not differ, f"{len(differ)} differ of {len(compiled) - 1}; first: {differ[:3]}"
    assert sum(1 for r in compiled[1:] if r["features"]) > 60


def test_the_corpus_sample_was_compared(both_ways):
    _, _, n_corpus = both_ways
    if not n_corpus:
        pytest.skip(f"no corpus (not at $SPAMSCORE_CORPUS, /tmp/sa_corpus or {eq.TARBALL})")
    assert n_corpus >= 300


def test_the_token_hash_reference_is_siphash13():
    """With a zero key, _native.token_hash is CPython's hash() of the bytes under PYTHONHASHSEED=0
    (SipHash-1-3 since Python 3.11): the reference is the published function, not a look-alike."""
    from spamscore import _native

    if sys.hash_info.algorithm != "siphash13":
        pytest.skip(f"this Python hashes bytes with {sys.hash_info.algorithm}, not siphash13")
    samples = ["a", "free", "héllo wörld", "x" * 7, "x" * 8, "x" * 9, "€" * 11, "\udcff", "無料です"]
    code = f"[print(hash(s.encode('utf-8', 'surrogatepass'))) for s in {samples!r}]"
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": "0"},
                         capture_output=True, text=True, check=True).stdout.split()
    saved = _native._K0, _native._K1
    try:
        _native._K0 = _native._K1 = 0
        assert [_native.token_hash(s) for s in samples] == [int(x) for x in out]
    finally:
        _native._K0, _native._K1 = saved
    assert _native.token_hash("free") != int(out[1])  # the real key is not zero
    assert _native.token_hash("") != -1 and _native.token_hash("free") != _native.token_hash("free ")


def test_load_refuses_unknown_names():
    from spamscore import _native

    with pytest.raises(ValueError):
        _native.load("os")


if __name__ == "__main__":
    _records(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else "")
