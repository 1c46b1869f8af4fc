"""The MIME splitter in spamscore.message: explicit expectations, and email's feedparser as an oracle.

``message.MimeSplitter`` replaced ``email.message_from_bytes(policy=compat32)``
in ``parse``; it must build the same tree (content types, payload bytes,
defect names) for the same bytes.
"""

from __future__ import annotations

import email
from email import policy

import pytest

from spamscore.message import Limits, MimeSplitter, parse

H = b"From: a@example.com\r\nSubject: s\r\nMIME-Version: 1.0\r\n"


def _email_tree(raw: bytes):
    msg = email.message_from_bytes(raw, policy=policy.compat32)

    def node(m):
        payload = m._payload
        if isinstance(payload, list):
            body = [node(c) for c in payload]
        else:
            body = (payload or "").encode("ascii", "surrogateescape")
        return (m.get_content_type(), body, [type(d).__name__ for d in m.defects])

    return node(msg)


def _split_tree(raw: bytes):
    def node(p):
        body = [node(c) for c in p.payload] if isinstance(p.payload, list) else p.payload
        return (p.content_type, body, p.defects)

    return node(MimeSplitter(raw).run())


def _mp(boundary: bytes, parts: list[bytes], ctype: bytes = b"multipart/mixed", close: bool = True,
        preamble: bytes = b"", epilogue: bytes = b"", nl: bytes = b"\r\n") -> bytes:
    out = [b"Content-Type: " + ctype + b"; boundary=\"" + boundary + b"\"" + nl + nl, preamble]
    for p in parts:
        out.append(b"--" + boundary + nl + p + nl)
    if close:
        out.append(b"--" + boundary + b"--" + nl + epilogue)
    return b"".join(out)


def _leaf(ctype: bytes, body: bytes, nl: bytes = b"\r\n") -> bytes:
    return b"Content-Type: " + ctype + nl + nl + body


CASES = {
    "nested": H + _mp(b"outer", [_leaf(b"text/plain", b"one"),
                                 _mp(b"inner", [_leaf(b"text/plain", b"two"), _leaf(b"text/html", b"<b>3</b>")],
                                     ctype=b"multipart/alternative")]),
    "missing-close": H + _mp(b"b", [_leaf(b"text/plain", b"one"), _leaf(b"text/plain", b"two")], close=False),
    "no-boundary": H + b"Content-Type: multipart/mixed\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x--\r\n",
    "start-not-found": H + _mp(b"declared", []).replace(b"--declared--", b"--other--") + b"body\r\n",
    "preamble-epilogue": H + _mp(b"b", [_leaf(b"text/plain", b"one")], preamble=b"This is MIME.\r\n\r\n",
                                 epilogue=b"epilogue text\r\n"),
    "lf-only": H.replace(b"\r\n", b"\n") + _mp(b"b", [_leaf(b"text/plain", b"x\n", b"\n")], nl=b"\n"),
    "lone-cr": H + b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\rContent-Type: text/plain\r\r"
                   b"one\rtwo\r--b--\r",
    "rfc822-in-multipart": H + _mp(b"b", [_leaf(b"text/plain", b"cover"),
                                          b"Content-Type: message/rfc822\r\n\r\n" + H
                                          + _mp(b"c", [_leaf(b"text/plain", b"inner")])]),
    "part-without-headers": H + _mp(b"b", [b"\r\nno headers here", b"not a header line\r\nsecond"]),
    "part-headers-to-eof": H + _mp(b"b", [b"Content-Type: text/plain"]),
    "duplicate-delimiters": H + b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n--b\r\n\r\none\r\n--b--\r\n",
    "outer-closes-inner": H + _mp(b"outer", [_mp(b"inner", [_leaf(b"text/plain", b"cut")], close=False),
                                             _leaf(b"text/plain", b"after")]),
    "same-boundary-nested": H + _mp(b"b", [_mp(b"b", [_leaf(b"text/plain", b"x")])]),
    "digest": H + _mp(b"d", [H + b"\r\ndigest one", b"Content-Type: text/plain\r\n\r\ntwo"], ctype=b"multipart/digest"),
    "delivery-status": H + _mp(b"r", [_leaf(b"text/plain", b"bounce"),
                                      b"Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\n\r\n"
                                      b"Final-Recipient: rfc822; a@b\r\nAction: failed\r\n"]),
    "envelope-and-bad-headers": H + _mp(b"b", [b" continued first\r\nFrom someone\r\n: no name\r\nX: y\r\n"
                                               b"From misplaced\r\nContent-Type: text/plain\r\n\r\nbody"]),
    "close-with-space-and-cte": H + b"Content-Transfer-Encoding: base64\r\n"
                                    + _mp(b"b", [_leaf(b"text/plain", b"x")]).replace(b"--b--", b"--b--  \t"),
    "slow-headers-disposition": H + _mp(b"b", [b"X-A: 1\r\n: bad\r\nContent-Disposition: attachment; filename=a.txt"
                                               b"\r\n\r\nbody"]),
    "8bit-header": H + _mp(b"b", [b"Content-Type: text/plain; name=\"\xe9t\xe9.txt\"\r\n\r\nbody"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_same_tree_as_email_feedparser(name):
    raw = CASES[name]
    assert _split_tree(raw) == _email_tree(raw)


def test_nested_multiparts():
    pm = parse(CASES["nested"])
    assert pm.text == ["one", "two"] and pm.html == ["<b>3</b>"]
    assert pm.parts == [("text/plain", ""), ("text/plain", ""), ("text/html", "")]
    assert pm.defects == []


def test_missing_close_boundary():
    pm = parse(CASES["missing-close"])
    assert pm.text == ["one", "two"]
    assert pm.defects == ["CloseBoundaryNotFoundDefect"]


def test_boundary_absent():
    pm = parse(CASES["no-boundary"])
    assert pm.parts == [("multipart/mixed", "")] and pm.text == []
    assert pm.defects == ["NoBoundaryInMultipartDefect", "MultipartInvariantViolationDefect"]


def test_start_boundary_not_found():
    pm = parse(CASES["start-not-found"])
    assert pm.defects == ["StartBoundaryNotFoundDefect", "MultipartInvariantViolationDefect"]


def test_preamble_and_epilogue_are_not_text():
    pm = parse(CASES["preamble-epilogue"])
    assert pm.text == ["one"]


def test_crlf_lf_and_cr_line_ends():
    assert parse(CASES["nested"]).text == ["one", "two"]  # CR LF: the line break before a delimiter is its own
    assert parse(CASES["lf-only"]).text == ["x\n"]
    assert parse(CASES["lone-cr"]).text == ["one\rtwo"]


def test_message_rfc822_inside_multipart():
    pm = parse(CASES["rfc822-in-multipart"])
    assert pm.text == ["cover", "inner"]
    assert pm.parts == [("text/plain", ""), ("text/plain", "")]


def test_part_headers_read_field_by_field():
    pm = parse(CASES["slow-headers-disposition"])
    assert [(a.name, a.content_type) for a in pm.attachments] == [("a.txt", "text/plain")]
    assert pm.defects == ["InvalidHeaderDefect"]


def test_parts_without_headers():
    pm = parse(CASES["part-without-headers"])
    assert pm.text == ["no headers here", "not a header line\r\nsecond"]
    assert pm.defects == ["MissingHeaderBodySeparatorDefect"]


def test_outer_delimiter_ends_inner_multipart():
    pm = parse(CASES["outer-closes-inner"])
    assert pm.text == ["cut\r\n", "after"]  # one line break is the delimiter's; the outer one ends "cut"
    tree = _split_tree(CASES["outer-closes-inner"])
    assert tree[1][0][2] == ["CloseBoundaryNotFoundDefect"]  # on the inner multipart (not a leaf: not reported)


def test_digest_parts_default_to_message_rfc822():
    tree = _split_tree(CASES["digest"])
    assert [child[0] for child in tree[1]] == ["message/rfc822", "text/plain"]
    assert parse(CASES["digest"]).text == ["digest one", "two"]


def test_deep_nesting_limit():
    raw = H
    for i in range(40):
        raw += b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
    raw += b"Content-Type: text/plain\r\n\r\nbottom\r\n"
    pm = parse(raw)
    assert "too-deep" in pm.defects and pm.text == []
    pm = parse(raw, Limits(max_depth=50))
    assert "too-deep" not in pm.defects and pm.text == ["bottom"]
    assert pm.defects == ["CloseBoundaryNotFoundDefect"]  # the root's; inner multiparts' are not reported


def test_rfc822_nesting_needs_no_recursion():
    raw = H + b"Content-Type: message/rfc822\r\n\r\n" * 3000 + b"Subject: x\r\n\r\nbody\r\n"
    tree = MimeSplitter(raw).run()
    depth = 0
    while isinstance(tree.payload, list):
        tree, depth = tree.payload[0], depth + 1
    assert depth == 3000 and tree.payload == b"body\r\n"
    assert "too-deep" in parse(raw).defects


def test_many_parts_limit():
    raw = H + _mp(b"s", [_leaf(b"text/plain", b"part %d" % i) for i in range(300)])
    pm = parse(raw)
    assert "too-many-parts" in pm.defects
    assert len(pm.text) == Limits().max_parts - 1  # the root counts as one part
    pm = parse(raw, Limits(max_parts=1000))
    assert len(pm.text) == 300 and "too-many-parts" not in pm.defects


def test_many_delimiters_are_cut_before_splitting():
    raw = H + b"Content-Type: multipart/mixed; boundary=s\r\n\r\n" + b"--s\r\n" * 5000 + b"--s--\r\n"
    pm = parse(raw, Limits(max_parts=10))
    assert pm.defects.count("too-many-parts") >= 1 and len(pm.parts) <= 10
