"""Every input and every mistake gets a clear answer at the CLI (issue 14): one line, exit code 2, no traceback."""

from __future__ import annotations

import io
import json
import mailbox
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from spamscore.cli import app
from spamscore.cli._app import Stages
from spamscore.sanity import BINARY, EMPTY, NO_HEADERS, SNIFF_BYTES, input_warnings

from conftest import FIXTURES, fixture_bytes

runner = CliRunner()
STAGES = ("extracting", "counting, cross-validation and calibration", "writing")


def run(*args, input=None, env=None):
    return runner.invoke(app, list(map(str, args)), input=input, env=env)


def one_error_line(r, code: int = 2) -> str:
    """The single stderr line of a failed command (and no traceback anywhere), after train's stage lines."""
    assert r.exit_code == code, (r.exit_code, r.output)
    lines = [line for line in r.stderr.splitlines() if line.split(":")[0] not in STAGES]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("spamscore: error: "), lines[0]
    assert "Traceback" not in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return lines[0].removeprefix("spamscore: error: ")


# --------------------------------------------------------------------------
# train: sources, index, output

def test_train_names_the_missing_source(small_corpus, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    msg = one_error_line(run("train", "--spam", small_corpus / "spam", "--ham", tmp_path / "nonexistent",
                             "-o", tmp_path / "m"))
    assert msg == f"--ham {tmp_path / 'nonexistent'}: no such file or directory"
    msg = one_error_line(run("train", "--spam", empty, "--ham", tmp_path / "nonexistent", "-o", tmp_path / "m"))
    assert msg == f"--spam {empty}: no messages found in {empty}"
    assert not (tmp_path / "m").exists()


def test_train_with_only_one_class_is_one_line(small_corpus, tmp_path):
    bad = tmp_path / "labels.tsv"
    bad.write_text("".join(f"{small_corpus}/spam/{i:03d}.eml\tspam\n" for i in range(3)))
    msg = one_error_line(run("train", "--index", bad, "-o", tmp_path / "m"))
    assert msg == f"{bad} lists only spam messages: training needs both spam and ham"
    # both classes listed, but the ham unreadable: found after extraction, still one error line
    bad.write_text(bad.read_text() + f"{tmp_path}/gone.eml\tham\n")
    r = run("train", "--index", bad, "-o", tmp_path / "m")
    assert r.exit_code == 2 and r.stderr.splitlines()[-1] == (
        "spamscore: error: expected both spam and ham examples to train on, got 3 spam and 0 ham (1 unreadable)")
    assert "Traceback" not in r.output and not (tmp_path / "m").exists()


def test_train_from_an_index_without_root_says_pass_root(small_corpus, tmp_path):
    index = tmp_path / "labels.tsv"   # relative paths, but the files are under small_corpus
    index.write_text("path\tlabel\tsplit\n" + (small_corpus / "labels.tsv").read_text().replace("\n", "\ttrain\n"))
    msg = one_error_line(run("train", "--index", index, "--split", "train", "-o", tmp_path / "m"))
    assert msg == f"0 of 60 indexed files exist under {tmp_path}: pass --root"
    msg = one_error_line(run("train", "--index", index, "--root", tmp_path, "-o", tmp_path / "m"))
    assert msg == f"0 of 60 indexed files exist under {tmp_path}: check --root"
    r = run("train", "--index", index, "--root", small_corpus, "-o", tmp_path / "m", "--folds", 2)
    assert r.exit_code == 0, r.output
    assert (tmp_path / "m").exists()


@pytest.mark.parametrize("where", ["missing-folder", "existing-folder", "save-fails"])
def test_train_output_mistakes_are_one_line_and_leave_nothing(small_corpus, tmp_path, monkeypatch, where):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    output = {"missing-folder": tmp_path / "nonexistent" / "dir" / "m", "existing-folder": out_dir,
              "save-fails": out_dir / "m.spamscore"}[where]
    if where == "save-fails":
        from spamscore import model as model_mod

        def no_space(*args, **kwargs):
            raise OSError(28, "No space left on device")
        monkeypatch.setattr(model_mod, "save_model_file", no_space)
        monkeypatch.setattr("spamscore.scoring.save_model_file", no_space, raising=False)
    r = run("train", "--spam", small_corpus / "spam", "--ham", small_corpus / "ham", "-o", output, "--folds", 2)
    msg = one_error_line(r)
    assert str(output) in msg
    if where == "missing-folder":
        assert msg == f"-o {output}: folder {output.parent} does not exist"
    elif where == "existing-folder":
        assert msg.startswith(f"-o {output} is a folder: give a file name")
    else:
        assert msg == f"cannot write {output}: No space left on device"
    assert sorted(os.listdir(tmp_path)) == ["out"] and os.listdir(out_dir) == []


def test_train_prints_a_summary_line_per_stage_when_not_on_a_terminal(small_corpus, tmp_path):
    out = tmp_path / "m.spamscore"
    r = run("train", "--spam", small_corpus / "spam", "--ham", small_corpus / "ham", "-o", out, "--folds", 3)
    assert r.exit_code == 0, r.output
    stages = [line.split(":", 1)[0] for line in r.stderr.splitlines()]
    assert stages == list(STAGES), r.stderr
    assert "extracting: 60 messages in " in r.stderr and "3-fold cross-validation" in r.stderr
    assert f"writing: {out} (" in r.stderr
    assert "trained on 30 spam and 30 ham" in r.stdout and out.exists()


def test_stages_on_a_terminal_complete_each_line_in_place():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    tty, log = Tty(), io.StringIO()
    for f in (tty, log):
        st = Stages(f)
        st("counting", None)
        st("counting", "12 tokens in 0.1s")
        assert st.run("writing", lambda: 7, lambda result, s: f"{result} bytes") == 7
    assert tty.getvalue() == ("counting ...\r\x1b[Kcounting: 12 tokens in 0.1s\n"
                              "writing ...\r\x1b[Kwriting: 7 bytes\n")
    assert log.getvalue() == "counting: 12 tokens in 0.1s\nwriting: 7 bytes\n"


# --------------------------------------------------------------------------
# score and evaluate

@pytest.mark.parametrize("command", ["evaluate", "score"])
def test_index_without_root_is_one_summary_line(small_model_path, small_corpus, tmp_path, command):
    index = tmp_path / "labels.tsv"
    index.write_text((small_corpus / "labels.tsv").read_text())
    msg = one_error_line(run(command, "-m", small_model_path, "--index", index))
    assert msg == f"0 of 60 indexed files exist under {tmp_path}: pass --root"


def test_many_unreadable_files_are_counted_not_listed(small_model_path, small_corpus, tmp_path):
    lines = (small_corpus / "labels.tsv").read_text().splitlines()
    index = tmp_path / "labels.tsv"
    index.write_text("\n".join(lines[:5] + [f"gone/{i}.eml\tham" for i in range(30)]) + "\n")
    (tmp_path / "spam").symlink_to(small_corpus / "spam")
    r = run("evaluate", "-m", small_model_path, "--index", index, "--format", "json")
    assert r.exit_code == 2
    err = r.stderr.splitlines()
    assert len(err) == 11 and err[-1] == "spamscore: warning: ... 20 more unreadable (30 of 35 in all)", err
    assert json.loads(r.stdout)["messages"] == 5
    r = run("score", "-m", small_model_path, "--index", index, "--format", "jsonl")
    assert r.exit_code == 2 and len(r.stdout.splitlines()) == 5
    err = r.stderr.splitlines()
    assert len(err) == 11 and err[-1] == "spamscore: error: ... 20 more unreadable (30 in all)", err


def test_score_an_empty_folder_says_so(small_model_path, tmp_path):
    empty = tmp_path / "empty_folder"
    empty.mkdir()
    assert one_error_line(run("score", "-m", small_model_path, f"{empty}/")) == f"no messages found in {empty}/"
    r = run("score", "-m", small_model_path, "--format", "jsonl", FIXTURES / "plain_ham.eml", empty)
    assert r.exit_code == 2 and len(r.stdout.splitlines()) == 1
    assert r.stderr == f"spamscore: error: no messages found in {empty}\n"


def test_spamscore_model_pointing_nowhere_is_named(tmp_path):
    msg = one_error_line(run("score", FIXTURES / "plain_ham.eml", env={"SPAMSCORE_MODEL": "/nonexistent"}))
    assert msg == "SPAMSCORE_MODEL points at /nonexistent, which does not exist"
    msg = one_error_line(run("evaluate", "--index", tmp_path / "x.tsv", env={"SPAMSCORE_MODEL": "/nonexistent"}))
    assert "x.tsv" in msg   # the index is read first; either way one line


BINARY_BYTES = b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) * 40


def test_not_mail_is_scored_but_flagged(small_model_path, tmp_path):
    exe = tmp_path / "ls"
    exe.write_bytes(BINARY_BYTES)
    empty = tmp_path / "empty.eml"
    empty.write_bytes(b"")
    r = run("score", "-m", small_model_path, "--format", "jsonl", exe, empty, FIXTURES / "plain_ham.eml")
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["label"] in ("ham", "unsure", "spam") for row in rows] == [True] * 3   # still scored
    assert rows[0]["warnings"] == [NO_HEADERS, BINARY]
    assert rows[1]["warnings"] == [EMPTY]
    assert "warnings" not in rows[2]       # only when there is something to say
    assert r.stderr == ""
    r = run("score", "-m", small_model_path, "--format", "json", exe)
    assert json.loads(r.stdout)[0]["warnings"] == [NO_HEADERS, BINARY]
    r = run("score", "-m", small_model_path, exe, FIXTURES / "plain_ham.eml")
    assert r.exit_code == 0 and len(r.stdout.splitlines()) == 2
    assert r.stderr == f"spamscore: warning: {exe}: scored, but not like mail: no header block, binary content\n"


def test_input_warnings():
    assert input_warnings(b"") == [EMPTY] and input_warnings(b" \r\n\t\n") == [EMPTY]
    assert input_warnings(b"\nbody only") == [NO_HEADERS]
    assert input_warnings(b"hello world\n\nbody") == [NO_HEADERS]
    assert input_warnings(BINARY_BYTES) == [NO_HEADERS, BINARY]
    assert input_warnings(b"Subject: x\n\n" + b"\x00" * 3) == [BINARY]
    assert input_warnings(b"Subject: x\n\n" + bytes(range(1, 9)) * 100) == [BINARY]
    for name in ("plain_ham.eml", "multipart_spam.eml", "html_images.eml"):
        assert input_warnings(fixture_bytes(name)) == [], name
    assert input_warnings(b"From a@b Sat Jan  1 00:00:00 2000\nSubject: x\n\nbody\n") == []
    assert input_warnings(b"Subject: \x1b$B$3$s\x1b(B\n\n\x1b$B$K$A$O\x1b(B\n") == []   # ISO-2022-JP
    assert input_warnings(b"Subject: caf\xe9\n\n\xe9t\xe9 \xc3\xa9\n") == []                 # 8-bit text
    # bounded: only the first SNIFF_BYTES are looked at; never raises on odd arguments
    assert input_warnings(b"Subject: x\n\n" + b"a" * SNIFF_BYTES + b"\x00" * 1000) == []
    assert input_warnings(memoryview(b"Subject: x\n\nb")) == [] and input_warnings(None) == []


def test_an_mbox_on_stdin_is_scored_message_by_message(small_model_path, tmp_path):
    path = tmp_path / "in.mbox"
    box = mailbox.mbox(str(path))
    for name in ("plain_ham.eml", "multipart_spam.eml", "html_images.eml"):
        box.add(fixture_bytes(name))
    box.flush()
    box.close()
    from_stdin = run("score", "-m", small_model_path, "--format", "jsonl", "-", input=path.read_bytes())
    from_file = run("score", "-m", small_model_path, "--format", "jsonl", path)
    assert from_stdin.exit_code == from_file.exit_code == 0, from_stdin.output
    a = [json.loads(line) for line in from_stdin.stdout.splitlines()]
    b = [json.loads(line) for line in from_file.stdout.splitlines()]
    assert [row["path"] for row in a] == ["-#0", "-#1", "-#2"]
    assert [row["probability"] for row in a] == [row["probability"] for row in b]
    one = run("score", "-m", small_model_path, "--format", "jsonl", "-", input=fixture_bytes("plain_ham.eml"))
    assert [json.loads(line)["path"] for line in one.stdout.splitlines()] == ["-"]


# --------------------------------------------------------------------------
# usage errors: one line, like every other error

@pytest.mark.parametrize("args, expected", [
    (["score", "--fromat", "json"], "no such option --fromat (did you mean --format?)"),
    (["train", "--ouptut", "m"], "no such option --ouptut (did you mean --output?)"),
    (["scroe", "x.eml"], "no such command scroe (did you mean score?)"),
    (["score", "--clues"], "option '--clues' requires an argument"),
    (["score", "--format", "xml", "x"], None),
    (["score", "--clues", "-3", "x"], None),
    (["train", "--spam", "x"], "missing option '--output' / '-o'"),
    (["learn", "--spam"], None),
    (["check", "--zzz"], "no such option --zzz"),
])
def test_usage_errors_are_one_line(args, expected):
    msg = one_error_line(run(*args))
    if expected is not None:
        assert msg == expected
    assert "╭" not in msg and "Usage:" not in msg


def test_usage_error_in_a_real_process():
    """What `spamscore score --fromat json` prints, through the console script's main()."""
    r = subprocess.run([sys.executable, "-m", "spamscore", "score", "--fromat", "json"], capture_output=True,
                       text=True, timeout=120)
    assert (r.returncode, r.stdout, r.stderr) == (
        2, "", "spamscore: error: no such option --fromat (did you mean --format?)\n")


def test_help_still_works():
    r = run("score", "--help")
    assert r.exit_code == 0 and "Usage:" in r.stdout and "Example" in r.stdout
    r = run("--help")
    assert r.exit_code == 0 and "score" in r.stdout and "train" in r.stdout
    r = run()   # no arguments: the help, exit 2, as before
    assert r.exit_code == 2 and "Usage:" in r.output and "train" in r.output
