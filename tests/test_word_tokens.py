"""The compiled word loop (spamscore._speedups.word_tokens) against its Python reference.

``tokens.words`` uses the C loop when the extension is built; each test
compares it with ``tokens._word_tokens`` (the Python code), which is what
runs without a C compiler.
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
    loop now holds each item and reads the size on each step."""
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
raw = {Evil("word%d" % i) for i in range(300)}
out = sp.word_tokens(raw, seq, "", ".,", "", 200)
print(len(seq), "word7" in out)
"""
    assert run_hostile(code) == ["0", "True"]


def test_word_tokens_holds_the_previous_kept_word():
    """The pair loop also kept the previous word borrowed from its dict of kept words across the next
    lookup; that dict is reachable through gc.get_objects() (its keys are raw's items: here tracked str
    subclasses), and an __eq__ that deletes the previous word's entry freed it before the pair was made."""
    code = """
import gc
from spamscore import _native
sp = _native.load("_speedups")
seq = ["word%d" % i for i in range(3)]
done = []
class Evil(str):
    def __hash__(self):
        return hash(str(self))
    def __eq__(self, other):
        if not done and str.__eq__(other, "word1"):
            done.append(1)
            for d in gc.get_objects():
                if type(d) is dict and any(k is self for k in list(d)):
                    for k in list(d):
                        if str.__eq__(k, "word0"):
                            del d[k]
        return str.__eq__(self, other)
raw = {Evil("word%d" % i) for i in range(3)}
out = sp.word_tokens(raw, seq, "p:", ".,", "pair:", 200)
print(sorted(t for t in out if t.startswith("pair:")))
"""
    assert run_hostile(code) == ["['pair:word0", "word1',", "'pair:word1", "word2']"]
