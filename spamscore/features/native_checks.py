"""Whether the compiled body scanner gives what the Python code gives, on this interpreter.

``spamscore._bodyscan`` takes a text's words in C with character tables
generated once; :mod:`spamscore.features.tokens` runs these checks when it is
imported and turns the helper (or only its hashed path) off when one fails,
so that a Unicode or build difference changes speed, never a feature.
"""

from __future__ import annotations

import unicodedata

from .. import _native


def bodyscan_tables_agree(bodyscan, normalize) -> str | None:
    """Why the compiled body scanner's (``_bodyscan``) character tables disagree with this interpreter, or None when they agree.

    Its tables were generated from one Unicode version (14.0.0, Python
    3.11's); each character it takes is checked here against this
    interpreter's ``unicodedata`` (what ``normalize`` (:func:`spamscore.features.tokens.normalize`), ``str.lower`` and
    ``str.split`` make of it alone: 2,865 characters, ~2 ms once), so that on
    3.12, 3.13 and later it runs wherever it still gives what the Python code
    gives, and a Unicode change to one of its characters turns it off instead
    of changing a feature.  Per character is enough: it declines any text
    holding a character it does not take (every character newer than its
    tables among them), no character it takes is a combining mark (checked
    here) or the second of a canonical composition (tests/testbodyscan.py
    checks the whole BMP), and Unicode's normalization stability policy keeps
    compositions of already encoded characters from appearing later.
    """
    try:
        word_from, word_to, spaces, deleted = bodyscan.char_classes()
    except Exception as e:  # pragma: no cover - a build without char_classes
        return f"no char_classes() ({e})"
    if len(word_from) != len(word_to):  # pragma: no cover
        return "char_classes() gave tables of different lengths"
    # Each character alone, all in one call: U+E000 (private use, not taken)
    # between them is a starter that composes with nothing, so NFKC treats
    # each one apart, and str.lower() is per character but for a final sigma
    # (Σ is not taken).
    def each(chars: str) -> list[str]:
        return normalize("\ue000".join(chars)).lower().split("\ue000") if chars else []

    version = unicodedata.unidata_version
    if each(word_from) != list(word_to) or any(map(str.isspace, word_to)) \
            or any(map(unicodedata.combining, word_from)):
        for c, m, n in zip(word_from, word_to, each(word_from)):  # (only to say which)
            if n != m or m.isspace() or unicodedata.combining(c):
                return f"U+{ord(c):04X} is not {m!r} under Unicode {version}"
        return f"the word characters are not what they are under Unicode {version}"  # pragma: no cover
    for c, n in zip(spaces, each(spaces)):
        if not n or not n.isspace():
            return f"U+{ord(c):04X} is not white space under Unicode {version}"
    for c, n in zip(deleted, each(deleted)):
        if n:
            return f"U+{ord(c):04X} is not removed under Unicode {version}"
    return None


def word_hashes_agree(bodyscan, speedups, punct: str, max_bigram_words: int) -> bool:
    """Whether ``bodyscan.word_hashes`` gives the token hash of the tokens ``bodyscan.words`` gives.

    It hashes each token's UTF-8 (SipHash-1-3, fixed key: spamscore/native/core.h)
    without making the str, and ``_speedups`` keys the dense clue table by the
    same function of the str; checked once here against the Python reference
    (:func:`spamscore._native.token_hash`) on words of one and two bytes a
    character, so that a build whose two modules disagree turns the hashed
    scoring path off instead of scoring wrongly.
    """
    fn = getattr(bodyscan, "word_hashes", None)
    if fn is None or speedups is None or not hasattr(speedups, "token_hashes"):
        return False
    try:
        import numpy as np

        sample = "Hello wörld, ÿes: naïve \u201cquoted\u201d \u20acuro ok! supercalifragilistic abc abc"
        for pair in ("", None, "p:"):
            got = fn(sample, "x:", punct, pair, max_bigram_words)
            want = bodyscan.words(sample, "x:", punct, pair, max_bigram_words)
            if got is None or want is None:
                return False
            want = sorted(want)
            ref = {_native.token_hash(t) for t in want}
            if set(np.frombuffer(got, dtype=np.int64).tolist()) != ref:
                return False
            if set(np.frombuffer(speedups.token_hashes(want), dtype=np.int64).tolist()) != ref:
                return False
        return True
    except Exception:  # pragma: no cover - any surprise: the str path
        return False
