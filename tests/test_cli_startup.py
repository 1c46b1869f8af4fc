"""Start-up of the CLI: commands imported lazily, and `spamscore filter`'s path without typer.

`spamscore.cli.main` runs `filter` with plainly spelt options without typer (issue 16: at most
0.15 s CPU per message; the figures are in benchmarks/results/startup.md, not here).  These tests
hold the two paths to the same bytes out, the same stderr and the same exit code, for every
combination of the filter's options, and check that everything else still goes through typer.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from spamscore.cli import COMMANDS, _filter

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"

# Runs `spamscore ARGS` (sys.argv[1:]) through spamscore.cli.main, or with "--typer" first through the
# typer app alone (the filter command registered, as main does for any other spelling), then prints
# which modules the run imported as the last line of stderr.
RUNNER = r"""
import json, os, sys
typer_path = sys.argv[1] == "--typer"
args = sys.argv[2:] if typer_path else sys.argv[1:]
sys.argv = ["spamscore"] + args

def marker():
    mods = [m for m in ("typer", "pydantic", "spamscore.cli.core", "spamscore.cli.check", "spamscore.cli.serve",
                        "spamscore.cli.convert", "spamscore.cli.learn", "spamscore.cli.pipeline") if m in sys.modules]
    sys.stderr.write("\n" + json.dumps({"modules": mods, "blas": os.environ.get("OPENBLAS_NUM_THREADS"),
                                        "os_exit": exiting}))
    sys.stderr.flush()

exiting = False
real_exit = os._exit
def marked_exit(code):  # the fast path ends with os._exit (no interpreter teardown)
    global exiting
    exiting = True
    marker()
    real_exit(code)
os._exit = marked_exit
code = 0
try:
    if typer_path:
        from spamscore.cli import load_commands
        load_commands(["filter"])
        from spamscore.cli._app import main
    else:
        from spamscore.cli import main
    main()
except SystemExit as exc:
    code = exc.code
sys.stdout.flush()
marker()
sys.exit(code)
"""


def _env():
    env = {k: v for k, v in os.environ.items() if k not in ("SPAMSCORE_MODEL", "OPENBLAS_NUM_THREADS")}
    return env


def run(args, data: bytes, typer_path: bool = False, env=None):
    """(exit code, stdout, stderr without the marker line, the marker) of one run in a fresh process."""
    argv = [sys.executable, "-c", RUNNER] + (["--typer"] if typer_path else []) + list(args)
    p = subprocess.run(argv, input=data, capture_output=True, timeout=120, env={**_env(), **(env or {})})
    err, _, marker = p.stderr.rpartition(b"\n")
    return p.returncode, p.stdout, err, json.loads(marker)


@pytest.fixture(scope="module")
def model2(tmp_path_factory) -> str:
    """The shipped default model in the mapped format (what `spamscore filter` loads fastest)."""
    from spamscore.scoring import Model, default_model_path

    path = tmp_path_factory.mktemp("model") / "default2.spamscore"
    Model.load(default_model_path()).save(path)
    return str(path)


# every subset of the filter's options, on a message where each changes the result (with the default
# model of 2026-12-06): forged_auth.eml carries Authentication-Results from two receivers, and trusting
# them turns spam (tagged) into unsure (exit code 2 with --exit-code); its last 200 bytes, past
# --max-size, move the probability
OPTION_VALUES = {
    "model": ["--model", "MODEL"],
    "tag": ["--tag-subject", "[SPAM]"],
    "exit": ["--exit-code"],
    "size": ["--max-size", "2048"],
    "trusted": ["--trusted-authserv-id", "mx.receiver.example", "--trusted-authserv-id", "mx.example.net"],
    "timeout": ["--timeout", "0"],
}
# none, each alone, each left out, all: 14 of the 64 subsets (each option on its own and beside all the others;
# every pair appears in the leave-one-out sets), a fifth of the time in CI's three suite runs
SUBSETS = [c for n in (0, 1, len(OPTION_VALUES) - 1, len(OPTION_VALUES))
           for c in itertools.combinations(OPTION_VALUES, n)]


@pytest.mark.parametrize("subset", SUBSETS, ids=["+".join(s) or "none" for s in SUBSETS])
def test_fast_path_and_typer_agree_on_option_combinations(model2, subset):
    args = ["filter"] + [model2 if a == "MODEL" else a for name in subset for a in OPTION_VALUES[name]]
    env = None if "model" in subset else {"SPAMSCORE_MODEL": model2}
    raw = ((FIXTURES / "forged_auth.eml").read_bytes() + b"\n"
           + b"Regards from the build team, the weekly report is in the wiki.\n" * 20
           + b"Please verify your account at https://login-bank.example.attacker.example/verify now.\n" * 2)
    fast = run(args, raw, env=env)
    slow = run(args, raw, typer_path=True, env=env)
    assert fast[:3] == slow[:3], (fast[2], slow[2])
    assert fast[0] in (0, 1, 2) and fast[1].startswith(b"X-Spam-"), fast[2]
    assert "typer" not in fast[3]["modules"] and fast[3]["blas"] == "1" and fast[3]["os_exit"]
    assert "typer" in slow[3]["modules"] and slow[3]["blas"] is None and not slow[3]["os_exit"]


@pytest.mark.parametrize("case", [
    ("multipart_spam.eml", ["--exit-code", "--tag-subject", "[SPAM]"]),
    ("plain_ham.eml", ["--exit-code", "--tag-subject", "[SPAM]"]),
    ("japanese_sjis.eml", ["-m", "MODEL", "--exit-code", "--timeout=2.5", "--max-size=4096"]),
    ("broken_mime.eml", ["--model=MODEL", "--tag-subject=***SPAM***", "--exit-code", "--exit-code"]),
    ("html_images.eml", ["--timeout", "9", "--timeout", "0.5", "--max-size", "1024"]),  # the last value wins
    (None, ["--exit-code"]),                                    # empty message: passed through, exit 3
    ("plain_ham.eml", ["--model", "/nonexistent/model.spamscore", "--exit-code"]),  # no model: exit 3
    ("plain_ham.eml", ["--model", "FIXTURES"]),                 # a directory as the model: exit 3
])
def test_fast_path_and_typer_agree_on_messages_and_failures(model2, case):
    name, opts = case
    raw = (FIXTURES / name).read_bytes() if name else b""
    args = ["filter"] + [a.replace("MODEL", model2).replace("FIXTURES", str(FIXTURES)) for a in opts]
    env = {"SPAMSCORE_MODEL": model2}
    fast = run(args, raw, env=env)
    slow = run(args, raw, typer_path=True, env=env)
    assert fast[:3] == slow[:3], (fast[2], slow[2])
    if fast[0] != 3:  # an error message is written by typer.echo, imported then; a verdict never needs it
        assert "typer" not in fast[3]["modules"] and fast[2] == b""
    else:
        assert fast[1] == raw and fast[2].startswith(b"spamscore: error: ")


def test_fast_path_and_typer_agree_on_a_closed_stdout(model2):
    raw = (FIXTURES / "multipart_spam.eml").read_bytes() * 200  # more than a pipe holds
    got = []
    for typer_path in (False, True):
        r, w = os.pipe()
        os.close(r)
        argv = [sys.executable, "-c", RUNNER] + (["--typer"] if typer_path else []) + ["filter", "--model", model2]
        try:
            p = subprocess.run(argv, input=raw, stdout=w, stderr=subprocess.PIPE, timeout=120, env=_env())
        finally:
            os.close(w)
        got.append((p.returncode, p.stderr.rpartition(b"\n")[0]))
    assert got[0] == got[1]
    assert got[0][0] == 3 and b"stdout closed" in got[0][1]


@pytest.mark.parametrize("args", [
    ["filter", "--help"],
    ["filter", "-h"],
    ["filter", "--max-size", "100"],            # below its minimum: typer's error
    ["filter", "--max-size", "1_024"],          # a spelling typer takes and the fast path leaves to it
    ["filter", "--timeout", "-1"],
    ["filter", "--exit-code=yes"],
    ["filter", "--no-exit-code"],
    ["filter", "--modle", "x"],
    ["filter", "extra"],
    ["filter", "--tag-subject"],
    ["filter", "--model", ""],
])
def test_anything_else_goes_through_typer(model2, args):
    raw = (FIXTURES / "plain_ham.eml").read_bytes()
    env = {"SPAMSCORE_MODEL": model2}
    fast = run(args, raw, env=env)
    slow = run(args, raw, typer_path=True, env=env)
    assert fast[:3] == slow[:3]
    assert "typer" in fast[3]["modules"]
    if "-h" in args or "--help" in args:
        assert fast[0] == 0 and b"Usage: spamscore filter" in fast[1] and b"--trusted-authserv-id" in fast[1]


def test_parse_args_takes_click_spellings_and_leaves_the_rest():
    p = _filter.parse_args
    assert p([]) == {"model": None, "tag_subject": None, "exit_code": False, "max_size": 512 * 1024,
                     "trusted": [], "timeout": 5.0}
    got = p(["-m", "a", "--model=b", "--tag-subject", "[S] x", "--exit-code", "--max-size=2048",
             "--trusted-authserv-id", "r1", "--trusted-authserv-id=r2", "--timeout", "0.25"])
    assert got == {"model": "b", "tag_subject": "[S] x", "exit_code": True, "max_size": 2048,
                   "trusted": ["r1", "r2"], "timeout": 0.25}
    for bad in (["--help"], ["-h"], ["x"], ["--"], ["--max-size", "1023"], ["--max-size", "01024"],
                ["--timeout", "1e3"], ["--timeout", " 1"], ["--timeout", "-0"], ["--model"], ["-mfoo"],
                ["-m=foo"], ["--exit-code=1"], ["--tag-subject", "-x"], ["--model="], ["--version"]):
        assert p(bad) is None, bad


def test_commands_are_imported_lazily():
    code = ("import sys\n"
            "import spamscore.cli, spamscore.cli._filter  # before OPENBLAS_NUM_THREADS is set: no numpy\n"
            "heavy = ('typer', 'numpy', 'spamscore.features', 'spamscore.cli.core')\n"
            "print(sorted(m for m in heavy if m in sys.modules))\n"
            "sys.argv = ['spamscore', 'convert', '--help']\n"
            "try:\n    spamscore.cli.main()\nexcept SystemExit:\n    pass\n"
            "modules = {'spamscore.cli.' + m for m in spamscore.cli.COMMANDS.values()}\n"
            "commands = [m for m in sys.modules if m in modules]\n"
            "print(sorted(m.rsplit('.', 1)[1] for m in commands))\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=_env())
    lines = p.stdout.strip().splitlines()
    assert lines[0] == "[]", p.stderr
    assert lines[-1] == "['convert']", p.stderr
    assert "Usage: spamscore convert" in p.stdout


def test_every_command_is_in_the_table_and_help_keeps_its_order():
    """COMMANDS names each command's module (a command added to a module but not to the table would
    be missing when another is run), and --help lists them in its order, whichever module came first."""
    code = ("import spamscore.cli.convert, spamscore.cli.pipeline\n"
            "from spamscore.cli import COMMANDS, app, load_commands\n"
            "import typer.main\n"
            "group = typer.main.get_command(app)\n"
            "from typer.testing import CliRunner\n"
            "r = CliRunner().invoke(app, ['--help'], terminal_width=200)\n"
            "names = [l.split()[1] for l in r.stdout.splitlines() if l.startswith('│ ') and l.split()[1] in COMMANDS]\n"
            "print(sorted(group.commands) == sorted(COMMANDS), names == list(COMMANDS), r.exit_code)\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=_env())
    assert p.stdout.split() == ["True", "True", "0"], p.stdout + p.stderr
    for name, module in COMMANDS.items():
        code = (f"import spamscore.cli\nspamscore.cli.load_commands([{name!r}])\n"
                "import typer.main\nfrom spamscore.cli._app import app\n"
                "print(sorted(typer.main.get_command(app).commands))\n")
        p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=_env())
        assert name in p.stdout, (name, module, p.stderr)


def test_package_attributes_are_imported_on_first_use():
    code = ("import sys, spamscore\n"
            "print('numpy' in sys.modules, 'spamscore.scoring' in sys.modules)\n"
            "from spamscore import *\n"
            "import spamscore.scoring as s, spamscore.message as m\n"
            "print(spamscore.load_model is s.load_model, spamscore.Limits is m.Limits, spamscore.features.__name__)\n"
            "print(hasattr(spamscore, 'no_such_thing'))\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=_env())
    assert p.stdout.split() == ["False", "False", "True", "True", "spamscore.features", "False"], p.stderr


def test_fast_path_defaults_and_options_are_the_typer_commands():
    """The fast path's defaults are the typer command's, and it knows no option the command lacks (an
    option added to the command only is left to typer: parse_args does not know it)."""
    import typer.main

    from spamscore.cli import app

    params = {p.name: p for p in typer.main.get_command(app).commands["filter"].params}
    defaults = _filter.parse_args([])
    assert set(defaults) == set(params) - {"help"}
    for key, value in defaults.items():
        want = params[key].default
        assert value == ([] if key == "trusted" and want is None else want), key
    spelt = {opt for p in params.values() for opt in p.opts}
    assert set(_filter.VALUED) | set(_filter.FLAGS) <= spelt
