"""spamscore: a Bayesian spam filter and scoring engine that explains itself.

    >>> import spamscore
    >>> model = spamscore.load_model()            # the shipped default model
    >>> verdict = model.score(open("mail.eml", "rb").read())
    >>> verdict.label, round(verdict.probability, 3), verdict.clues[:3]
"""

from .errors import CorpusError, InputError, ModelError, ModelFormatError, ModelVersionError, SpamscoreError
from .features import FEATURE_VERSION, FeatureOptions
from .message import Limits, ParsedMessage, parse
from .scoring import Clue, Model, Verdict, load_model, train

__version__ = "0.1.0"

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
        _default_model = load_model()
    return _default_model.score(raw)
