"""The house rules of issue 17, checked on the source: rooms of one job, no reaching into another module's privates.

* no module in ``spamscore/`` over 500 lines (a newcomer reads a room in one sitting);
* no module imports another module's private name (``from .x import _y``) or reads one (``x._y``), except private
  *modules* (``_native``, ``cli._filter``), which are a package's internal rooms by name, not a module's internals.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "spamscore"
MODULES = sorted(p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts)
MAX_LINES = 500


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(path: Path, node: ast.ImportFrom) -> str | None:
    """The absolute module an ImportFrom names, or None outside spamscore."""
    if node.level == 0:
        return node.module if node.module and node.module.split(".")[0] == "spamscore" else None
    base = _module_name(path).split(".")
    if path.name != "__init__.py":
        base.pop()
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _is_module(dotted: str) -> bool:
    p = PKG.parent.joinpath(*dotted.split("."))
    return p.with_suffix(".py").exists() or (p / "__init__.py").exists() or \
        any(PKG.parent.joinpath(*dotted.split(".")[:-1]).glob(dotted.split(".")[-1] + ".*.so"))


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = []
    module_aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            target = _resolve(path, node)
            if target is None:
                continue
            for alias in node.names:
                full = f"{target}.{alias.name}"
                if _is_module(full):
                    module_aliases[alias.asname or alias.name] = full
                elif _private(alias.name) and target != _module_name(path):
                    out.append(f"{path.relative_to(PKG.parent)}:{node.lineno}: imports {target}.{alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "spamscore" and alias.asname:
                    module_aliases[alias.asname] = alias.name
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and _private(node.attr):
            mod = module_aliases.get(node.value.id)
            if mod and mod != _module_name(path) and not _is_module(f"{mod}.{node.attr}"):
                out.append(f"{path.relative_to(PKG.parent)}:{node.lineno}: reads {mod}.{node.attr}")
    return out


def test_the_package_is_there():
    assert len(MODULES) > 30


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG)))
def test_no_room_over_500_lines(path):
    n = len(path.read_text(encoding="utf-8").splitlines())
    assert n <= MAX_LINES, f"{path.relative_to(PKG.parent)}: {n} lines"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PKG)))
def test_no_module_reaches_into_anothers_private_names(path):
    assert violations(path) == []


def test_the_check_finds_a_reach_in(tmp_path, monkeypatch):
    """The rule itself can fail: a module that imports a private name is reported."""
    fake = PKG / "features" / "tokens.py"
    src = "from ..model import _secret\nfrom . import urls\nurls._hidden\n"
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: src if self == fake else Path.read_bytes(self).decode())
    found = violations(fake)
    assert any("_secret" in v for v in found) and any("_hidden" in v for v in found), found
