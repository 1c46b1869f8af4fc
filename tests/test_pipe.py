"""The pipe filter: byte-exact pass-through plus headers, and fail-safe behaviour."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from postfix_fixture import HAM_SAMPLE, SPAM_SAMPLE, train_tiny_model
from spamscore.serve.pipe import filter_message
from spamscore.serve.splice import header_block_end, line_ending, mark_message


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
         b"X-Spam-Report: upstream\n"
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
        b"x-spam-status: No, forged" + eol + b"  continued line" + eol, b"").replace(b"X-Spam-Level: ***" + eol, b"")
    assert out[len(b"X-Spam-Score: 0.5" + eol + b"X-Spam-Status: No, score=0.5" + eol):] == expected
    assert b"X-Spam-Level: ***" not in out             # we write X-Spam-Level (headers.spam_headers): stale one cut
    assert b"X-Spam-Report: upstream" + eol in out     # not ours: kept
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
@given(st.one_of(st.binary(max_size=400),
                 st.tuples(st.sampled_from([b"From a@b Mon", b" ", b"\t", b"From a@b\r ", b""]),
                           st.binary(max_size=200)).map(b"".join)),
       st.sampled_from([b"\n", b"\r\n", b"\r"]))
def test_mark_message_only_inserts(raw, eol):
    """For any input without our own fields, removing the added lines gives the input back.

    The lines go in the header block: at a line start, before the first blank
    line, not followed by a line that would continue the last of them.
    """
    raw = raw.replace(b"\n", eol)
    low = raw.lower()
    if any(h.encode() in low for h in ("x-spam-flag", "x-spam-score", "x-spam-status", "x-spam-level")):
        return
    out = mark_message(raw, [("X-Spam-Score", "0.5")])
    nl = line_ending(raw)
    added = b"X-Spam-Score: 0.5" + nl
    i = out.index(added)
    before, after = out[:i], out[i + len(added):]
    assert before + after == raw or (before == raw + nl and after == b"")
    scan = out.replace(b"\r", b"\n") if b"\n" not in out else out.replace(b"\r\n", b"\n")
    j = len(before.replace(b"\r\n", b"\n")) if b"\n" in out else i
    assert j == 0 or scan[j - 1:j] == b"\n"                       # at a line start
    assert after[:1] not in (b" ", b"\t")                        # nothing continues our line
    head = scan[:j]
    if raw.startswith(b"From "):                                   # the mbox line stays first
        assert before.startswith(raw[:max(1, raw.find(nl[:1]))])
        head = head[head.find(b"\n") + 1:]
    assert b"\n\n" not in b"\n" + head                              # no blank line before ours


def test_cr_only_mail_gets_headers_in_its_header_block():
    """Issue 14: mail with CR-only line endings (with or without an mbox From_ line) was one long line."""
    raw = b"From a@b.example Mon Jan  1 00:00:00 2024\rFrom: a@b.example\rSubject: hi\r\rbody\r"
    out = mark_message(raw, [("X-Spam-Flag", "YES"), ("X-Spam-Status", "Yes")])
    assert out == (b"From a@b.example Mon Jan  1 00:00:00 2024\rX-Spam-Flag: YES\rX-Spam-Status: Yes\r"
                   b"From: a@b.example\rSubject: hi\r\rbody\r")
    raw = raw[raw.index(b"\r") + 1:]
    out = mark_message(raw, [("X-Spam-Flag", "YES")], subject_tag="[SPAM]")
    assert out == b"X-Spam-Flag: YES\rFrom: a@b.example\rSubject: [SPAM] hi\r\rbody\r"


def test_truncated_from_line_gets_headers_on_their_own_lines():
    out = mark_message(b"From a@b.example Mon Jan  1 00:00:00 2024", [("X-Spam-Flag", "YES")])
    assert out == b"From a@b.example Mon Jan  1 00:00:00 2024\nX-Spam-Flag: YES\n"


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"])
def test_leading_white_space_cannot_continue_our_status_line(eol):
    raw = b" X-Spam-Flag: NO\tfake" + eol + b"\tmore" + eol + b"Subject: hi" + eol + eol + b"body" + eol
    out = mark_message(raw, [("X-Spam-Flag", "NO"), ("X-Spam-Status", "No, score=0.01")])
    added = b"X-Spam-Flag: NO" + eol + b"X-Spam-Status: No, score=0.01" + eol
    assert out == raw.replace(b"Subject: hi", added + b"Subject: hi")
    assert mark_message(b" x", [("X-Spam-Score", "1")]) == b" x\nX-Spam-Score: 1\n"


def test_filter_scores_cr_only_mail_like_the_same_mail_with_lf(model):
    """CR-only mail is parsed as mail: the same verdict as its LF twin, headers on top."""
    lf = b"From spammer@example.net Mon Jan  1 00:00:00 2024\n" + SPAM_SAMPLE.replace(b"\r\n", b"\n")
    cr = lf.replace(b"\n", b"\r")
    r_lf, r_cr = filter_message(lf, model), filter_message(cr, model)
    assert r_cr.error is None and r_cr.verdict.label == "spam"
    assert r_cr.verdict.probability == r_lf.verdict.probability
    assert r_cr.output == r_lf.output.replace(b"\n", b"\r")
    assert r_cr.output.split(b"\r")[1] == b"X-Spam-Flag: YES"


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
    assert strip_added(r.output, 3, eol) == ham        # X-Spam-Score, X-Spam-Status, X-Spam-Level
    assert r.exit_code() == 0 and r.exit_code(bogofilter=True) == 1


def test_large_message_passes_whole(model):
    from spamscore.message import Limits
    big_model = model.with_options(limits=Limits(max_bytes=4096))
    raw = HAM_SAMPLE + b"x" * 100 + b"\n" * 1 + (b"line of filler text " * 40 + b"\n") * 200
    r = filter_message(raw, big_model)
    assert r.error is None
    assert r.output.endswith(raw[-5000:]) and len(r.output) > len(raw)
    assert strip_added(r.output, 3, b"\n") == raw


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
    assert strip_added(out, 3, eol) == ham
    code, out, err = run_filter(["--model", str(model_path)], ham)
    assert code == 0 and strip_added(out, 3, eol) == ham


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
    assert strip_added(p.stdout, 4, b"\r\n") == spam


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
    code = "import sys, spamscore.serve.pipe, spamscore.serve.milter; print('typer' in sys.modules)"
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.stdout.strip() == "False", p.stderr
