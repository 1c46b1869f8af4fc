"""The fuzz campaign (benchmarks/fuzz_campaign.py): a fast slice in CI, and proof that it notices failures.

The slice mutates the test fixtures (no corpus to unpack; the hostile cases themselves run through every
entry point in tests/test_hostile.py, and mutated here only when ``SPAMSCORE_FUZZ_CASES=small``), through
``Model.score``, the pipe filter, ``check_message`` and ``learn``, in a memory-limited child process.  The
deadline is CPU time (30 s here, 10 s in the full campaign, ``python benchmarks/fuzz_campaign.py``, which
reports the slowest), so a loaded machine cannot turn a slow message into a hang.
``SPAMSCORE_FUZZ_N`` sets the slice's size.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import fuzz_campaign as fc  # noqa: E402
from postfix_fixture import train_tiny_model  # noqa: E402

N = int(os.environ.get("SPAMSCORE_FUZZ_N", "1500"))
CASES = os.environ.get("SPAMSCORE_FUZZ_CASES", "none")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> str:
    """A model that loads whatever state the shipped one is in (the campaign is about inputs)."""
    path = tmp_path_factory.mktemp("fuzz") / "tiny.spamscore"
    train_tiny_model(path)
    return str(path)


def test_mutations_are_seeded_and_bounded():
    import random

    base, other = (ROOT / "tests/fixtures/multipart_spam.eml").read_bytes(), b"From: x\n\nother body\n"
    a = [fc.mutate(base, random.Random(7), other) for _ in range(3)]
    b = [fc.mutate(base, random.Random(7), other) for _ in range(3)]
    assert a == b
    outs = [fc.mutate(base, random.Random(i), other) for i in range(300)]
    assert all(len(raw) <= fc.MAX_MUTANT for raw, _ in outs)
    assert len({raw for raw, _ in outs}) > 250                 # they do differ
    assert any("cr-only" in how for _, how in outs)


def test_fast_slice_has_no_crash_and_no_hang(tiny, tmp_path):
    s, meta = fc.run_campaign(N, seed=14, use_corpus=False, model_path=tiny, deadline=30.0, wall_factor=4.0, cases=CASES,
                              recycle=600, learn_file_every=200, save_failures=str(tmp_path / "failures"))
    report = fc.report_markdown(s, meta)
    assert s.tried == N, report
    assert not s.crashes and not s.hangs, report
    assert s.peak_rss > 0 and s.slowest


def _planted(raw: bytes):
    import time

    from spamscore.check import check_message as real

    def check_message(data, model, **kw):
        if data.startswith(b"CRASH"):
            raise RuntimeError("planted")
        if data.startswith(b"HANG"):
            time.sleep(60)
        if data.startswith(b"DIE"):
            os._exit(9)
        return real(data, model, **kw)
    return check_message


def test_campaign_reports_crashes_hangs_and_dead_workers(tiny, tmp_path, monkeypatch):
    """Crashes, hangs and a dying worker are counted, saved, and the campaign goes on after each."""
    import spamscore.check

    # the worker is forked from this process, so it sees the patched entry point
    monkeypatch.setattr(spamscore.check, "check_message", _planted(b""))
    ok = (ROOT / "tests/fixtures/plain_ham.eml").read_bytes()
    source = [("ok1", ok), ("crash", b"CRASH\n\nx"), ("ok2", ok), ("hang", b"HANG\n\nx"), ("ok3", ok),
              ("die", b"DIE\n\nx"), ("ok4", ok)]
    s, meta = fc.run_campaign(len(source), use_corpus=False, model_path=tiny, deadline=3.0, wall_factor=1.0,
                              source=source, save_failures=str(tmp_path))
    assert s.tried == 7
    assert [f.name for f in s.crashes] == ["crash", "die"]
    assert "RuntimeError: planted" in s.crashes[0].detail and "worker died" in s.crashes[1].detail
    assert [f.name for f in s.hangs] == ["hang"]
    assert Path(s.hangs[0].saved).read_bytes() == b"HANG\n\nx"
    md = fc.report_markdown(s, meta)
    assert "| crashes | **2** |" in md and "hangs (over 3 s of CPU) | **1** |" in md
