"""The compiled body words (spamscore._bodyscan) against the Python reference.

``tokens.words`` and ``tokens.body_tokens`` use the C pass for ASCII text
when the extension is built; each test runs them with ``tokens._bodyscan``
set and with it None (the Python code, which is what runs without a C
compiler) and compares.
"""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spamscore.features import FeatureOptions, analyze, extract
from spamscore.features import tokens as T
from spamscore.message import parse

import equivalence as eq
from conftest import fixture_bytes, native_reason

B = T._bodyscan
pytestmark = pytest.mark.skipif(B is None, reason=native_reason("_bodyscan"))

PUNCT = T._PUNCT
ASCII_WS = ["\t", "\n", "\x0b", "\x0c", "\r", " ", "\x1c", "\x1d", "\x1e", "\x1f"]
OTHER_WS = ["\x85", "\xa0", "\u3000", "\u2028", "\u2029", "\u1680"]
ASCII_CHARS = list(PUNCT) + list("abcXYZ09") + ["\x00", "\x07", "\x1b", "\x7f", "@", "$"]
LATIN1 = [chr(i) for i in range(128, 256)]
CHARS = ASCII_CHARS + ASCII_WS + OTHER_WS + LATIN1 + ["İ", "無", "料", "キ", "ャ", "ン", "\U0001F600", "\u200b",
                                                     "\udcff", "ｆ", "’", "Σ"]
LATIN1_TEXT = st.lists(st.one_of(st.text(st.sampled_from(ASCII_CHARS + LATIN1), max_size=20),
                                 st.text(st.sampled_from(ASCII_WS + ["\x85", "\xa0", "\xad"]), min_size=1, max_size=3)),
                       max_size=60).map("".join)
ASCII_TEXT = st.lists(st.one_of(st.text(st.sampled_from(ASCII_CHARS), max_size=30),
                                st.text(st.sampled_from(ASCII_WS), min_size=1, max_size=4)), max_size=80).map("".join)
ANY_TEXT = st.lists(st.one_of(st.text(st.sampled_from(CHARS), max_size=20),
                              st.text(st.sampled_from(ASCII_WS + OTHER_WS), min_size=1, max_size=3)),
                    max_size=60).map("".join)
PREFIXES = st.sampled_from(["", "subject:", "from:name:", "ü:"])
BIGRAMS = st.sampled_from([False, True, "", "bi:", "é "])
MAX_CHARS = st.sampled_from([200_000, 20_000, 2000, 50, 7, 1, 0, -3])


def both(fn, monkeypatch=None):
    """fn() with the C pass, then with the Python code (an exception either way as its type's name)."""
    c = eq.outcome(fn)
    with eq.off((T, "_bodyscan")):
        py = eq.outcome(fn)
    return c, py


@settings(max_examples=400, deadline=None)
@given(ASCII_TEXT, PREFIXES, BIGRAMS, MAX_CHARS, st.integers(0, 40))
def test_ascii_words_equal_the_python_code(text, prefix, bigrams, max_chars, max_pair_words):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(T, "MAX_BIGRAM_WORDS", max_pair_words)
        c, py = both(lambda: T.words(text, prefix, max_chars, bigrams), mp)
    assert c == py


@settings(max_examples=400, deadline=None)
@given(LATIN1_TEXT, PREFIXES, BIGRAMS, MAX_CHARS, st.integers(0, 40))
def test_latin1_words_equal_the_python_code(text, prefix, bigrams, max_chars, max_pair_words):
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(T, "MAX_BIGRAM_WORDS", max_pair_words)
        c, py = both(lambda: T.words(text, prefix, max_chars, bigrams), mp)
    assert c == py


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT, PREFIXES, BIGRAMS, MAX_CHARS)
def test_any_text_gives_the_same_words(text, prefix, bigrams, max_chars):
    with pytest.MonkeyPatch.context() as mp:
        c, py = both(lambda: T.words(text, prefix, max_chars, bigrams), mp)
    assert c == py


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(ANY_TEXT, ASCII_TEXT, LATIN1_TEXT), min_size=1, max_size=4), MAX_CHARS)
def test_body_tokens_and_caps_equal_the_python_code(texts, max_chars):
    with pytest.MonkeyPatch.context() as mp:
        c, py = both(lambda: T.body_tokens(list(texts), max_chars), mp)
    assert c == py


@settings(max_examples=200, deadline=None)
@given(st.one_of(ANY_TEXT, ASCII_TEXT, LATIN1_TEXT))
def test_subject_tokens_equal_the_python_code(subject):
    with pytest.MonkeyPatch.context() as mp:
        c, py = both(lambda: T.subject_tokens(subject), mp)
    assert sorted(c) == sorted(py)


def _python_words(text, prefix, pair_prefix, max_pair_words):
    seq = text.lower().split()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(T, "MAX_BIGRAM_WORDS", max_pair_words)
        return T._word_tokens(set(seq), seq, prefix, pair_prefix if len(seq) > 1 else None)


@settings(max_examples=300, deadline=None)
@given(ASCII_TEXT, st.sampled_from(["", "p:", "subject:"]), st.sampled_from([None, "", "bi:"]), st.integers(0, 50))
def test_the_c_function_itself(text, prefix, pair_prefix, max_pair_words):
    assert B.words(text, prefix, PUNCT, pair_prefix, max_pair_words) == _python_words(
        text, prefix, pair_prefix, max_pair_words)


def test_known_tokens():
    text = "Click HERE!! now (free) a verylongwordthatgoeson ... click\x1chere\x1fNOW"
    assert B.words(text, "", PUNCT, "", 3000) == {
        "click", "here", "now", "free", "skip:v 20", "click here", "here now", "now free"}
    assert B.words(text, "s:", PUNCT, None, 3000) == {"s:click", "s:here", "s:now", "s:free", "s:skip:v 20"}
    assert B.words(text, "", PUNCT, "", 2) == {"click", "here", "now", "free", "skip:v 20", "click here"}
    assert B.words("", "", PUNCT, "", 3000) == set()
    assert B.words(" \t\x1c\x1d\x1e\x1f\x0b\x0c\r\n ", "", PUNCT, "", 3000) == set()
    # Latin-1: NFKC, then lower-case; \x85 and \xa0 split, \xad goes
    assert B.words("ÀBC\x85dÉf\xa0g\xadhi ªbc x²y", "", PUNCT, None, 3000) == {"àbc", "déf", "ghi", "abc", "x2y"}
    assert B.words("ÉTÉ\xa0été", "", PUNCT, "", 3000) == {"été", "été été"}
    out = B.words("Ab\xadc dÉf", "", PUNCT, "", 3000)
    assert out == {"abc", "déf", "abc déf"} and [t for t in out if t.isascii()] == ["abc"]
    # punctuation and white space above U+00FF too
    assert B.words("It’s “free”\u3000—\u2028now\u200b!", "", PUNCT, "", 3000) == {
        "it’s", "“free”", "now", "it’s “free”"}  # (the lone dash breaks the pair)
    # CJK: the Python code, which segments it
    assert B.words("abc 無料", "", PUNCT, "", 3000) is None
    assert T.words("abc\x85def\xa0ghi\u3000jkl") == {"abc", "def", "ghi", "jkl"}


@pytest.mark.parametrize("code", range(256))
def test_every_latin1_character_is_what_the_python_code_makes_of_it(code, monkeypatch):
    ch = chr(code)
    texts = [f"ab{ch}cd", f"{ch}xY{ch}", f"{ch}", f"abc {ch} def", f"{ch * 14}z", f"x{ch}" * 7,
             f"Hello{ch}World hello{ch}world", f"{ch}abc{ch}\xe9"]
    for text in texts:
        c, py = both(lambda: T.words(text, "", 200, True), monkeypatch)
        assert c == py, (code, text)
        # canonical strs: the ASCII flag set exactly when all characters are ASCII
        assert all(t.isascii() == all(ord(x) < 128 for x in t) for t in c)


def test_letters_counts():
    assert B.letters(["ABc", "dE"], 100) == (5, 3)
    assert B.letters(["ABc", "dE"], 4) == (3, 2)      # "ABc\n"
    assert B.letters(["ABc", "dE"], 5) == (4, 2)      # "ABc\nd"
    assert B.letters(["ÀBé\udcffZ", "無X"], 100) == (3, 3)
    assert B.letters([], 10) == (0, 0)
    assert B.letters(["abc"], -1) is None
    assert B.letters(("abc",), 5) is None
    assert B.letters(["abc", 5], 5) is None


def test_declines_what_it_does_not_handle():
    assert B.words("Straße µ", "", PUNCT, None, 10) is None   # µ: NFKC gives Greek mu
    assert B.words("a\xbc", "", PUNCT, None, 10) is None     # ¼: three characters
    assert B.words("a\U0001F600b", "", PUNCT, None, 10) is None  # four bytes a character
    assert B.words("a\udcffb", "", PUNCT, None, 10) is None     # a lone surrogate
    assert B.words("a…b", "", PUNCT, None, 10) is None           # NFKC: three dots
    assert B.words("Ωmega", "", PUNCT, None, 10) is None         # has a lower case
    assert B.words("abc", "ü:", PUNCT, None, 10) is None
    assert B.words("abc def", "", PUNCT, "é", 10) is None
    assert B.words("abc", "", "«»", None, 10) is None
    assert B.words("abc def", "", PUNCT, "", -1) is None
    assert B.words(b"abc", "", PUNCT, None, 10) is None
    assert B.words("abc", 3, PUNCT, None, 10) is None
    with pytest.raises(TypeError):
        B.words("abc", "", PUNCT, None)
    with pytest.raises(TypeError):
        B.words("abc", "", PUNCT, None, "10")


def test_many_distinct_words_and_one_word_repeated():
    rng = random.Random(5)
    distinct = " ".join(f"w{i:x}{rng.randrange(10**6)}" for i in range(200_000))
    assert B.words(distinct, "", PUNCT, "", 3000) == _python_words(distinct, "", "", 3000)
    same = "Spam! " * 200_000
    assert B.words(same, "", PUNCT, "", 3000) == {"spam", "spam spam"}
    long_word = "x" * 1_000_000
    assert B.words(long_word + " " + long_word.upper(), "", PUNCT, "", 3000) == {"skip:x 1000000"}
    assert B.words("." * 100_000 + " a" * 1000, "", PUNCT, "", 3000) == set()


def test_huge_texts_and_cuts(monkeypatch):
    text = ("Hello World, FREE money!!! http://x.example/ " * 20_000)
    for max_chars in (20_000, 199_999, 200_000, 10**7):
        c, py = both(lambda: T.words(text, "", max_chars, True), monkeypatch)
        assert c == py
        c, py = both(lambda: T.body_tokens([text, text.lower()], max_chars), monkeypatch)
        assert c == py


@pytest.mark.parametrize("name", ["multipart_spam.eml"])
def test_extract_and_analyze_either_way(name, monkeypatch):
    pm = parse(fixture_bytes(name))
    for opts in (FeatureOptions(), FeatureOptions(max_text_chars=40)):
        ac, ap = both(lambda: analyze(pm, opts), monkeypatch)
        assert (ac.plain_text, ac.visible_text, ac.urls) == (ap.plain_text, ap.visible_text, ap.urls)
        assert ac.plain_seq is None and ac.html_seq is None
        fc, fp = both(lambda: extract(pm, opts), monkeypatch)
        assert set(fc) == set(fp) and len(fc) == len(fp)
        # an Analysis made either way serves the other path
        assert set(extract(pm, opts, ap)) == set(fp)
        monkeypatch.setattr(T, "_bodyscan", None)
        assert set(extract(pm, opts, ac)) == set(fp)
        monkeypatch.setattr(T, "_bodyscan", B)


_WORD_ARGS = [dict(), dict(bigrams=True), dict(prefix="subject:", max_chars=2000), dict(bigrams="bi:", max_chars=37)]


def test_corpus_fixtures_and_hostile_cases():
    """analyze, body_tokens, words, subject_tokens and extract with _bodyscan and with the Python code
    on every input of tests/equivalence.py (extract's list is compared as a multiset: its order is not
    part of its contract, and the C pass adds words in another order)."""
    switch = (T, "_bodyscan")
    n = 0
    for name, raw in eq.messages():
        pm = parse(raw)
        a = eq.compare(lambda: (lambda x: (x.plain_text, x.visible_text, x.urls, x.html, x.seq_chars))(analyze(pm)),
                       switch, label=name)
        texts = [a[0]] + ([a[1]] if a[3].parts else [])
        for mc in (200_000, 20_000, 100):
            eq.compare(lambda: T.body_tokens(list(texts), mc), switch, label=f"{name} body_tokens {mc}")
        for text in texts[:2] + [pm.subject]:
            for kw in _WORD_ARGS:
                eq.compare(lambda: T.words(text[:50_000], **kw), switch, label=f"{name} words {kw}")
        eq.compare(lambda: sorted(T.subject_tokens(pm.subject[:3000])), switch, label=name + " subject")
        eq.compare(lambda: sorted(extract(pm)), switch, label=name + " extract")
        n += 1
    assert n > 60


def test_every_bmp_character_is_what_the_python_code_makes_of_it(monkeypatch):
    """Each character of the BMP in a few places: C (where it takes the text) and Python agree."""
    handled = 0
    for code in range(0x100, 0x10000):
        ch = chr(code)
        text = f"ab{ch}cd X{ch}Y {ch} {ch * 13}z"
        c = B.words(text, "", PUNCT, "", 3000)
        if c is None:
            continue
        handled += 1
        monkeypatch.setattr(T, "_bodyscan", None)
        py = T.words(text, "", 200, True)
        monkeypatch.setattr(T, "_bodyscan", B)
        assert c == py, hex(code)
        assert all(t.isascii() == all(ord(x) < 128 for x in t) for t in c)
    assert handled > 2000


def test_no_character_it_takes_composes_under_nfkc():
    """The per-character mapping holds: none of the word characters is the second of a composition."""
    import unicodedata

    seconds = set()
    for code in range(0x110000):
        d = unicodedata.decomposition(chr(code))
        if d and not d.startswith("<") and len(d.split()) == 2:
            seconds.add(int(d.split()[1], 16))
    taken = [code for code in range(0x10000) if B.words(f"a{chr(code)}b", "", PUNCT, None, 10) is not None]
    assert taken and not seconds & set(taken)
    assert all(unicodedata.combining(chr(code)) == 0 for code in taken)


def test_the_tables_are_checked_against_this_python(monkeypatch):
    """The import-time check (not a pinned Unicode version) decides whether the C pass runs."""
    assert T._bodyscan_tables_agree() is None
    word_from, word_to, spaces, deleted = B.char_classes()
    assert "a" in word_from and " " in spaces and "\u200b" in deleted and "無" not in word_from
    i = word_from.index("\xc0")

    class Tables:
        def __init__(self, *tables):
            self.tables = tables

        def char_classes(self):
            return self.tables

    for tables, says in [((word_from, word_to[:i] + "\xc0" + word_to[i + 1:], spaces, deleted), "U+00C0"),
                         ((word_from, word_to, spaces + "x", deleted), "U+0078 is not white space"),
                         ((word_from, word_to, spaces, deleted + "a"), "U+0061 is not removed"),
                         ((word_from + "\u0301", word_to + "\u0301", spaces, deleted), "U+0301")]:
        monkeypatch.setattr(T, "_bodyscan", Tables(*tables))
        assert says in T._bodyscan_tables_agree()
