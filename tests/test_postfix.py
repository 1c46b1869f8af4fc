"""End to end with a real Postfix: smtplib -> Postfix smtpd -> our milter -> virtual Maildir.

Skips without Postfix on a dev machine; fails under CI (CI=true).
The private-instance recipe is in postfix_fixture.py and docs/pipeline.md.
"""

from __future__ import annotations

import email
import smtplib
import subprocess
from email.utils import make_msgid

import pytest

from postfix_fixture import (HAM_SAMPLE, SPAM_SAMPLE, TEST_DOMAIN, MilterThread, PostfixInstance,
                             make_message, require_postfix, train_tiny_model)
from spamscore.serve.milter import MilterConfig


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    require_postfix()
    model = train_tiny_model(tmp_path_factory.mktemp("pfmodel") / "tiny.spamscore")
    mt = MilterThread(model).start()
    pf = PostfixInstance(mt.port)
    try:
        pf.start()
        yield pf, mt
    except Exception:
        print(pf.maillog()[-4000:])
        raise
    finally:
        mt.stop()
        pf.cleanup()


def _with_id(raw: bytes, tag: str) -> tuple[bytes, str]:
    mid = make_msgid(idstring=tag, domain="example.org")
    msg = email.message_from_bytes(raw)
    old = msg["Message-ID"]
    return raw.replace(old.encode(), mid.encode(), 1), mid


def _send(pf, raw: bytes, to=f"user@{TEST_DOMAIN}"):
    with smtplib.SMTP("127.0.0.1", pf.port, timeout=30) as s:
        s.sendmail("sender@example.org", [to], raw)


def _delivered(pf, mid: str, user="user", timeout=30.0) -> list[bytes]:
    import time
    deadline = time.monotonic() + timeout
    while True:
        found = [p.read_bytes() for p in pf.maildir_files(user) if mid.encode() in p.read_bytes()]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def _body(raw: bytes) -> bytes:
    return raw.replace(b"\r\n", b"\n").split(b"\n\n", 1)[1]


def test_ham_and_spam_delivered_with_headers(stack):
    pf, mt = stack
    spam, spam_id = _with_id(SPAM_SAMPLE.replace(b"\n", b"\r\n"), "spam1")   # smtplib appends CRLF otherwise
    ham, ham_id = _with_id(HAM_SAMPLE.replace(b"\n", b"\r\n"), "ham1")
    _send(pf, spam)
    _send(pf, ham)
    [s] = _delivered(pf, spam_id)
    [h] = _delivered(pf, ham_id)
    sm, hm = email.message_from_bytes(s), email.message_from_bytes(h)
    assert sm["X-Spam-Flag"] == "YES" and sm["X-Spam-Status"].startswith("Yes, score=")
    assert hm["X-Spam-Flag"] is None and hm["X-Spam-Status"].startswith("No, score=")
    # our headers sit above Postfix's own Received: header, the message is otherwise intact
    names = [k.lower() for k in sm.keys()]
    assert names.index("x-spam-status") < names.index("received")
    assert _body(s) == _body(spam) and _body(h) == _body(ham)
    assert sm["Subject"] == "WIN CASH NOW"


def test_forged_markup_is_replaced(stack):
    pf, mt = stack
    forged, mid = _with_id(SPAM_SAMPLE.replace(b"Subject:", b"X-Spam-Flag: NO\nX-Spam-Status: No, forged\nSubject:", 1),
                           "forged")
    _send(pf, forged)
    [s] = _delivered(pf, mid)
    m = email.message_from_bytes(s)
    assert m.get_all("X-Spam-Flag") == ["YES"]
    assert len(m.get_all("X-Spam-Status")) == 1 and "forged" not in m["X-Spam-Status"]


def test_reject_mode_gives_550(stack):
    pf, mt = stack
    old = mt.server.config
    mt.server.config = MilterConfig(action="reject", reject_text="Spam is not welcome here")
    try:
        spam, spam_id = _with_id(SPAM_SAMPLE, "rejected")
        with pytest.raises(smtplib.SMTPDataError) as exc:
            _send(pf, spam)
        assert exc.value.smtp_code == 550
        assert b"5.7.1 Spam is not welcome here" in exc.value.smtp_error
        ham, ham_id = _with_id(HAM_SAMPLE, "ham-in-reject-mode")
        _send(pf, ham)
        assert len(_delivered(pf, ham_id)) == 1
        assert _delivered(pf, spam_id, timeout=1.0) == []
    finally:
        mt.server.config = old


def test_quarantine_goes_to_hold_queue(stack):
    pf, mt = stack
    old = mt.server.config
    mt.server.config = MilterConfig(action="quarantine")
    try:
        before = len(pf.queue_files("hold"))
        spam, spam_id = _with_id(SPAM_SAMPLE, "held")
        _send(pf, spam)                       # accepted: 250
        assert pf.wait_queue_empty(30)
        assert len(pf.queue_files("hold")) == before + 1
        assert _delivered(pf, spam_id, timeout=1.0) == []
    finally:
        mt.server.config = old
        subprocess.run(["postsuper", "-c", str(pf.conf), "-d", "ALL", "hold"], capture_output=True, timeout=30)


def test_sendmail_submission_uses_non_smtpd_milters(stack):
    pf, mt = stack
    spam, mid = _with_id(SPAM_SAMPLE, "via-sendmail")
    p = subprocess.run(["sendmail", "-C", str(pf.conf), "-f", "sender@example.org", f"user@{TEST_DOMAIN}"],
                       input=spam, capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr
    [s] = _delivered(pf, mid)
    assert email.message_from_bytes(s)["X-Spam-Flag"] == "YES"


def test_large_message_delivered_whole(stack):
    """2 MB (beyond the 512 KB buffer cap: the milter answers SKIP and scores the start)."""
    pf, mt = stack
    filler = b"".join(b"line %06d of a large attachment-like body, nothing to see\r\n" % i for i in range(35000))
    big, mid = _with_id(HAM_SAMPLE.replace(b"\n", b"\r\n") + filler, "large")
    assert len(big) > 2_000_000
    _send(pf, big)
    [h] = _delivered(pf, mid, timeout=60)
    assert email.message_from_bytes(h)["X-Spam-Status"] is not None
    assert _body(h) == _body(big)


def test_many_messages_each_delivered_once(stack):
    pf, mt = stack
    ids = []
    with smtplib.SMTP("127.0.0.1", pf.port, timeout=30) as s:
        for i in range(20):
            raw = make_message(f"note {i}", f"message number {i} about the project review", msgid=make_msgid(f"bulk{i}"))
            ids.append(email.message_from_bytes(raw)["Message-ID"])
            s.sendmail("sender@example.org", [f"other@{TEST_DOMAIN}"], raw)
    files = pf.wait_for_mail(20, user="other", timeout=30)
    got = [email.message_from_bytes(p.read_bytes())["Message-ID"] for p in files]
    assert sorted(got) == sorted(ids)


def test_milter_down_default_action_accepts(stack):
    """Last: stops the milter.  Postfix applies milter_default_action = accept; nothing is lost."""
    pf, mt = stack
    mt.stop()
    n = mt.server.stats.messages
    ham, mid = _with_id(HAM_SAMPLE, "milter-down")
    _send(pf, ham)
    [h] = _delivered(pf, mid)
    assert email.message_from_bytes(h)["X-Spam-Status"] is None
    assert mt.server.stats.messages == n
    assert "milter" in pf.maillog()
