"""Exceptions raised by spamscore.

One base class, a few narrow subclasses (the dkimpy way).  The library raises
these; only the CLI edge turns them into a one-line message and exit code 2.
"""

__all__ = [
    "SpamscoreError",
    "ModelError",
    "ModelFormatError",
    "ModelVersionError",
    "CorpusError",
    "InputError",
]


class SpamscoreError(Exception):
    """Base class of every error spamscore raises on purpose."""


class ModelError(SpamscoreError):
    """A model cannot be used (not fitted, missing file, ...)."""


class ModelFormatError(ModelError):
    """A model file is not a spamscore model, or is damaged."""


class ModelVersionError(ModelError):
    """A model file was written by another format or feature-extractor version."""


class CorpusError(SpamscoreError):
    """Training or evaluation data cannot be read (bad index, missing path...)."""


class InputError(SpamscoreError):
    """A message or argument cannot be read."""
