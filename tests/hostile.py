"""Hostile and malformed mail, generated at test time (nothing big is committed).

Reusable by any entry point's tests (parse, extract, score, the CLI, the
filter, the milter)::

    from hostile import CASE_NAMES, make_case, hostile_cases, watchdog

    @pytest.mark.parametrize("name", CASE_NAMES)
    def test_my_entry_point(name):
        raw = make_case(name)
        watchdog(lambda: my_entry_point(raw), seconds=30)

``make_case(name)`` builds one case's bytes (deterministic: seeded
``random.Random``); ``hostile_cases()`` yields ``(name, bytes)`` for all of
them, one at a time, so that at most one big case is alive at once.
``CASE_NAMES`` lists them in a cheap-first order; ``HUGE`` names the few
cases above 5 MB, which a quick suite may skip with ``hostile_cases(huge=False)``.
"""

from __future__ import annotations

import base64
import random
import threading
from collections.abc import Callable, Iterator

__all__ = ["CASE_NAMES", "HUGE", "make_case", "hostile_cases", "watchdog", "WatchdogTimeout"]

_HDR = (
    b"From: Alice <alice@example.com>\r\n"
    b"To: bob@example.org\r\n"
    b"Subject: hello\r\n"
    b"Message-ID: <1@example.com>\r\n"
)


def _mime_leaf(ctype: bytes, body: bytes, cte: bytes | None = None) -> bytes:
    head = b"Content-Type: " + ctype + b"\r\n"
    if cte:
        head += b"Content-Transfer-Encoding: " + cte + b"\r\n"
    return head + b"\r\n" + body + b"\r\n"


def _nested_multipart(depth: int) -> bytes:
    """``depth`` multiparts, each inside the last, with a text leaf at the bottom."""
    opens = []
    closes = []
    for i in range(depth):
        b = b"b%d" % i
        opens.append(b"Content-Type: multipart/mixed; boundary=\"" + b + b"\"\r\n\r\n--" + b + b"\r\n")
        closes.append(b"\r\n--" + b + b"--\r\n")
    leaf = _mime_leaf(b"text/plain", b"deep down at the bottom: free money")
    return _HDR + b"MIME-Version: 1.0\r\n" + b"".join(opens) + leaf + b"".join(reversed(closes))


def _nested_multipart_lines(depth: int, lines: int) -> bytes:
    """Deep nesting with many short lines at the bottom: lines x depth boundary tests in email's feedparser."""
    return _nested_multipart(depth).replace(b"deep down at the bottom", b"\r\n" * lines)


def _many_parts(n: int) -> bytes:
    parts = [b"--sep\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % i for i in range(n)]
    return (_HDR + b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=sep\r\n\r\n"
            + b"".join(parts) + b"--sep--\r\n")


def _multipart(parts: list[bytes], boundary: bytes = b"XYZ", declared: bytes | None = None,
               close: bool = True) -> bytes:
    declared = boundary if declared is None else declared
    out = [_HDR, b"MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"" + declared + b"\"\r\n\r\n",
           b"preamble\r\n"]
    for p in parts:
        out.append(b"--" + boundary + b"\r\n" + p)
    if close:
        out.append(b"--" + boundary + b"--\r\n")
    return b"".join(out)


def _big_message(size: int) -> bytes:
    """A plausible message of about ``size`` bytes: text lines, an HTML part, a base64 attachment."""
    rng = random.Random(size)
    words = [b"free", b"money", b"offer", b"meeting", b"report", b"click", b"http://example.com/x",
             b"unsubscribe", b"viagra", b"invoice", b"the", b"and", b"of", b"<b>bold</b>"]
    line = b" ".join(rng.choice(words) for _ in range(14)) + b"\r\n"
    text = line * (size // 2 // len(line) + 1)
    html = (b"<p>" + line + b"</p>") * (size // 4 // (len(line) + 7) + 1)
    blob = base64.encodebytes(rng.randbytes(size // 4 * 3 // 4))
    return _multipart([
        _mime_leaf(b"text/plain; charset=us-ascii", text),
        _mime_leaf(b"text/html; charset=utf-8", html),
        _mime_leaf(b"application/octet-stream; name=\"a.bin\"", blob, b"base64"),
    ], boundary=b"BIG")


def _encoded_word(text: str, charset: str = "utf-8") -> bytes:
    return b"=?" + charset.encode() + b"?B?" + base64.b64encode(text.encode(charset, "surrogatepass")) + b"?="


def _html(body: bytes) -> bytes:
    return _HDR + b"MIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + body


def _random_ascii_lines(lines: int, width: int, seed: int) -> bytes:
    rng = random.Random(seed)
    printable = bytes(range(32, 127))
    return b"\n".join(bytes(rng.choices(printable, k=width)) for _ in range(lines))


def _random_bytes(n: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(n)


# name -> builder.  Every builder is deterministic and quick (well under a second).
_BUILDERS: dict[str, Callable[[], bytes]] = {
    "empty": lambda: b"",
    "one-newline": lambda: b"\n",
    "no-headers": lambda: b"\r\nJust a body, no header at all.\r\nBuy now http://spam.example/\r\n",
    "body-without-blank-line": lambda: b"this is not a header line\nneither is this\n",
    "headers-only": lambda: _HDR.rstrip(b"\r\n"),
    "headers-10000": lambda: _HDR + b"".join(b"X-H%d: value %d\r\n" % (i, i) for i in range(10_000)) + b"\r\nbody\r\n",
    "received-10000": lambda: b"".join(b"Received: from h%d.example.com ([10.0.%d.%d]) by mx.example.org\r\n"
                                       % (i, i % 256, i // 256 % 256) for i in range(10_000)) + _HDR + b"\r\nbody\r\n",
    "header-line-1mb": lambda: _HDR + b"X-Long: " + b"a" * (1 << 20) + b"\r\n\r\nbody\r\n",
    "subject-1mb-words": lambda: b"Subject: " + b"free money " * 100_000 + b"\r\n" + _HDR + b"\r\nbody\r\n",
    "header-folded-100k-lines": lambda: _HDR + b"X-Folded: start\r\n" + b" x\r\n" * 100_000 + b"\r\nbody\r\n",
    "header-name-1mb": lambda: b"X" * (1 << 20) + b": v\r\n" + _HDR + b"\r\nbody\r\n",
    "from-1mb-addresses": lambda: b"From: " + b"a@b.example, " * 80_000 + b"\r\nSubject: x\r\n\r\nbody\r\n",
    "auth-results-nested-comments": lambda: _HDR + b"Authentication-Results: mx.example.org; "
        + b"(" * 50_000 + b"spf=pass" + b")" * 50_000 + b"; dkim=pass header.d=" + b"a." * 50_000 + b"com\r\n\r\nx\r\n",
    "dkim-signature-1mb": lambda: _HDR + b"DKIM-Signature: v=1; " + b"d=" * 300_000 + b"; b=abc\r\n\r\nx\r\n",
    "multipart-nested-100": lambda: _nested_multipart(100),
    "multipart-nested-1000": lambda: _nested_multipart(1000),
    "multipart-nested-900-deep-120k-lines": lambda: _nested_multipart_lines(900, 120_000),
    "multipart-nested-30-deep-200k-lines": lambda: _nested_multipart_lines(30, 200_000),
    "multipart-nested-3-deep-250k-lines": lambda: _nested_multipart_lines(3, 250_000),
    # just under parse's MIME work budget (lines x boundary parameters <= 300,000): the worst the feedparser gets
    "multipart-nested-3-deep-70k-lines": lambda: _nested_multipart_lines(3, 70_000),
    "multipart-1-boundary-290k-lines": lambda: _nested_multipart_lines(1, 290_000),
    "message-rfc822-nested-500": lambda: _HDR + b"MIME-Version: 1.0\r\n"
        + b"Content-Type: message/rfc822\r\n\r\n" * 500 + b"Subject: inner\r\n\r\ninner body\r\n",
    "message-rfc822-nested-5000": lambda: _HDR + b"Content-Type: message/rfc822\r\n\r\n" * 5000 + b"Subject: x\r\n\r\nbody\r\n",
    "multipart-no-boundary": lambda: _HDR + b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed\r\n\r\n"
        + b"--x\r\nContent-Type: text/plain\r\n\r\nhello\r\n--x--\r\n",
    "multipart-empty-boundary": lambda: _HDR + b"Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n\r\nhi\r\n----\r\n",
    "multipart-mismatched-boundary": lambda: _multipart([_mime_leaf(b"text/plain", b"hello")],
                                                        boundary=b"USED", declared=b"DECLARED"),
    "multipart-unterminated": lambda: _multipart([_mime_leaf(b"text/plain", b"hello"),
                                                 _mime_leaf(b"text/html", b"<b>hi")], close=False),
    "multipart-boundary-1kb": lambda: _multipart([_mime_leaf(b"text/plain", b"hello")], boundary=b"B" * 1000),
    "multipart-10000-parts": lambda: _many_parts(10_000),
    "multipart-100000-empty-parts": lambda: _HDR + b"Content-Type: multipart/mixed; boundary=s\r\n\r\n"
        + b"--s\r\n" * 100_000 + b"--s--\r\n",
    "base64-broken": lambda: _multipart([
        _mime_leaf(b"text/plain; charset=utf-8", b"SGVsbG8gd29ybGQ=!!!***=\r\nAAA\r\n====\r\n@@@", b"base64"),
        _mime_leaf(b"text/html", b"PGI+aGk8L2I+" + b"=" * 5000, b"base64"),
        _mime_leaf(b"text/plain", b"A", b"base64"),
        _mime_leaf(b"text/plain", b"", b"BASE64"),
    ]),
    "quoted-printable-broken": lambda: _multipart([
        _mime_leaf(b"text/plain; charset=utf-8", b"caf=C3=A9 =ZZ =\r\n=4 =\r\n= =3D=3d=\xff=00", b"quoted-printable"),
        _mime_leaf(b"text/html", b"=" * 10_000 + b"=\r\n" * 10_000, b"quoted-printable"),
    ]),
    "transfer-encoding-unknown": lambda: _multipart([
        _mime_leaf(b"text/plain", b"hello", b"x-uuencode"),
        _mime_leaf(b"text/plain", b"hello", b"base64; quoted-printable"),
        _mime_leaf(b"text/plain", b"hello", b"\x00\xff" * 100),
    ]),
    "charset-unknown": lambda: _multipart([
        _mime_leaf(b"text/plain; charset=x-no-such-charset", "caf\u00e9".encode("latin-1")),
        _mime_leaf(b"text/plain; charset=\"../../../etc/passwd\"", b"hello \xff\xfe"),
        _mime_leaf(b"text/plain; charset=" + b"z" * 5000, b"x"),
        _mime_leaf(b"text/plain; charset=\xff\xfe", b"x"),
    ]),
    "charset-wrong": lambda: _multipart([
        _mime_leaf(b"text/plain; charset=utf-8", "\u7121\u6599\u3067\u3059".encode("cp932")),
        _mime_leaf(b"text/plain; charset=iso-2022-jp", b"\x1b$B\xff\xff\x1b(B broken jis"),
        _mime_leaf(b"text/plain; charset=utf-16", b"\x00odd-length"),
        _mime_leaf(b"text/plain; charset=utf-7", b"+AGEAYgBj- +ZZZ- +"),
        _mime_leaf(b"text/html; charset=idna", b"\xff<b>x</b>"),
        _mime_leaf(b"text/plain; charset=rot13", b"uryyb"),
        _mime_leaf(b"text/plain; charset=punycode", b"\xff\xfe-"),
        _mime_leaf(b"text/plain; charset=uu_codec", b"garbage"),
    ]),
    "charset-mixed": lambda: _multipart([
        _mime_leaf(b"text/plain; charset=koi8-r", "\u043f\u0440\u0438\u0432\u0435\u0442".encode("koi8-r")),
        _mime_leaf(b"text/plain; charset=big5", "\u514d\u8cbb".encode("big5")),
        _mime_leaf(b"text/html; charset=shift_jis", "<p>\u7121\u6599</p>".encode("cp932")),
        _mime_leaf(b"text/plain; charset=utf-8", "\u00e9\u00e8".encode("latin-1") + "\u20ac".encode("utf-8")),
    ]),
    "html-meta-charset": lambda: _html(b'<?xml version="1.0" encoding="utf-16"?><meta charset="x-evil">'
                                       b'<html><body>hi \xff</body></html>'),
    "nul-bytes": lambda: (_HDR.replace(b"Subject: hello", b"Subject: he\x00llo") + b"\r\nbo\x00dy\x00" * 1000
                          + b"\x00" * 100_000),
    "cr-only": lambda: (_HDR + b"Content-Type: text/plain\r\n\r\nline one\r\nline two\r\n").replace(b"\r\n", b"\r"),
    "mixed-line-endings": lambda: b"From: a@b.example\rTo: c@d.example\nSubject: mixed\r\n\n\rContent-Type: text/plain\r\r\n"
                                  b"\n\rbody\r\rmore\n\r\n\n--x\r\n" * 1000,
    "line-10mb-no-newline": lambda: _HDR + b"\r\n" + b"A" * (10 << 20),
    "message-10mb": lambda: _big_message(10 << 20),
    "message-50mb": lambda: _big_message(50 << 20),
    "html-deep-1m-tags": lambda: _html(b"<div>" * 1_000_000 + b"bottom" + b"</div>" * 1_000_000),
    "html-deep-100k-in-limits": lambda: _html(b"<b>" * 100_000 + b"x"),
    "html-1m-images": lambda: _html(b'<img src="http://i.example/a.png" width=9 height=9>' * 1_000_000),
    "html-100k-images-in-limits": lambda: _html(b"<img src=x>" * 100_000),
    "html-100k-links": lambda: _html(b'<a href="http://a.example/">www.b.example</a>' * 100_000),
    "html-unclosed-everything": lambda: _html(b"<table><tr><td><a href='" + b"<" * 100_000 + b"<!--" + b"<![CDATA[" * 1000),
    "html-hidden-styles": lambda: _html(b'<p style="' + b"display :" * 50_000 + b'">x</p>'
                                        + b'<span style="font-size:' + b"0" * 100_000 + b'">y</span>'),
    "url-100kb": lambda: _HDR + b"\r\nhttp://" + b"a" * (100 << 10) + b".example.com/\r\n",
    "url-100kb-path": lambda: _HDR + b"\r\nhttps://example.com/" + b"a/b=c&" * (20 << 10) + b"\r\n",
    "url-100kb-host-dots": lambda: _HDR + b"\r\nhttp://" + b"a." * (50 << 10) + b"com/\r\n",
    "url-100000-urls": lambda: _HDR + b"\r\n" + b"http://x%d.example.com/p " % 1 * 100_000,
    "url-hostile-forms": lambda: _HDR + b"\r\n" + b"\r\n".join([
        b"http://[::1", b"http://[", b"http://:99999999999999999999/", b"http://user@@@/", b"http://0x7f000001/",
        b"http://4294967295/", b"http://\xe2\x80\xae.com/", b"www.", b"http://xn--/", b"http://" + b"." * 5000,
        b"https://a.b:-1/", b"ftp://%00/", b"http://\xef\xbc\x8e.example/",
        # fuzz finding: superscript digits pass str.isdigit() but not int()
        "http://a.example:999\u00b999/ http://[::1]:\u00b2/ <a href='http://b.example:\u0663/'>".encode()]) + b"\r\n",
    "rfc2047-control-chars": lambda: b"Subject: " + _encoded_word("\x00\x01\x1b[31m\r\nBcc: x@evil\r\n\x7f\u202e")
        + b"\r\nFrom: " + _encoded_word("\x00Evil\r\n") + b" <a@b.example>\r\n"
        + b"To: =?utf-8?q?=00=0D=0A=FF?= <c@d.example>\r\n\r\nbody\r\n",
    "rfc2047-malformed": lambda: b"Subject: =?utf-8?b?!!!?= =?x-unknown?q?abc?= =?utf-8?x?abc?= =?=?=? =?"
        + b"=?utf-8?q?" * 10_000 + b"\r\nFrom: =?utf-8?b?" + b"A" * 100_001 + b"?= <a@b>\r\n\r\nbody\r\n",
    "rfc2047-10000-words": lambda: b"Subject: " + b" ".join([_encoded_word("free money")] * 10_000) + b"\r\n\r\nx\r\n",
    "invalid-utf8-headers": lambda: (b"From: \xff\xfe\xc3\x28 <a@\xc3\xa9xample.com>\r\nSubject: \xe2\x82\x28\xf0\x28\x8c\xbc"
                                     b"\xed\xa0\x80\r\nX-\xff: \x80\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                                     b"\xc0\xaf\xed\xbf\xbf body\r\n"),
    "zero-width-confusables": lambda: ("From: \u0420\u0430\u0443\u0440\u0430l <service@p\u0430ypal.com>\r\n"
                                       "Subject: fr\u200be\u200ce m\u2060o\ufeffney \u0456\u0440h\u043ene\r\n"
                                       "Content-Type: text/plain; charset=utf-8\r\n\r\n"
                                       + "\u200b".join("viagra") * 10_000
                                       + " \u202eollo\u202c \ufb01nance \uff46\uff52\uff45\uff45 "
                                       + "\u0301" * 100_000 + " http://\u0440\u0430ypal.com/login\r\n").encode("utf-8"),
    "cjk-run-1mb": lambda: (_HDR.decode() + "Content-Type: text/plain; charset=utf-8\r\n\r\n"
                            + "\u7121\u6599" * 200_000).encode("utf-8"),
    "not-mail-png": lambda: b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + _random_bytes(200_000, 1),
    "random-bytes-1mb": lambda: _random_bytes(1 << 20, 2),
    "random-bytes-ascii-lines": lambda: _random_ascii_lines(5000, 200, 3),
}

CASE_NAMES: list[str] = list(_BUILDERS)
HUGE = frozenset({"message-10mb", "message-50mb", "line-10mb-no-newline"})


def make_case(name: str) -> bytes:
    """The bytes of one hostile case (KeyError for an unknown name)."""
    return _BUILDERS[name]()


def hostile_cases(huge: bool = True) -> Iterator[tuple[str, bytes]]:
    """``(name, bytes)`` for every case, built lazily one at a time."""
    for name in CASE_NAMES:
        if huge or name not in HUGE:
            yield name, make_case(name)


class WatchdogTimeout(AssertionError):
    """The watched call did not finish in time: a hang."""


def watchdog(fn: Callable[[], object], seconds: float = 30.0):
    """Run ``fn()`` in a daemon thread; return its result or re-raise its exception.

    Fails with :class:`WatchdogTimeout` if it has not finished after
    ``seconds`` (a generous bound meant to catch true hangs, not to time
    anything).  The thread cannot be killed, but the test fails and the
    process exits normally at the end of the run.
    """
    box: dict[str, object] = {}

    def run():
        try:
            box["result"] = fn()
        except BaseException as exc:  # re-raised in the caller
            box["error"] = exc

    t = threading.Thread(target=run, daemon=True, name="watchdog")
    t.start()
    t.join(seconds)
    if t.is_alive():
        raise WatchdogTimeout(f"still running after {seconds:g} s: hang or runaway input")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box.get("result")
