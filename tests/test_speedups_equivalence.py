"""spamscore._speedups' feature loops against their Python references, on real and hostile mail.

``tokens.words`` hands the per-word loop to ``_speedups.word_tokens`` (the
reference: ``tokens.word_tokens_py``) when ``_bodyscan`` leaves a text to it
(non-ASCII text, or ``_bodyscan`` not in use), and ``urls.find_urls`` picks the
words that can hold a URL with ``_speedups.url_words`` (``urls.url_words_py``)
when ``_urlscan`` leaves them.  Here both run with ``_bodyscan`` and
``_urlscan`` off, so that every text reaches them, on every input of
tests/equivalence.py.  The lookup and clue sums of ``_speedups`` (the model's
side) are compared through whole verdicts: tests/test_native_equivalence.py,
tests/test_word_hashes.py, tests/test_clue_sums.py, tests/test_hash_index.py.
"""

from __future__ import annotations

from spamscore.features import analyze, tokens, urls
from spamscore.message import parse

import equivalence as eq

_WORD_ARGS = [dict(), dict(bigrams=True), dict(prefix="subject:", max_chars=2000), dict(bigrams="bi:", max_chars=37)]


def test_words_and_url_words_on_every_input():
    eq.require(tokens, "_speedups")
    n = 0
    for name, raw in eq.messages():
        pm = parse(raw)
        with eq.off((tokens, "_bodyscan"), (urls, "_urlscan")):
            a = analyze(pm)
            texts = [a.plain_text] + ([a.visible_text] if a.visible_text is not None else []) + [pm.subject]
            for text in texts:
                for kw in _WORD_ARGS:
                    eq.compare(lambda: tokens.words(text[:50_000], **kw), (tokens, "_speedups"),
                               label=f"{name} words {kw}")
                seq = text.lower().split()
                eq.assert_same(urls._speedups.url_words(seq), urls.url_words_py(seq), name + " url_words")
                eq.compare(lambda: urls.find_urls(text, 500, text.lower(), seq), (urls, "_speedups"),
                           label=name + " find_urls")
            eq.compare(lambda: tokens.body_tokens(texts[:2], 200_000), (tokens, "_speedups"), label=name)
        n += 1
    assert n > 60


def test_the_references_are_the_code_that_runs_without_the_helper():
    """word_tokens_py and url_words_py are what words() and find_urls() call when _speedups is off."""
    assert tokens.word_tokens_py is tokens._word_tokens and urls.url_words_py is urls._url_words
    seq = "free www.example.com offer http://x.example/a".split()
    assert urls.url_words_py(seq) == ["www.example.com", "http://x.example/a"]
    assert tokens.word_tokens_py(set(seq), seq, "p:", None) == {"p:free", "p:offer", "p:skip:w 10", "p:skip:h 10"}
