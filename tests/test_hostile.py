"""Hostile and malformed mail never crashes, never hangs, and stays in bounded memory.

Every case of tests/hostile.py goes through each entry point: ``message.parse``,
``features.extract``, ``Model.score`` and the CLI ``score`` command.  Each call
runs under a generous watchdog (30 s, against well under a second measured:
see benchmarks/results/hostile_limits.md) that catches true hangs without
being a timed assertion.
"""

from __future__ import annotations

import gc
import json
import os
import sys
import tracemalloc

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from hostile import CASE_NAMES, HUGE, make_case, watchdog  # noqa: E402

from spamscore import Verdict  # noqa: E402
from spamscore.errors import SpamscoreError  # noqa: E402
from spamscore.features import FeatureOptions, extract  # noqa: E402
from spamscore.message import Limits, ParsedMessage, parse  # noqa: E402
from spamscore.scoring import train  # noqa: E402

WATCHDOG_S = 30.0
LIMITS = Limits()


def _training_mail() -> tuple[list[bytes], list[str]]:
    spam_words = ["free", "money", "viagra", "winner", "click", "offer", "cash", "prize", "casino", "loan"]
    ham_words = ["meeting", "report", "patch", "review", "lunch", "agenda", "draft", "build", "release", "notes"]
    raws, labels = [], []
    for i in range(24):
        for label, vocab in (("spam", spam_words), ("ham", ham_words)):
            body = " ".join(vocab[(i + k) % len(vocab)] for k in range(6))
            html = (f"Content-Type: text/html\r\n\r\n<p>{body} <a href='http://{label}{i % 3}.example.com/'>x</a>"
                    f"<img src='http://img.example/{i}.png'></p>") if label == "spam" and i % 2 else \
                   f"Content-Type: text/plain\r\n\r\n{body} http://{label}.example.org/{i}\r\n"
            raws.append((f"From: {label}{i}@{label}.example\r\nTo: u@example.org\r\n"
                         f"Subject: {vocab[i % len(vocab)]} {i}\r\n{html}").encode())
            labels.append(label)
    return raws, labels


@pytest.fixture(scope="module")
def model():
    raws, labels = _training_mail()
    return train([extract(parse(r)) for r in raws], labels, folds=3)


@pytest.fixture(scope="module")
def model_path(model, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "hostile.spamscore"
    model.save(path)
    return path


def _check_parsed(pm: ParsedMessage, raw: bytes) -> None:
    assert isinstance(pm, ParsedMessage)
    assert pm.size == len(raw)
    assert pm.truncated == (len(raw) > LIMITS.max_bytes)
    assert len(pm.headers) <= LIMITS.max_headers
    assert len(pm.parts) <= LIMITS.max_parts
    for chunk in pm.text + pm.html:
        assert isinstance(chunk, str)
        # decoded text of one part is bounded by the part limit (one char per byte at most)
        assert len(chunk) <= LIMITS.max_bytes
    for name, value in pm.headers:
        assert isinstance(name, str) and isinstance(value, str)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_parse_and_extract(name):
    raw = make_case(name)
    pm = watchdog(lambda: parse(raw), WATCHDOG_S)
    _check_parsed(pm, raw)
    feats = watchdog(lambda: extract(pm), WATCHDOG_S)
    assert isinstance(feats, list) and feats
    assert all(isinstance(f, str) for f in feats)
    assert len(set(feats)) == len(feats)
    # every message yields its size bucket: proof the whole pipeline ran to the end
    assert any(f.startswith("msg:size:") for f in feats)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_model_score(model, name):
    raw = make_case(name)
    verdict = watchdog(lambda: model.score(raw), WATCHDOG_S)
    assert isinstance(verdict, Verdict)
    assert verdict.label in ("ham", "unsure", "spam")
    assert 0.0 <= verdict.probability <= 1.0
    assert verdict.n_features > 0
    # bytearray and memoryview are accepted the same way
    assert model.score(bytearray(raw[:5000])).label in ("ham", "unsure", "spam")


@pytest.mark.parametrize("bad", ["a str", None, 42, ["list"]])
def test_model_score_refuses_non_bytes_with_clear_error(model, bad):
    with pytest.raises(SpamscoreError, match="expected the raw message as bytes"):
        model.score(bad)


@pytest.mark.parametrize("name", [n for n in CASE_NAMES if n not in HUGE] + ["message-50mb"])
def test_cli_score(model_path, tmp_path, name):
    from typer.testing import CliRunner

    from spamscore.cli import app

    msg = tmp_path / f"{name}.eml"
    msg.write_bytes(make_case(name))
    runner = CliRunner()
    result = watchdog(lambda: runner.invoke(app, ["score", "--model", str(model_path), "--format", "jsonl", str(msg)]),
                      WATCHDOG_S)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    assert len(lines) >= 1
    for d in lines:
        assert d["label"] in ("ham", "unsure", "spam")
        assert 0.0 <= d["probability"] <= 1.0


def test_cli_score_stdin_binary(model_path):
    from typer.testing import CliRunner

    from spamscore.cli import app

    raw = make_case("not-mail-png")
    result = CliRunner().invoke(app, ["score", "--model", str(model_path), "-"], input=raw)
    assert result.exit_code == 0, result.output
    path, label, prob, _ = result.stdout.rstrip("\n").split("\t", 3)
    assert path == "-" and label in ("ham", "unsure", "spam") and 0.0 <= float(prob) <= 1.0


@pytest.mark.parametrize("name", sorted(HUGE))
def test_memory_does_not_grow_with_message_size(name):
    """Peak Python allocations during parse + extract are bounded by the limits, not the input.

    The input is built before tracing starts; ``parse`` must not copy it
    whole (a 50 MB message may only cost a few times ``max_bytes``).
    """
    raw = make_case(name)
    gc.collect()
    tracemalloc.start()
    try:
        watchdog(lambda: extract(parse(raw)), WATCHDOG_S)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    bound = 40 * LIMITS.max_bytes  # 20 MB: measured peaks are below 8 MB
    assert peak < bound, f"{name}: peak {peak / 1e6:.1f} MB for a {len(raw) / 1e6:.0f} MB message"
    assert peak < len(raw)


def test_raised_limits_are_honoured():
    """The limits are options: raising them lets more of a message through."""
    raw = make_case("multipart-10000-parts")
    small = parse(raw)
    big = parse(raw, Limits(max_parts=20_000, max_bytes=4 << 20))
    assert len(small.text) < LIMITS.max_parts < len(big.text)
    assert "too-many-parts" in small.defects
    raw = make_case("headers-10000")
    assert len(parse(raw, Limits(max_headers=50)).headers) == 50
    assert len(parse(raw, Limits(max_headers=20_000)).headers) > 10_000


def test_feature_options_bound_urls_and_text():
    raw = make_case("url-100000-urls")
    pm = parse(raw, Limits(max_bytes=8 << 20, max_part_bytes=8 << 20))
    from spamscore.features import analyze

    a = analyze(pm, FeatureOptions(max_urls=7))
    assert len(a.urls) == 7
    a = analyze(pm, FeatureOptions(max_text_chars=1000))
    assert len(a.plain_text) == 1000
