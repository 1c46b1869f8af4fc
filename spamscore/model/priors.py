"""What the model believes before it counts: prior (x, s) tables, and which tokens are shrunk harder.

A prior gives a token a spam probability ``x`` worth ``s`` pseudo-messages in
Robinson's ``f(w) = (s*x + n*p(w)) / (s + n)`` (:meth:`TokenNB.token_probabilities
<spamscore.model.nb.TokenNB.token_probabilities>`): it decides while the token
has no counts, and real training mail outweighs it after a few messages.
CJK tokens (:func:`cjk_flags`) are shrunk towards ``x`` with a larger
strength, ``TokenNB(cjk_s=...)`` (:mod:`spamscore.features.japanese` says why).
"""

from __future__ import annotations

import re

import numpy as np

from ..features.bulk import BULK_PRIORS
from ..features.japanese import JA_PHRASE_PRIORS

__all__ = ["AUTH_PRIORS", "DEFAULT_PRIORS", "cjk_flags"]

# Prior beliefs (x, s) for authentication tokens, used when training data has
# few or none of them (the SpamAssassin corpus has none).  x is the prior spam
# probability, s its strength in pseudo-messages: with s=3, three real
# messages weigh as much as the prior.  The values follow how receivers weigh
# these results (a DMARC failure is strong evidence, an aligned DKIM pass is
# good evidence of legitimate mail).  They must lie at least TokenNB's
# min_dev (0.44) from 0.5 to count as clues at all: a prior of 0.92 would be
# ignored.  They are about as strong as a word seen once in training (0.956),
# and in the header family's S (with its neutral pseudo-clues) none alone
# pushes a message past the spam cut-off.
AUTH_PRIORS: dict[str, tuple[float, float]] = {
    "auth:dmarc=fail": (0.95, 3.0),
    "auth:dmarc=pass": (0.05, 3.0),
    "auth:spf=fail": (0.95, 3.0),
    "auth:spf=softfail": (0.945, 3.0),
    "auth:dkim=fail": (0.95, 3.0),
    "auth:dkim=pass:aligned": (0.05, 3.0),
    "auth:spf=pass:aligned": (0.055, 3.0),
    "auth:arc=fail": (0.945, 3.0),
    "spf-hdr:fail": (0.95, 3.0),
    "spf-hdr:softfail": (0.945, 3.0),
}

# Every prior a new model starts from: authentication results (above),
# legitimate bulk-sending structure (spamscore.features.bulk) and Japanese
# phrases (spamscore.features.japanese).  A model file stores the
# priors it was trained with.
DEFAULT_PRIORS: dict[str, tuple[float, float]] = {**AUTH_PRIORS, **BULK_PRIORS, **JA_PHRASE_PRIORS}

_CJK_CHAR = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")


def cjk_flags(tokens) -> np.ndarray:
    """Which of ``tokens`` hold a CJK character (a bool array, one flag a token).

    The ASCII tokens (most) are told apart by ``str.isascii`` mapped over all of them, the regular expression
    searches the others only: ~25 ms for the 821,000 tokens of a TREC-sized vocabulary, ~40 ms as one generator.
    """
    tokens = tokens if isinstance(tokens, list) else list(tokens)
    flags = np.zeros(len(tokens), dtype=bool)
    search = _CJK_CHAR.search
    for i in np.flatnonzero(~np.fromiter(map(str.isascii, tokens), dtype=bool, count=len(tokens))).tolist():
        flags[i] = search(tokens[i]) is not None
    return flags
