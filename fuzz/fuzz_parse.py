"""Coverage-guided fuzzing of parsing, feature extraction and scoring with atheris.

Any exception escaping ``parse`` / ``extract`` / ``Model.score`` (or a slow
input, or memory growth past -rss_limit_mb) is a finding: hostile mail must
yield features and a verdict.  So is a verdict of ``Model.score`` (body words
looked up by hash, in the compiled helpers) that differs from the one of
``score_features(features(raw))`` (every feature a str).

    pip install atheris
    python fuzz/fuzz_parse.py -seed_corpus            # writes seeds to fuzz/corpus/ (not committed)
    python fuzz/fuzz_parse.py fuzz/corpus -max_total_time=600 -timeout=10 -rss_limit_mb=2048 -max_len=65536

See docs/hardening.md for what the runs found.
"""

from __future__ import annotations

import os
import sys

import atheris

with atheris.instrument_imports(include=["spamscore"]):
    from spamscore.features import extract
    from spamscore.message import Limits, parse
    from spamscore.scoring import load_model

MODEL = load_model()

# Smaller limits than the defaults so that the fuzzer reaches every limit
# branch with short inputs; the code paths are the same.
LIMITS = Limits(max_bytes=64 * 1024, max_parts=20, max_depth=8, max_part_bytes=16 * 1024, max_headers=50)


def test_one_input(data: bytes) -> None:
    for limits in (LIMITS, None):
        pm = parse(data, limits) if limits is not None else parse(data)
        feats = extract(pm)
        if not feats:
            raise AssertionError("no features at all")
        for f in feats:
            if not isinstance(f, str):
                raise AssertionError(f"feature {f!r} is not a str")
    fast = MODEL.score(data, 15)
    slow = MODEL.score_features(MODEL.features(data), 15)
    if fast != slow:
        raise AssertionError(f"Model.score {fast} != score_features(features(raw)) {slow}")


def write_seeds(folder: str) -> None:
    """Seed corpus: the small hostile cases (tests/hostile.py) and a few plain messages."""
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, os.path.join(here, "..", "tests"))
    from hostile import CASE_NAMES, make_case

    os.makedirs(folder, exist_ok=True)
    for name in CASE_NAMES:
        raw = make_case(name)
        if len(raw) <= 65536:
            with open(os.path.join(folder, name), "wb") as fh:
                fh.write(raw)
    plain = (b"From: a@example.com\r\nTo: b@example.org\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n"
             b"Authentication-Results: mx.example.org; spf=pass smtp.mailfrom=example.com; dkim=pass header.d=example.com\r\n"
             b"DKIM-Signature: v=1; d=example.com; s=x; b=abc\r\nReceived: from a.example.com ([10.1.2.3]) by mx\r\n"
             b"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=b\r\n\r\n"
             b"--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
             b"Hello =E2=82=AC http://bit.ly/x www.example.com\r\n"
             b"--b\r\nContent-Type: text/html; charset=iso-8859-1\r\nContent-Transfer-Encoding: base64\r\n\r\n"
             b"PGEgaHJlZj0iaHR0cDovL2V2aWwuZXhhbXBsZS8iPnd3dy5wYXlwYWwuY29tPC9hPjxpbWcgc3JjPXg+\r\n--b--\r\n")
    with open(os.path.join(folder, "plain-multipart"), "wb") as fh:
        fh.write(plain)


if __name__ == "__main__":
    if "-seed_corpus" in sys.argv:
        write_seeds(os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus"))
        sys.exit(0)
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
