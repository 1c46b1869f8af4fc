"""spamscore: a Bayesian spam filter and scoring engine that explains itself.

    >>> import spamscore
    >>> model = spamscore.load_model()            # the shipped default model
    >>> verdict = model.score(open("mail.eml", "rb").read())
    >>> verdict.label, round(verdict.probability, 3), verdict.clues[:3]
"""

from __future__ import annotations

import importlib

from .errors import CorpusError, InputError, ModelError, ModelFormatError, ModelVersionError, SpamscoreError

__version__ = "0.1.0"

# Imported on first use (PEP 562), not with the package: ``spamscore.features`` imports numpy, and
# `spamscore filter` has to set OpenBLAS's thread count before that happens (spamscore.cli.main);
# `spamscore --help` and the other commands' option parsing need none of it.
_LAZY = {
    "FEATURE_VERSION": "features", "FeatureOptions": "features",
    "Limits": "message", "ParsedMessage": "message", "parse": "message",
    "Clue": "scoring", "Model": "scoring", "Verdict": "scoring", "load_model": "scoring", "train": "scoring",
}


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    elif not name.startswith("__"):  # a submodule, as `import spamscore` used to leave them imported
        try:
            value = importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))

__all__ = [
    "load_model", "score", "train", "Model", "Verdict", "Clue", "parse", "ParsedMessage", "Limits",
    "FeatureOptions", "FEATURE_VERSION",
    "SpamscoreError", "ModelError", "ModelFormatError", "ModelVersionError", "CorpusError", "InputError",
]


_default_model: Model | None = None


def score(raw: bytes) -> Verdict:
    """Score one raw message with the default model (loaded on first use)."""
    global _default_model
    if _default_model is None:
        from .scoring import load_model

        _default_model = load_model()
    return _default_model.score(raw)
