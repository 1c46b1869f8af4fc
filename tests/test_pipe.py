"""The pipe filter: byte-exact pass-through plus headers, and fail-safe behaviour."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from postfix_fixture import HAM_SAMPLE, SPAM_SAMPLE, train_tiny_model
from spamscore.pipe import filter_message, header_block_end, line_ending, mark_message


@pytest.fixture(scope="module")
def model_path(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("model") / "tiny.spamscore"
    train_tiny_model(p)
    return p


@pytest.fixture(scope="module")
def model(model_path):
    from spamscore.scoring import Model
    return Model.load(model_path)


MULTI = (b"From: a@example.org\n"
         b"X-Spam-Flag: NO\n"
         b"Received: from x\n\tby y; Mon, 1 Jan 2024 00:00:00 +0000\n"
         b"Subject: hello\n"
         b"x-spam-status: No, forged\n  continued line\n"
         b"X-Spam-Level: ***\n"
         b"Content-Type: multipart/mixed; boundary=\"b\"\n"
         b"\n"
         b"--b\nContent-Type: text/plain\n\nbody \xff\xfe bytes\n--b\n"
         b"Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\nAAECAwQF\n--b--\n")


def strip_added(out: bytes, n_added: int, eol: bytes) -> bytes:
    """Drop the first n_added header lines (with their continuation lines)."""
    lines = out.split(eol)
    i = 0
    removed = 0
    while removed < n_added:
        i += 1
        while i < len(lines) and lines[i][:1] in (b" ", b"\t"):
            i += 1
        removed += 1
    return eol.join(lines[i:])


def added_block(out: bytes, eol: bytes) -> list[bytes]:
    return [l for l in out.split(eol) if l.lower().startswith(b"x-spam-") or l.startswith(b"\t")]


# -- byte-level library ---------------------------------------------------------

def test_line_ending_and_header_end():
    assert line_ending(b"A: b\r\n\r\nx") == b"\r\n"
    assert line_ending(b"A: b\n\nx\r\n") == b"\n"
    assert header_block_end(b"A: b\nC: d\n\nbody") == 10
    assert header_block_end(b"A: b\r\n\r\nbody") == 6
    assert header_block_end(b"A: b\n") == 5


@pytest.mark.parametrize("eol", [b"\n", b"\r\n"])
def test_mark_message_keeps_every_other_byte(eol):
    raw = MULTI.replace(b"\n", eol)
    out = mark_message(raw, [("X-Spam-Score", "0.5"), ("X-Spam-Status", "No, score=0.5")])
    assert out.startswith(b"X-Spam-Score: 0.5" + eol + b"X-Spam-Status: No, score=0.5" + eol + b"From: a@")
    # our own stale markup is gone (any case, with continuation), the rest is byte-identical
    expected = raw.replace(b"X-Spam-Flag: NO" + eol, b"").replace(
        b"x-spam-status: No, forged" + eol + b"  continued line" + eol, b"")
    assert out[len(b"X-Spam-Score: 0.5" + eol + b"X-Spam-Status: No, score=0.5" + eol):] == expected
    assert b"X-Spam-Level: ***" + eol in out          # not ours: kept
    if eol == b"\r\n":
        assert out.count(b"\n") == out.count(b"\r\n")   # no bare LF introduced


def test_mark_message_after_mbox_from_line():
    raw = b"From someone@example.org Mon Jan  1 00:00:00 2024\nSubject: x\n\nbody\n"
    out = mark_message(raw, [("X-Spam-Score", "0.1")])
    assert out == b"From someone@example.org Mon Jan  1 00:00:00 2024\nX-Spam-Score: 0.1\nSubject: x\n\nbody\n"


def test_subject_tag():
    raw = b"From: a\r\nSubject:   Buy now\r\n\r\nSubject: in body\r\n"
    out = mark_message(raw, [("X-Spam-Flag", "YES")], subject_tag="[SPAM]")
    assert out == b"X-Spam-Flag: YES\r\nFrom: a\r\nSubject: [SPAM] Buy now\r\n\r\nSubject: in body\r\n"
    # already tagged: unchanged; no Subject: one is added
    assert mark_message(out, [], subject_tag="[SPAM]", remove=()) == out
    assert mark_message(b"From: a\n\nhi\n", [], subject_tag="[SPAM]") == b"Subject: [SPAM]\nFrom: a\n\nhi\n"


def test_header_values_are_sanitized_and_folded():
    out = mark_message(b"A: b\n\nc\n", [("X-Spam-Status", "No, clues=" + ",".join(["t\u00e9st\nX-Evil: 1"] * 12))])
    head = out.split(b"\n\n")[0]
    assert all(b < 128 for b in head)
    assert b"\nX-Evil" not in head                      # no header injection through a clue
    assert all(len(l) <= 998 for l in head.split(b"\n"))


from hypothesis import given, settings, strategies as st


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.sampled_from([b"\n", b"\r\n"]))
def test_mark_message_only_inserts(raw, eol):
    """For any input without our own fields, removing the added lines gives the input back."""
    raw = raw.replace(b"\n", eol)
    low = raw.lower()
    if any(h.encode() in low for h in ("x-spam-flag", "x-spam-score", "x-spam-status")):
        return
    out = mark_message(raw, [("X-Spam-Score", "0.5")])
    nl = line_ending(raw)
    start = 0
    if raw.startswith(b"From "):
        start = raw.find(b"\n") + 1 or len(raw)
    added = b"X-Spam-Score: 0.5" + nl
    assert out[:start] == raw[:start]
    assert out[start:start + len(added)] == added
    assert out[:start] + out[start + len(added):] == raw


def test_long_clue_cannot_make_a_long_line():
    out = mark_message(b"A: b\n\nc\n", [("X-Spam-Status", "No, clues=" + "x" * 5000)])
    assert max(len(l) for l in out.split(b"\n")) <= 998


# -- filter_message -------------------------------------------------------------

@pytest.mark.parametrize("eol", [b"\n", b"\r\n"])
def test_filter_spam_and_ham(model, eol):
    spam = SPAM_SAMPLE.replace(b"\n", eol)
    r = filter_message(spam, model, subject_tag="[SPAM]")
    assert r.error is None and r.verdict.label == "spam"
    assert r.output.startswith(b"X-Spam-Flag: YES" + eol + b"X-Spam-Score: ")
    assert b"Subject: [SPAM] WIN CASH NOW" + eol in r.output
    assert r.exit_code() == 0 and r.exit_code(bogofilter=True) == 0

    ham = HAM_SAMPLE.replace(b"\n", eol)
    r = filter_message(ham, model, subject_tag="[SPAM]")
    assert r.verdict.label == "ham"
    assert b"X-Spam-Flag" not in r.output and b"[SPAM]" not in r.output
    assert r.output.split(eol)[1].startswith(b"X-Spam-Status: No, score=")
    assert strip_added(r.output, 2, eol) == ham
    assert r.exit_code() == 0 and r.exit_code(bogofilter=True) == 1


def test_large_message_passes_whole(model):
    from spamscore.message import Limits
    big_model = model.with_options(limits=Limits(max_bytes=4096))
    raw = HAM_SAMPLE + b"x" * 100 + b"\n" * 1 + (b"line of filler text " * 40 + b"\n") * 200
    r = filter_message(raw, big_model)
    assert r.error is None
    assert r.output.endswith(raw[-5000:]) and len(r.output) > len(raw)
    assert strip_added(r.output, 2, b"\n") == raw


def test_failures_pass_message_unchanged(model, monkeypatch):
    r = filter_message(SPAM_SAMPLE, None)
    assert r.output == SPAM_SAMPLE and r.error and r.exit_code(True) == 3 and r.exit_code() == 3

    def boom(self, raw, max_clues=15):
        raise RuntimeError("simulated scoring failure")
    monkeypatch.setattr(type(model), "score", boom)
    r = filter_message(SPAM_SAMPLE, model)
    assert r.output == SPAM_SAMPLE and "simulated scoring failure" in r.error

    def slow(self, raw, max_clues=15):
        time.sleep(5)
    monkeypatch.setattr(type(model), "score", slow)
    r = filter_message(SPAM_SAMPLE, model, timeout=0.2)
    assert r.output == SPAM_SAMPLE and r.timed_out and r.exit_code() == 3

    def bad_loader():
        raise OSError("disk on fire")
    r = filter_message(HAM_SAMPLE, bad_loader)
    assert r.output == HAM_SAMPLE and "disk on fire" in r.error


def test_empty_message_is_not_invented(model):
    r = filter_message(b"", model)
    assert r.output == b"" and r.error


# -- the command ----------------------------------------------------------------

def run_filter(args, data, env=None):
    """The filter command in-process (typer's CliRunner): exit code, stdout bytes, stderr bytes."""
    from typer.testing import CliRunner
    from spamscore.cli import app

    r = CliRunner().invoke(app, ["filter", *args], input=data, env={"SPAMSCORE_MODEL": None, **(env or {})})
    return r.exit_code, r.stdout_bytes, r.stderr_bytes


@pytest.mark.parametrize("eol", [b"\n", b"\r\n"])
def test_cli_filter(model_path, eol):
    spam = SPAM_SAMPLE.replace(b"\n", eol)
    code, out, err = run_filter(["--model", str(model_path), "--exit-code", "--tag-subject", "[SPAM]"], spam)
    assert code == 0, err
    assert out.startswith(b"X-Spam-Flag: YES" + eol)
    assert b"Subject: [SPAM] WIN CASH NOW" + eol in out
    ham = HAM_SAMPLE.replace(b"\n", eol)
    code, out, err = run_filter(["--model", str(model_path), "--exit-code"], ham)
    assert code == 1, err
    assert strip_added(out, 2, eol) == ham
    code, out, err = run_filter(["--model", str(model_path)], ham)
    assert code == 0 and strip_added(out, 2, eol) == ham


def test_cli_filter_missing_and_corrupt_model(tmp_path):
    code, out, err = run_filter(["--model", str(tmp_path / "nope.spamscore")], SPAM_SAMPLE)
    assert out == SPAM_SAMPLE and code == 3 and b"unmarked" in err
    bad = tmp_path / "bad.spamscore"
    bad.write_bytes(b"PK\x03\x04 this is not a model" * 10)
    code, out, err = run_filter(["--model", str(bad), "--exit-code"], SPAM_SAMPLE)
    assert out == SPAM_SAMPLE and code == 3 and b"unmarked" in err


def test_cli_filter_scoring_exception(model_path, monkeypatch):
    from spamscore.scoring import Model

    def boom(self, raw, max_clues=15):
        raise ValueError("simulated")
    monkeypatch.setattr(Model, "score", boom)
    code, out, err = run_filter(["--model", str(model_path)], HAM_SAMPLE)
    assert code == 3 and out == HAM_SAMPLE and b"simulated" in err


def test_cli_filter_unreadable_input(model_path, monkeypatch):
    import spamscore.cli.pipeline as cli_pipeline

    def broken():
        raise OSError(5, "Input/output error")
    monkeypatch.setattr(cli_pipeline, "_read_stdin", broken)
    code, out, err = run_filter(["--model", str(model_path)], b"")
    assert code == 3 and out == b"" and b"cannot read" in err


def test_filter_and_milter_have_help():
    from typer.testing import CliRunner
    from spamscore.cli import app

    r = CliRunner().invoke(app, ["filter", "--help"])
    assert r.exit_code == 0 and "Example" in r.stdout
    r = CliRunner().invoke(app, ["milter", "--help"])
    assert r.exit_code == 0 and "smtpd_milters" in r.stdout


def test_real_process_crlf_exit_code(model_path):
    """One end-to-end run through a real process (binary stdin/stdout, exit status)."""
    e = {k: v for k, v in os.environ.items() if k != "SPAMSCORE_MODEL"}
    spam = SPAM_SAMPLE.replace(b"\n", b"\r\n")
    p = subprocess.run([sys.executable, "-m", "spamscore", "filter", "--model", str(model_path), "--exit-code"],
                       input=spam, capture_output=True, timeout=120, env=e)
    assert p.returncode == 0, p.stderr
    assert strip_added(p.stdout, 3, b"\r\n") == spam


def test_real_process_scoring_timeout(model_path):
    """A stuck scorer: the original message is written whole and the process exits 3 at the deadline."""
    code = ("import sys, time\n"
            "import spamscore.scoring as s\n"
            "s.Model.score = lambda self, raw, max_clues=15: time.sleep(600)\n"
            "from spamscore.cli import main\n"
            f"sys.argv = ['spamscore', 'filter', '--model', {str(model_path)!r}, '--timeout', '0.5']\n"
            "main()\n")
    e = {k: v for k, v in os.environ.items() if k != "SPAMSCORE_MODEL"}
    p = subprocess.run([sys.executable, "-c", code], input=SPAM_SAMPLE, capture_output=True, timeout=120, env=e)
    assert p.returncode == 3 and p.stdout == SPAM_SAMPLE, p.stderr
    assert b"longer than 0.5 s" in p.stderr


def test_pipe_module_does_not_import_typer():
    code = "import sys, spamscore.pipe, spamscore.milter; print('typer' in sys.modules)"
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.stdout.strip() == "False", p.stderr
