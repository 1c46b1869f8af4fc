import json

import pytest
from typer.testing import CliRunner

from spamscore.cli import app

from conftest import FIXTURES, fixture_bytes

runner = CliRunner()
COMMANDS = sorted(c.name or c.callback.__name__ for c in app.registered_commands)


def run(*args, input=None):
    return runner.invoke(app, list(map(str, args)), input=input)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command):
    r = run(command, "--help")
    assert r.exit_code == 0, r.output
    assert "Example" in r.output


def test_train_from_directories_then_score(small_corpus, tmp_path):
    out = tmp_path / "m.spamscore"
    r = run("train", "--spam", small_corpus / "spam", "--ham", small_corpus / "ham", "-o", out, "--folds", 3)
    assert r.exit_code == 0, r.output
    assert "trained on 30 spam and 30 ham" in r.output and out.exists()
    r = run("score", "-m", out, "--format", "jsonl", small_corpus / "spam" / "000.eml", small_corpus / "ham" / "000.eml")
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in r.output.splitlines()]
    assert [row["path"] for row in rows] == [str(small_corpus / "spam" / "000.eml"), str(small_corpus / "ham" / "000.eml")]
    assert rows[0]["label"] == "spam" and rows[1]["label"] == "ham"
    assert set(rows[0]) >= {"path", "probability", "label", "clues"}


def test_train_from_index(small_corpus, tmp_path):
    out = tmp_path / "i.spamscore"
    r = run("train", "--index", small_corpus / "labels.tsv", "-o", out, "--folds", 2)
    assert r.exit_code == 0, r.output
    assert out.exists()


def test_score_stdin_text_and_json(small_model_path):
    raw = fixture_bytes("multipart_spam.eml")
    r = run("score", "-m", small_model_path, "-", input=raw)
    assert r.exit_code == 0, r.output
    path, label, prob, _ = r.output.rstrip("\n").split("\t")
    assert path == "-" and label in ("ham", "unsure", "spam") and 0 <= float(prob) <= 1
    r = run("score", "-m", small_model_path, "--format", "json", FIXTURES / "plain_ham.eml")
    data = json.loads(r.output)
    assert isinstance(data, list) and data[0]["path"].endswith("plain_ham.eml")


def test_one_bad_file_is_reported_and_the_rest_scored(small_model_path, tmp_path):
    r = run("score", "-m", small_model_path, "--format", "jsonl", FIXTURES / "plain_ham.eml", tmp_path / "missing.eml",
            FIXTURES / "html_images.eml")
    assert r.exit_code == 2
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert [x["path"].rsplit("/", 1)[1] for x in lines] == ["plain_ham.eml", "html_images.eml"]
    assert "missing.eml" in r.stderr and "no such file" in r.stderr


def test_jobs_give_the_same_results_in_order(small_model_path, small_corpus):
    args = ["score", "-m", small_model_path, "--format", "jsonl", small_corpus / "spam", small_corpus / "ham"]
    one = run(*args)
    two = run(*args, "--jobs", "2")
    assert one.exit_code == two.exit_code == 0
    assert one.output == two.output and len(one.output.splitlines()) == 60


def test_evaluate_reports_metrics(small_model_path, small_corpus):
    r = run("evaluate", "-m", small_model_path, "--index", small_corpus / "labels.tsv", "--format", "json")
    assert r.exit_code == 0, r.output
    m = json.loads(r.output)
    assert m["messages"] == 60 and m["roc_auc"] > 0.9
    assert {"one_minus_auc_pct", "fnr_at_fpr_0_1_pct", "false_positives", "false_negatives"} <= set(m)
    text = run("evaluate", "-m", small_model_path, "--index", small_corpus / "labels.tsv")
    assert "ROC AUC" in text.output and "false positives" in text.output


@pytest.mark.parametrize("args,needle", [
    (["train", "-o", "x.spamscore"], "--index"),
    (["score"], "message paths"),
    (["score", "-m", "/nonexistent/model", "x.eml"], "model file not found"),
    (["evaluate", "--index", "/nonexistent.tsv"], "cannot read index"),
])
def test_usage_errors_are_one_line_and_exit_2(args, needle, small_model_path):
    if args[0] == "evaluate":
        args = args + ["-m", str(small_model_path)]
    r = run(*args)
    assert r.exit_code == 2
    assert needle in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_resource_limits_apply_in_one_process_and_in_workers(small_model_path, tmp_path):
    # a ham start, and a spammy tail past the first 2 KB: --max-bytes 2048 must not see the tail
    import random
    from conftest import make_message

    ham = make_message(random.Random(1), False, 1)
    spam_tail = b"\n" + b" ".join([b"free prize winner claim cash offer casino loan"] * 60) + b"\n"
    msg = tmp_path / "long.eml"
    msg.write_bytes(ham + b"x" * (2048 - len(ham)) + spam_tail)
    full = json.loads(run("score", "-m", small_model_path, "--format", "jsonl", msg).output)
    cut = json.loads(run("score", "-m", small_model_path, "--format", "jsonl", "--max-bytes", 2048, msg).output)
    assert full["probability"] > cut["probability"]
    both = run("score", "-m", small_model_path, "--format", "jsonl", "--max-bytes", 2048, "--jobs", 2, msg, msg)
    assert [json.loads(x)["probability"] for x in both.output.splitlines()] == [cut["probability"]] * 2
    assert "Resource limits" in run("score", "--help").output


LIMIT_ARGS = {"max_bytes": 4096, "max_parts": 7, "max_depth": 3, "max_part_bytes": 2048, "max_headers": 40,
              "max_urls": 9, "max_text_chars": 1500, "max_html_bytes": 3072}


@pytest.mark.parametrize("command", ["score", "evaluate"])
def test_each_resource_limit_option_reaches_the_model(command, small_corpus, small_model_path, monkeypatch):
    """Each of the eight options, spelt as --help spells it, sets its own field (none swapped or dropped),
    and the model scores under them."""
    from spamscore.cli.options import ResourceLimits

    seen, apply = [], ResourceLimits.apply
    monkeypatch.setattr(ResourceLimits, "apply", lambda self, model: seen.append(self) or apply(self, model))
    args = [a for name, value in LIMIT_ARGS.items() for a in ("--" + name.replace("_", "-"), value)]
    where = ["--index", small_corpus / "labels.tsv"] if command == "evaluate" else [small_corpus / "ham" / "000.eml"]
    r = run(command, "-m", small_model_path, *where, *args)
    assert r.exit_code == 0, r.output
    assert seen == [ResourceLimits(**LIMIT_ARGS)]


def test_resource_limits_apply_keeps_a_model_whose_limits_they_are(small_model_path):
    from spamscore.cli.options import ResourceLimits
    from spamscore.scoring import load_model

    model = load_model(small_model_path)
    own = ResourceLimits(*(getattr(model.limits, f) for f in ResourceLimits._fields[:5]),
                         *(getattr(model.options, f) for f in ResourceLimits._fields[5:]))
    assert own.apply(model) is model
    other = own._replace(max_parts=7, max_html_bytes=3072).apply(model)
    assert other is not model and (other.limits.max_parts, other.options.max_html_bytes) == (7, 3072)
    assert (other.limits.max_bytes, other.options.max_urls) == (model.limits.max_bytes, model.options.max_urls)


def test_shared_options_are_spelt_and_explained_alike_in_every_command():
    """An option several commands share has one definition (spamscore/cli/options.py): the same help in each."""
    import typer.main

    helps: dict = {}
    for command in typer.main.get_command(app).commands.values():
        for p in command.params:
            if p.name in ("model_path", "model", "trusted", "jobs", "root", "split", "max_connections",
                          "log_level") and p.help:
                helps.setdefault(tuple(p.opts), set()).add(p.help)
    assert {opts: len(h) for opts, h in helps.items()} == {
        ("--model", "-m"): 2,  # learn's: the model it updates
        ("--trusted-authserv-id",): 1, ("--jobs", "-j"): 1, ("--root",): 1, ("--split",): 1,
        ("--max-connections",): 1, ("--log-level",): 1}


def test_text_output_escapes_control_characters_from_the_message():
    from spamscore.serve.render import printable

    assert printable("free\x1b[31mred\u202e") == "free\\x1b[31mred\\u202e"
    assert printable("無料") == "無料"


def test_settle_builds_the_tables_and_freezes_only_its_own_process(small_model_path, monkeypatch):
    import gc

    from spamscore.cli import _app
    from spamscore.scoring import load_model

    m = load_model(small_model_path)
    assert "_scorer" not in m.nb.__dict__
    before = gc.get_freeze_count()
    assert _app.settle(m) is m
    assert "_scorer" in m.nb.__dict__ and gc.get_freeze_count() == before  # a test's process: no freeze
    monkeypatch.setattr(_app, "_OWN_PROCESS", True)
    try:
        _app.settle(m)
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()


def test_the_console_script_sets_its_own_process(monkeypatch):
    from spamscore.cli import _app

    seen = []
    monkeypatch.setattr(_app, "app", lambda: seen.append(_app._OWN_PROCESS))
    monkeypatch.setattr(_app, "_OWN_PROCESS", False)
    _app.main()
    assert seen == [True]


def test_no_assert_hides_a_condition_in_its_message():
    """``assert a, b and c`` checks only ``a``: ``b and c`` is the message (issue 14 found one here)."""
    import ast
    from pathlib import Path

    found = []
    for path in sorted(Path(__file__).parent.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assert) and (isinstance(node.msg, (ast.BoolOp, ast.Compare))
                                                 or isinstance(node.test, ast.Tuple)):
                found.append(f"{path.name}:{node.lineno}: {ast.unparse(node)[:100]}")
    assert found == []


def test_server_commands_share_their_listen_errors_and_worker_count(capsys):
    """milter and serve: one workers=0 rule (one per core) and one wording for an address in use or malformed."""
    import os

    import typer

    from spamscore.cli import servers

    seen = {}
    servers.serve_until_stopped(lambda address, loader, cfg, workers: seen.update(workers=workers), "addr", None,
                                None, workers=0, listen="inet:127.0.0.1:1")
    assert seen == {"workers": os.cpu_count() or 1}

    def busy(*args, **kwargs):
        raise OSError(98, "Address already in use")

    with pytest.raises(typer.Exit) as exc:
        servers.serve_until_stopped(busy, "addr", None, None, workers=2, listen="inet:127.0.0.1:1")
    assert exc.value.exit_code == 2
    assert capsys.readouterr().err == "spamscore: error: cannot listen on inet:127.0.0.1:1: Address already in use\n"

    def malformed(value):
        raise ValueError(f"expected --listen inet:HOST:PORT or unix:PATH, got {value!r}")

    with pytest.raises(typer.Exit):
        servers.listen_address(malformed, "tcp:x")
    assert "got 'tcp:x'" in capsys.readouterr().err
