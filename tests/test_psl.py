"""registered_domain's own public-suffix walk (plain hosts) against tldextract's.

``urls.registered_domain`` answers plain hosts (nothing tldextract's host
parsing would cut or change, no punycode) with ``_suffix_walk`` over the rules of the snapshot
tldextract bundles; everything else, and everything when the walk is turned
off here, goes through tldextract.  Both must give the same domain.
"""

import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spamscore.features import urls as U

REF = U.registered_domain.__wrapped__  # (uncached)


def via_tldextract(host: str) -> str:
    saved = U._PLAIN_HOST
    U._PLAIN_HOST = re.compile(r"(?!)")  # matches nothing: every host goes to tldextract
    try:
        return REF(host)
    finally:
        U._PLAIN_HOST = saved


def test_the_rules_are_tldextracts():
    sets = U._psl_sets()
    assert sets is not None, "the bundled suffix list could not be read: every host takes the slow path"
    tlds = U._EXTRACT.tlds  # (a property in tldextract 5, a method before)
    assert sets[1] == frozenset(tlds() if callable(tlds) else tlds)


@pytest.mark.parametrize("host, want", [
    ("mail.example.co.uk", "example.co.uk"),
    ("example.com", "example.com"),
    ("a.b.example.com", "example.com"),
    ("co.uk", "co.uk"),                      # a public suffix itself: kept as it is
    ("www.ck", "www.ck"),                    # "!www.ck": an exception to "*.ck"
    ("a.b.ck", "a.b.ck"),                    # "*.ck": b.ck is a suffix
    ("x.kawasaki.jp", "kawasaki.jp"),        # "*.kawasaki.jp": the host is a suffix, so its last two labels
    ("city.kawasaki.jp", "city.kawasaki.jp"),  # "!city.kawasaki.jp"
    ("a.city.kawasaki.jp", "city.kawasaki.jp"),
    ("host.example", "host.example"),        # not under a public suffix: the last two labels
    ("a.host.example", "host.example"),
    ("a..co.uk", "co.uk"),                   # an empty label is no domain: the last two labels
])
def test_known_hosts(host, want):
    assert U._suffix_walk(host.split(".")) == want  # (plain hosts: the walk answers, not tldextract)
    assert REF(host) == want
    assert via_tldextract(host) == want


LABELS = st.sampled_from(["www", "a", "", "co", "uk", "ck", "jp", "kawasaki", "city", "com", "net", "x-y",
                          "_dmarc", "1", "0", "example", "s3", "amazonaws", "appspot", "blogspot", "xn--p1ai",
                          "ÿ", "a:80", "a@b", "*", "!www", "ＣＯＭ", "a b", "%41", "w%77w", "a\nb", "ß", "İ",
                          "香港", "a\u3002b", "é", "a/b", "a?b", "a#b", "[a", "\x1c", "~!$", " a", "b ", "a\tb\n"])


@settings(max_examples=500, deadline=None)
@given(st.lists(LABELS, min_size=1, max_size=6), st.sampled_from(["", ".", "A"]))
def test_generated_hosts(labels, extra):
    host = ".".join(labels) + extra
    assert REF(host) == via_tldextract(host)


def test_every_rule_and_its_neighbours():
    rnd = random.Random(7)
    rules = sorted(U._psl_sets()[1])
    for rule in rnd.sample(rules, 1500):
        base = rule.lstrip("!").replace("*", rnd.choice(["www", "a", "zz"]))
        for host in (base, "x." + base, "y.x." + base, "x.." + base):
            assert REF(host) == via_tldextract(host), host
