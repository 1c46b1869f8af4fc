"""Packaging (issue 15): the model as package data, --version, a light scoring path, an sdist and a wheel.

.ci/run also installs the built wheel into a fresh venv outside the source
tree and runs the suite against it with ``SPAMSCORE_EXPECT_INSTALLED=1``:
then test_the_package_under_test_is_the_expected_one checks that the imports
come from site-packages and that the model found is the wheel's own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

import spamscore
from spamscore import scoring
from spamscore.cli import app
from spamscore.errors import ModelError
from spamscore.features import FEATURE_VERSION
from spamscore.model import FORMAT_VERSION

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
MODEL_FILES = ("default.spamscore", "MODEL_CARD.md", "default.metrics.json")
INSTALLED = os.environ.get("SPAMSCORE_EXPECT_INSTALLED", "") not in ("", "0")


# -- a light scoring path -------------------------------------------------------

def test_scoring_path_imports_no_training_or_network_library(small_model_path):
    """import spamscore, load the default model ($SPAMSCORE_MODEL: a model of this feature version), score every
    fixture: no scikit-learn, SciPy or requests.

    Importing them cost 1.4 s (scikit-learn with SciPy) and 77 ms (requests,
    through tldextract) of start-up that scoring never used.  (A URL host the
    suffix walk cannot answer, such as punycode, still builds tldextract's
    extractor, and so imports requests, at its first sight: 2 of the 6,046
    SpamAssassin messages.)
    """
    code = (
        "import sys, pathlib\n"
        "import spamscore\n"
        "model = spamscore.load_model()\n"
        "paths = sorted(pathlib.Path(sys.argv[1]).rglob('*.eml'))\n"
        "assert len(paths) >= 8, paths\n"
        "labels = [model.score(p.read_bytes()).label for p in paths]\n"
        "assert set(labels) <= {'ham', 'unsure', 'spam'}, labels\n"
        "spamscore.score(b'Subject: hi\\n\\nhttp://www.example.co.uk/x and https://t.co/abc')\n"
        "from spamscore.cli import app\n"  # and `spamscore score`, the command
        "app(['score', str(paths[0])], standalone_mode=False)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'scipy', 'requests', 'tldextract'}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(FIXTURES)], capture_output=True, text=True,
                         env={**os.environ, "SPAMSCORE_MODEL": str(small_model_path)}, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.splitlines()[-1] == "[]", out.stdout


def test_training_imports_scikit_learn_only_when_it_trains():
    """Training uses scikit-learn's own estimators (spamscore._fit); importing the package does not import them."""
    code = (
        "import sys\n"
        "from spamscore.scoring import train\n"
        "before = 'sklearn' in sys.modules\n"
        "docs = [['free', 'money', 'now'], ['meeting', 'notes'], ['cheap', 'free'], ['lunch', 'notes']] * 5\n"
        "m = train(docs, ['spam', 'ham', 'spam', 'ham'] * 5)\n"
        "assert m.score(b'Subject: free money now\\n\\nfree').probability > 0.5\n"
        "print(before, 'sklearn' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["False", "True"], out.stdout


# -- the default model: package data, else the source tree -----------------------

def test_the_package_under_test_is_the_expected_one():
    """Under .ci/run's wheel run, spamscore comes from site-packages with its own model; else from this checkout."""
    here = Path(spamscore.__file__).resolve().parent
    found = scoring.default_model_path() if "SPAMSCORE_MODEL" not in os.environ else None
    if INSTALLED:
        assert REPO not in here.parents, f"spamscore imported from the checkout ({here}), not the installed wheel"
        for name in MODEL_FILES:
            assert (here / "models" / name).is_file(), f"the wheel lacks spamscore/models/{name}"
        if found is not None:
            assert found == here / "models" / "default.spamscore"
    else:
        assert here == REPO / "spamscore", here
        if found is not None:
            assert found.resolve() == REPO / "models" / "default.spamscore"


def test_packaged_model_comes_first(tmp_path, monkeypatch):
    monkeypatch.delenv("SPAMSCORE_MODEL", raising=False)
    (tmp_path / "models").mkdir()
    model = tmp_path / "models" / "default.spamscore"
    monkeypatch.setattr("importlib.resources.files", lambda pkg: tmp_path)
    assert scoring.default_model_path() == scoring._REPO_MODEL  # no file there yet: the source tree's
    model.write_bytes(b"PK\x03\x04")
    assert scoring.default_model_path() == model
    monkeypatch.setenv("SPAMSCORE_MODEL", str(tmp_path / "mine.spamscore"))
    assert scoring.default_model_path() == tmp_path / "mine.spamscore"


def test_a_missing_default_model_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.delenv("SPAMSCORE_MODEL", raising=False)
    monkeypatch.setattr("importlib.resources.files", lambda pkg: tmp_path)
    monkeypatch.setattr(scoring, "_REPO_MODEL", tmp_path / "nowhere" / "default.spamscore")
    with pytest.raises(ModelError, match="installed package"):
        spamscore.load_model()
    monkeypatch.setenv("SPAMSCORE_MODEL", str(tmp_path / "gone.spamscore"))
    with pytest.raises(ModelError, match=r"gone\.spamscore.*SPAMSCORE_MODEL"):
        spamscore.load_model()


# -- spamscore --version --------------------------------------------------------

def _header_of(path) -> dict:
    """A model file's header the long way: the whole file loaded (either format)."""
    from spamscore.model import load_model_file

    return load_model_file(path, FEATURE_VERSION)[1]


def test_version_names_package_feature_and_model_versions(monkeypatch):
    monkeypatch.delenv("SPAMSCORE_MODEL", raising=False)
    header = _header_of(scoring.default_model_path())
    res = CliRunner().invoke(app, ["--version"])
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    assert lines[0] == f"spamscore {spamscore.__version__}"
    assert f"feature version {FEATURE_VERSION}" in lines
    assert f"model format version {FORMAT_VERSION}" in lines
    model_line = next(line for line in lines if line.startswith("default model "))
    assert str(scoring.default_model_path()) in model_line
    assert f"feature version {header['feature_version']}," in model_line
    assert f"trained {header['trained_at']}" in model_line


def test_version_reads_the_header_alone(tmp_path, small_model_path):
    import numpy as np

    from spamscore.cli._app import _model_header

    shipped = REPO / "models" / "default.spamscore"
    assert _model_header(shipped) == _header_of(shipped)
    m = spamscore.load_model(small_model_path)
    m.meta["trained_at"] = "2026-01-02T03:04:05Z"
    m.save(tmp_path / "small.spamscore")  # (the current format)
    header = _model_header(tmp_path / "small.spamscore")
    assert header == _header_of(tmp_path / "small.spamscore")
    assert header["trained_at"] == "2026-01-02T03:04:05Z" and header["feature_version"] == FEATURE_VERSION
    # a format 1 archive (.npz): only its header array is read
    made = {"magic": "spamscore-model", "format_version": 99, "feature_version": "x", "trained_at": "2026-01-02T03:04:05Z"}
    huge = np.zeros(1 << 22, dtype=np.uint8)  # a vocabulary (4 MiB) that the header read leaves alone
    np.savez_compressed(tmp_path / "m.npz", header=np.frombuffer(json.dumps(made).encode(), dtype=np.uint8),
                        vocabulary=huge)
    assert _model_header(tmp_path / "m.npz") == made


def test_version_survives_a_damaged_default_model(tmp_path, monkeypatch):
    bad = tmp_path / "bad.spamscore"
    bad.write_bytes(b"PK\x03\x04 not really a zip")
    monkeypatch.setenv("SPAMSCORE_MODEL", str(bad))
    res = CliRunner().invoke(app, ["--version"])
    assert res.exit_code == 0, res.output
    assert f"default model {bad}: unreadable" in res.output


# -- an sdist and a wheel -------------------------------------------------------

def test_sdist_and_wheel_build(tmp_path):
    """``python -m build``: an sdist with models/ and the native core's sources, and a wheel built from it
    with spamscore/models/ and the one extension module spamscore._core.

    (About 20 s: an isolated build environment and the native core.  .ci/run
    runs it once, in the README's run.)
    """
    pytest.importorskip("build", reason="python -m build needs the 'build' package (the test extra)")
    proc = subprocess.run([sys.executable, "-m", "build", "--outdir", str(tmp_path), str(REPO)],
                          capture_output=True, text=True, timeout=900)
    if proc.returncode != 0 and "satisfies the requirement" in proc.stdout + proc.stderr and not os.environ.get("CI"):
        pytest.skip("no package index for the isolated build environment")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    (sdist,) = tmp_path.glob("spamscore-*.tar.gz")
    (wheel,) = tmp_path.glob("spamscore-*.whl")
    assert wheel.name.startswith(f"spamscore-{spamscore.__version__}-")
    with tarfile.open(sdist) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    for name in MODEL_FILES:
        assert f"models/{name}" in names
    sources = sorted(p.name for p in (REPO / "spamscore" / "native").glob("*.[ch]"))  # the native core
    assert "core.h" in sources and all(f"spamscore/native/{s}" in names for s in sources), sources
    with zipfile.ZipFile(wheel) as zf:
        wnames = set(zf.namelist())
        for name in MODEL_FILES:
            assert zf.read(f"spamscore/models/{name}") == (REPO / "models" / name).read_bytes()
        meta = zf.read(f"spamscore-{spamscore.__version__}.dist-info/METADATA").decode()
    assert not any(n.endswith((".c", ".h")) for n in wnames)  # sources stay in the sdist
    # one compiled module, the native core (where a compiler is: this machine has one; without, optional=True
    # leaves it out), and no other (a stale build/ of the six former extensions must not reach a wheel)
    compiled = [n for n in wnames if n.endswith((".so", ".pyd"))]
    assert len(compiled) == 1 and compiled[0].startswith("spamscore/_core."), compiled
    requires = [line.split(":", 1)[1].strip() for line in meta.splitlines() if line.startswith("Requires-Dist:")]
    assert any(r.startswith("scipy") for r in requires), requires


def test_ci_runs_the_readme_test_command_then_the_wheel_and_pure_runs():
    readme = (REPO / "README.md").read_text().splitlines()
    command = next(line for line in readme if line.startswith("python3 -m venv .venv") and "pytest" in line)
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert command in ci, "the README's test command must appear in .ci/run exactly"
    after = ci[ci.index(command) + 1:]
    assert any("SPAMSCORE_EXPECT_INSTALLED=1" in line and "pytest" in line for line in after)
    assert any("SPAMSCORE_PURE=1" in line and "pytest" in line for line in after)


def test_dependencies_are_what_the_package_imports():
    """Every third-party module spamscore/ imports is declared (dask in its extra), and nothing else is.

    An import in an ``except ImportError`` handler is a fallback (click, for
    a typer without its own copy): left out.
    """
    import ast
    import re
    import tomllib
    from importlib.metadata import packages_distributions

    def guarded(tree) -> set[int]:
        out = set()
        for node in ast.walk(tree):
            for h in node.handlers if isinstance(node, ast.Try) else ():
                if h.type is not None and {"ImportError", "ModuleNotFoundError"} & {
                        n.id for n in ast.walk(h.type) if isinstance(n, ast.Name)}:
                    out.update(id(n) for n in ast.walk(h) if isinstance(n, (ast.Import, ast.ImportFrom)))
        return out

    imported: dict[str, str] = {}
    for path in sorted((REPO / "spamscore").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        optional = guarded(tree)
        for node in ast.walk(tree):
            if id(node) in optional:
                continue
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "spamscore":
                    imported.setdefault(top, str(path.relative_to(REPO)))
    canon = lambda name: re.sub(r"[-_.]+", "-", name).lower()  # noqa: E731
    dists = packages_distributions()
    missing = {top: where for top, where in imported.items() if top not in dists}
    assert not missing, f"imported but not installed (so not declared either): {missing}"
    needed = {canon(dists[top][0]): where for top, where in imported.items()}
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    requirement = lambda spec: canon(re.split(r"[<>=!~\[;\s]", spec, maxsplit=1)[0])  # noqa: E731
    declared = {requirement(d) for d in project["dependencies"]}
    extras = {requirement(d) for d in project["optional-dependencies"]["dask"]}
    undeclared = {d: where for d, where in needed.items() if d not in declared | extras}
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"
    assert declared <= set(needed), f"declared but never imported: {sorted(declared - set(needed))}"
