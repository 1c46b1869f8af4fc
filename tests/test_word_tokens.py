"""The compiled per-word stage over the words of Python's split (spamscore._speedups.word_tokens, a thin entry
into the stage bodyscan.words runs too: spamscore/native/bodystage.h) against its Python reference.

``tokens.words`` uses it when the extension is built and ``_bodyscan`` leaves the text to Python; each test
compares it with ``tokens._word_tokens`` (the Python code), which is what runs without a C compiler.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spamscore.features import tokens as T

from conftest import native_reason

sp = T._speedups
pytestmark = pytest.mark.skipif(sp is None, reason=native_reason("_speedups"))

PUNCT = T._PUNCT
# words built from punctuation, ASCII, Latin-1, CJK, astral characters and a lone surrogate (surrogateescape)
CHARS = st.sampled_from(list(PUNCT) + list("abcXYZ09") + ["é", "ß", "無", "料", "\U0001F600", "\u00ad", "İ", "\udcff", "«"])
WORD = st.text(CHARS, min_size=0, max_size=30)


def both(raw, seq, prefix, pair_prefix, max_words=T.MAX_BIGRAM_WORDS):
    c = sp.word_tokens(set(raw), seq, prefix, PUNCT, pair_prefix, max_words)
    saved = T.MAX_BIGRAM_WORDS
    T.MAX_BIGRAM_WORDS = max_words
    try:
        py = T._word_tokens(set(raw), seq, prefix, pair_prefix)
    finally:
        T.MAX_BIGRAM_WORDS = saved
    return c, py


@settings(max_examples=400, deadline=None)
@given(st.lists(WORD, max_size=60), st.sampled_from(["", "subject:", "from:name:", "ü:"]),
       st.sampled_from([None, "", "pair:", "é "]), st.integers(0, 70))
def test_same_tokens_as_the_python_loop(seq, prefix, pair_prefix, max_words):
    c, py = both(seq, seq, prefix, pair_prefix, max_words)
    assert c == py


def test_known_tokens():
    seq = "click here!! now (free) a verylongwordthatgoeson ...".split()
    out = sp.word_tokens(set(seq), seq, "", PUNCT, "", 3000)
    assert out == {"click", "here", "now", "free", "skip:v 20", "click here", "here now", "now free"}
    assert sp.word_tokens(set(seq), seq, "s:", PUNCT, None, 3000) == {
        "s:click", "s:here", "s:now", "s:free", "s:skip:v 20"}


def test_words_gives_the_same_sets_either_way(monkeypatch):
    texts = ["Hello, World!  hello again -- FREE money!!! http://x.example/y?z=1",
             "無料で当選しました。キャンペーン実施中！ free",
             "ｆｒｅｅ　ｍｏｎｅｙ zero\u200bwidth " + "word " * 50]
    bodyscan = T._bodyscan
    for text in texts:
        for kw in ({}, {"bigrams": True}, {"bigrams": "bi:"}, {"prefix": "subject:"}):
            # the word loop in C (_bodyscan off, so that words() reaches it) against all Python
            monkeypatch.setattr(T, "_bodyscan", None)
            c = T.words(text, **kw)
            monkeypatch.setattr(T, "_speedups", None)
            py = T.words(text, **kw)
            monkeypatch.setattr(T, "_speedups", sp)
            monkeypatch.setattr(T, "_bodyscan", bodyscan)
            assert c == py and c


def test_bad_arguments_raise_not_crash():
    with pytest.raises(TypeError):
        sp.word_tokens(["not", "a", "set"], [], "", PUNCT, None, 10)
    with pytest.raises(TypeError):
        sp.word_tokens({"a", 1}, [], "", PUNCT, None, 10)
    with pytest.raises(TypeError):
        sp.word_tokens({"abc"}, ["abc", 2], "", PUNCT, "", 10)
    with pytest.raises(TypeError):
        sp.word_tokens({"abc"}, ("abc", "abc"), "", PUNCT, "", 10)  # pairs need a list
    with pytest.raises(TypeError):
        sp.word_tokens({"abc"}, [], "", "«»", None, 10)  # punctuation must be ASCII


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(st.sampled_from(list("w.:/ahx") + ["é", "無", "\U0001F600", "W"]), max_size=12), max_size=40))
def test_url_words_is_the_python_filter(seq):
    from spamscore.features import urls

    assert sp.url_words(seq) == urls._url_words(seq)


def test_url_words_known_and_bad_arguments():
    seq = ["see", "http://x.example/a", "www.y.example", "wwwx", "ftp:/", "é://無", "無www.é"]
    assert sp.url_words(seq) == ["http://x.example/a", "www.y.example", "é://無", "無www.é"]
    with pytest.raises(TypeError):
        sp.url_words(("a://b",))
    with pytest.raises(TypeError):
        sp.url_words(["a://b", 3])


def run_hostile(code):
    """Run ``code`` in a child process (a crash fails the test, not the suite), with Python's debug allocator:
    freed memory is overwritten, so a read after free misbehaves at once.  Its stdout, split."""
    import subprocess
    import sys

    env = dict(__import__("os").environ)
    env.setdefault("PYTHONMALLOC", "debug")  # (benchmarks/asan.sh sets malloc: AddressSanitizer then sees the frees)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, (done.returncode, done.stderr[-800:])
    return done.stdout.split()


def test_word_tokens_survives_a_word_whose_eq_empties_the_word_list():
    """Issue 15's audit: the pair loop cached len(seq) and borrowed seq's items across lookups in the
    dict of kept words, whose keys are the items of ``raw``; a str subclass's __eq__ there that empties
    seq freed the item under the lookup and left the loop reading the emptied list (segfault).  The
    entry now compares words by their characters (no __eq__ runs: the pairs are all there), and the only
    Python code that runs inside it, a set subclass's __iter__, runs before seq is read: emptying seq
    there leaves words and no pairs, and nothing read from the emptied list."""
    code = """
from spamscore import _native
sp = _native.load("_speedups")
seq = ["word%d" % i for i in range(300)]
class Evil(str):
    def __hash__(self):
        return hash(str(self))
    def __eq__(self, other):
        seq.clear()
        return str.__eq__(self, other)
class Raw(set):
    def __iter__(self):
        for i, w in enumerate(set.__iter__(self)):
            if i == 150:
                seq.clear()
            yield w
raw = {Evil("word%d" % i) for i in range(300)}
out = sp.word_tokens(raw, seq, "", ".,", "", 200)
print(len(seq), "word7" in out, "word7 word8" in out, len(out))
out = sp.word_tokens(Raw(raw), seq, "", ".,", "", 200)
print(len(seq), "word7" in out, any(" " in t for t in out), len(out))
"""
    assert run_hostile(code) == ["300", "True", "True", str(300 + 199), "0", "True", "False", "300"]


def test_word_tokens_holds_the_previous_kept_word():
    """The pair loop also kept the previous word borrowed from its dict of kept words across the next
    lookup; that dict is reachable through gc.get_objects() (its keys are raw's items: here tracked str
    subclasses), and an __eq__ that deleted the previous word's entry freed it before the pair was made.
    The entry now holds the words in arrays of its own, which gc.get_objects() does not reach: Python code
    that runs inside it (a set subclass's __iter__, after it gave word0 and word1) and deletes word0 from
    every list, dict and set it finds (but seq and raw) takes nothing from it."""
    code = """
import gc
from spamscore import _native
sp = _native.load("_speedups")
seq = ["word%d" % i for i in range(3)]
class Evil(str):
    def __hash__(self):
        return hash(str(self))
class Raw(set):
    def __iter__(self):
        for w in tuple(sorted(set.__iter__(self))):  # (a tuple: the loop below empties lists)
            yield w
            if str.__eq__(w, "word1"):
                for d in gc.get_objects():
                    if d is seq or d is self or type(d) not in (list, dict, set):
                        continue
                    for k in list(d):
                        if type(k) is Evil and str.__eq__(k, "word0"):
                            d.remove(k) if type(d) is not dict else d.pop(k)
raw = Raw({Evil("word%d" % i) for i in range(3)})
out = sp.word_tokens(raw, seq, "p:", ".,", "pair:", 200)
print(sorted(out))
"""
    assert run_hostile(code) == ["['p:word0',", "'p:word1',", "'p:word2',", "'pair:word0", "word1',",
                                 "'pair:word1", "word2']"]


def _stage_hash(word):
    """The hash the compiled stage's tables take of a word of one- or two-byte characters (bodystage.h:
    FNV-1a over the characters, then the mix, the low 32 bits)."""
    m64 = (1 << 64) - 1
    h = 0xCBF29CE484222325
    for ch in word:
        h = ((h ^ ord(ch)) * 0x100000001B3) & m64
    h ^= len(word)
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & m64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & m64
    h ^= h >> 33
    return h & 0xFFFFFFFF


def test_crafted_collisions_go_to_the_python_code(monkeypatch):
    """Words whose hashes all fall on one slot of the entry's table of distinct words: a probe runs past
    MAX_PROBE, word_tokens gives None (no quadratic work), and words() does the work in Python."""
    bad = []
    i = 0
    while len(bad) < 200:  # 200 words in a table of 512 slots, all hashed to slot 0
        w = "w%dé" % i
        if _stage_hash(w) & 511 == 0:
            bad.append(w)
        i += 1
    seq = bad + ["plain", "words"]
    assert sp.word_tokens(set(seq), seq, "", PUNCT, "", 3000) is None
    assert sp.word_tokens(set(seq[150:]), seq[150:], "", PUNCT, "", 3000) == T._word_tokens(
        set(seq[150:]), seq[150:], "", "")  # (fewer: no probe runs long)
    text = " ".join(seq) + " 無料"  # CJK: _bodyscan leaves it to the Python split, then word_tokens
    calls = []
    monkeypatch.setattr(T, "_word_tokens", lambda *a: calls.append(1) or T.word_tokens_py(*a))
    out = T.words(text, bigrams=True)
    assert calls and "plain words" in out and bad[0] in out and "無料" in out


@settings(max_examples=300, deadline=None)
@given(st.lists(WORD, max_size=40), st.sets(st.integers(0, 39)), st.lists(WORD, max_size=10),
       st.sampled_from(["", "p:", "ü:"]), st.sampled_from([None, "", "é "]), st.integers(0, 50))
def test_raw_other_than_the_set_of_seq(seq, dropped, extra, prefix, pair_prefix, max_words):
    """words() passes a ``raw`` that is not set(seq): the CJK words leave it (they pair with nothing)
    and their pieces join it (they are in no pair)."""
    raw = {w for i, w in enumerate(seq) if i not in dropped} | set(extra)
    c = sp.word_tokens(set(raw), seq, prefix, PUNCT, pair_prefix, max_words)
    saved = T.MAX_BIGRAM_WORDS
    T.MAX_BIGRAM_WORDS = max_words
    try:
        py = T._word_tokens(set(raw), seq, prefix, pair_prefix if len(seq) > 1 else None)
    finally:
        T.MAX_BIGRAM_WORDS = saved
    assert c == py
