"""features.profiles.without_prefixes (what a profile or campaign mode drops): the compiled filter
(``hdrscan.without_prefixes``, spamscore/native/hdrscan.c) against its Python comprehension."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spamscore.features import profiles

from conftest import native_reason

C = profiles._hdrscan
CHARS = st.sampled_from(list("abr:-cdeé日\U0001f600") + [":", "received:", "date:tz:"])
TOKEN = st.lists(CHARS, max_size=6).map("".join)


def reference(tokens, prefixes):
    return [t for t in tokens if not t.startswith(prefixes)]


@pytest.mark.skipif(C is None, reason=native_reason("_hdrscan"))
@settings(max_examples=500, deadline=None)
@given(st.lists(TOKEN, max_size=40), st.lists(TOKEN, max_size=12).map(tuple))
def test_same_tokens_as_the_comprehension(tokens, prefixes):
    got = C.without_prefixes(tokens, prefixes)
    assert got == reference(tokens, prefixes)
    assert all(a is b for a, b in zip(got, reference(tokens, prefixes)))   # the same objects, in order


@pytest.mark.skipif(C is None, reason=native_reason("_hdrscan"))
def test_the_profiles_prefixes():
    tokens = ["received:mx.example.org", "date:tz:+0900", "date:dow:mon", "hdr:subject", "from:user:bob",
              "from:domain:example.org", "", "receive", "RECEIVED:x", "content-type:text/plain"]
    drops = profiles.PORTABLE_DROPS + profiles.UNSENT_PREFIXES
    assert C.without_prefixes(tokens, drops) == reference(tokens, drops) == [
        "date:dow:mon", "hdr:subject", "from:domain:example.org", "", "receive", "RECEIVED:x"]
    assert C.without_prefixes(tokens, ("",)) == []          # every str starts with ""
    assert C.without_prefixes(tokens, ()) == tokens


def test_anything_but_str_goes_to_python(monkeypatch):
    class S(str):
        pass
    tokens = ["received:a", S("received:b"), "hdr:x"]
    assert profiles.without_prefixes(tokens, ("received:",)) == ["hdr:x"]
    if C is not None:
        assert C.without_prefixes(tokens, ("received:",)) is None
        assert C.without_prefixes(["a"], (S("a"),)) is None
        with pytest.raises(TypeError):
            C.without_prefixes(("a",), ("a",))
    monkeypatch.setattr(profiles, "_hdrscan", None)
    assert profiles.without_prefixes(tokens, ("received:",)) == ["hdr:x"]
