"""Shared fixtures: fixture messages, a small trained model, the shipped default model."""

from __future__ import annotations

import os
import random
import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parent.parent


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def require_tool(name: str) -> str:
    """Path of a system tool; skip without it on a dev machine, fail under CI."""
    path = shutil.which(name) or next((p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.path.exists(p)), None)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is required in CI but is not installed (see .ci/setup.d/)")
        pytest.skip(f"{name} not installed")
    return path


def native_reason(*names: str) -> str:
    """Why the compiled helpers ``names`` are not in use, from spamscore._native.STATUS (a skip reason).

    "off: SPAMSCORE_PURE=1", "not built: <the ImportError>" or "off: <the
    failed self-check>", not a guess such as "no C compiler"."""
    from spamscore import _native

    for name in names:
        _native.load(name)  # (idempotent: the package asked already)
    why = [f"spamscore.{n} {_native.STATUS[n]}" for n in names if _native.STATUS[n] != "loaded"]
    return "; ".join(why) or "loaded"


_SPAM_WORDS = "free prize winner claim cash offer viagra casino loan credit guaranteed urgent click unsubscribe million".split()
_HAM_WORDS = "meeting patch release build kernel review thanks branch commit python module notes lunch tomorrow".split()


def make_message(rng: random.Random, spam: bool, i: int) -> bytes:
    words = _SPAM_WORDS if spam else _HAM_WORDS
    body = " ".join(rng.choice(words) for _ in range(40))
    sender = f"promo{i}@offers{i % 3}.example" if spam else f"dev{i}@lists.example.org"
    subject = " ".join(rng.choice(words) for _ in range(4))
    extra = "Click http://bit.ly/x%d now\n" % i if spam else ""
    return (f"From: {sender}\nTo: user@example.net\nSubject: {subject}\nMessage-ID: <{i}.{spam}@example>\n"
            f"Content-Type: text/plain; charset=us-ascii\n\n{body}\n{extra}").encode()


@pytest.fixture(scope="session")
def small_corpus(tmp_path_factory) -> Path:
    """A labelled corpus of generated messages: spam/ and ham/ folders and a labels.tsv."""
    root = tmp_path_factory.mktemp("corpus")
    rng = random.Random(42)
    lines = []
    for label in ("spam", "ham"):
        (root / label).mkdir()
        for i in range(30):
            p = root / label / f"{i:03d}.eml"
            p.write_bytes(make_message(rng, label == "spam", i))
            lines.append(f"{label}/{p.name}\t{label}")
    (root / "labels.tsv").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture(scope="session")
def small_model_path(small_corpus, tmp_path_factory) -> Path:
    from spamscore.corpus import iter_index
    from spamscore.batch import train_items

    model, _ = train_items(iter_index(small_corpus / "labels.tsv"), folds=3)
    path = tmp_path_factory.mktemp("model") / "small.spamscore"
    model.save(path)
    return path


@pytest.fixture(scope="session")
def small_model(small_model_path):
    import spamscore

    return spamscore.load_model(small_model_path)


@pytest.fixture(scope="session")
def default_model():
    import spamscore

    return spamscore.load_model()
