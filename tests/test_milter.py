"""The milter: codec, policy, and the server driven by a small pure-Python MTA over loopback."""

from __future__ import annotations

import asyncio
import socket
import struct
import time

import pytest

from postfix_fixture import HAM_SAMPLE, SPAM_SAMPLE, MilterThread, train_tiny_model
from spamscore import milter as M
from spamscore.milter import MilterConfig, encode, parse_listen, read_packet
from spamscore.scoring import Verdict

FINAL = {b"a", b"c", b"r", b"t", b"y", b"d"}


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return train_tiny_model(tmp_path_factory.mktemp("model") / "tiny.spamscore")


class MiniMTA:
    """Just enough of an MTA's side of the milter protocol (as Postfix speaks it)."""

    def __init__(self, port: int, version=6, actions=0x1FF, protocol=0x1FFFFF):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.sock.settimeout(10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)   # else Nagle + delayed ACK: 40 ms a message
        self.send(b"O", struct.pack("!III", version, actions, protocol))
        cmd, data = self.recv()
        assert cmd == b"O"
        self.version, self.actions, self.protocol = struct.unpack("!III", data[:12])

    def send(self, cmd: bytes, data: bytes = b"") -> None:
        self.sock.sendall(encode(cmd, data))

    def _exact(self, n: int) -> bytes:
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("milter closed the connection")
            buf += chunk
        return buf

    def recv(self) -> tuple[bytes, bytes]:
        (n,) = struct.unpack("!I", self._exact(4))
        body = self._exact(n)
        return body[:1], body[1:]

    def _maybe_reply(self, nr_flag: int) -> tuple[bytes, bytes] | None:
        if self.protocol & nr_flag:
            return None
        return self.recv()

    def message(self, raw: bytes, queue_id="ABC123", chunk=65535) -> list[tuple[bytes, bytes]]:
        """Send one message as header / EOH / body events; return the replies to end of body."""
        head, _, body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
        fields: list[list[bytes]] = []
        for line in head.split(b"\n"):
            if line[:1] in (b" ", b"\t") and fields:
                fields[-1][1] += b"\n" + line
            elif b":" in line:
                name, _, value = line.partition(b":")
                fields.append([name, value])
        self.send(b"D", b"T" + b"i\0" + queue_id.encode() + b"\0")
        for name, value in fields:
            if not self.protocol & M.SMFIP_HDR_LEADSPC:
                value = value.lstrip(b" ")
            self.send(b"L", name + b"\0" + value + b"\0")
            r = self._maybe_reply(M.SMFIP_NR_HDR)
            assert r is None or r[0] == b"c"
        self.send(b"N")
        r = self._maybe_reply(M.SMFIP_NR_EOH)
        assert r is None or r[0] == b"c"
        body = body.replace(b"\n", b"\r\n")
        self.skipped = False
        for i in range(0, len(body), chunk):
            self.send(b"B", body[i:i + chunk])
            r = self._maybe_reply(M.SMFIP_NR_BODY)
            if r is not None and r[0] == b"s":
                self.skipped = True
                break
            assert r is None or r[0] == b"c"
        self.send(b"E")
        replies = []
        while True:
            cmd, data = self.recv()
            replies.append((cmd, data))
            if cmd in FINAL:
                return replies

    def close(self) -> None:
        try:
            self.send(b"Q")
        finally:
            self.sock.close()


def headers_of(replies) -> dict[str, str]:
    out = {}
    for cmd, data in replies:
        if cmd == b"i":
            name, value = data[4:].split(b"\0")[:2]
            out[name.decode()] = value.decode()
    return out


# -- codec ----------------------------------------------------------------------

def _reader(data: bytes, eof=True) -> asyncio.StreamReader:
    r = asyncio.StreamReader()
    r.feed_data(data)
    if eof:
        r.feed_eof()
    return r


def test_codec_roundtrip_and_limits():
    async def go():
        pkt = encode(b"L", b"Subject\0 hi\0")
        assert pkt == b"\x00\x00\x00\x0dLSubject\x00 hi\x00"
        assert await read_packet(_reader(pkt), 100, 1) == (b"L", b"Subject\0 hi\0")
        assert await read_packet(_reader(b""), 100, 1) is None
        with pytest.raises(M.ProtocolError, match="exceeds"):
            await read_packet(_reader(struct.pack("!I", 10_000) + b"B"), 100, 1)
        with pytest.raises(M.ProtocolError, match="length 0"):
            await read_packet(_reader(struct.pack("!I", 0)), 100, 1)
        with pytest.raises(M.ProtocolError, match="inside a packet"):
            await read_packet(_reader(struct.pack("!I", 50) + b"Babc"), 100, 1)
        with pytest.raises((asyncio.TimeoutError, TimeoutError)):
            await read_packet(_reader(b"\x00\x00", eof=False), 100, 0.05)
    asyncio.run(go())
    assert M.decode_optneg(M.encode_optneg(6, 0x31, 0x400)) == (6, 0x31, 0x400)
    with pytest.raises(M.ProtocolError):
        M.decode_optneg(b"\0" * 5)


def test_parse_listen():
    assert parse_listen("inet:127.0.0.1:11332") == ("inet", "127.0.0.1", 11332)
    assert parse_listen("inet:localhost:25") == ("inet", "localhost", 25)
    assert parse_listen("unix:/run/spamscore.sock") == ("unix", "/run/spamscore.sock")
    for bad in ("tcp:1.2.3.4:5", "inet:host:notaport", "inet:h:70000", "unix:"):
        with pytest.raises(ValueError):
            parse_listen(bad)


def test_decide_policy(model):
    srv = M.MilterServer(model, MilterConfig(action="reject", reject_text="go away"))
    msg = M._Message()
    spam = Verdict(0.99, "spam")
    ham = Verdict(0.01, "ham")
    d = srv.decide(spam, msg)
    assert d.action == "reject" and d.replies == [encode(b"y", b"550 5.7.1 go away\0")]
    d = srv.decide(ham, msg)
    assert d.action == "tag" and d.replies[-1] == encode(b"c")
    srv.config = MilterConfig(action="quarantine", threshold=0.5)
    d = srv.decide(Verdict(0.6, "unsure"), msg)
    assert d.action == "quarantine" and any(r[4:5] == b"q" for r in d.replies)
    srv.config = MilterConfig(on_error="tempfail")
    assert srv.decide(None, msg, "x").replies == [encode(b"t")]
    srv.config = MilterConfig(on_error="accept")
    assert srv.decide(None, msg, "x").replies == [encode(b"c")]
    with pytest.raises(ValueError):
        MilterConfig(action="bounce")


# -- the server over loopback ------------------------------------------------------

def test_tags_spam_and_ham_with_negotiated_flags(model):
    with MilterThread(model) as mt:
        mta = MiniMTA(mt.port)
        assert mta.version == 6
        assert mta.actions == M.SMFIF_ADDHDRS | M.SMFIF_CHGHDRS | M.SMFIF_QUARANTINE
        assert mta.protocol & M.SMFIP_NR_HDR and mta.protocol & M.SMFIP_NOCONNECT
        r = mta.message(SPAM_SAMPLE)
        h = headers_of(r)
        assert h["X-Spam-Flag"] == " YES" and h["X-Spam-Status"].startswith(" Yes, score=")
        assert r[-1][0] == b"c"
        # second message on the same connection: state was reset
        r = mta.message(HAM_SAMPLE, queue_id="DEF456")
        h = headers_of(r)
        assert "X-Spam-Flag" not in h and h["X-Spam-Status"].startswith(" No, score=")
        mta.close()
        _wait(lambda: mt.server.stats.messages == 2)
        assert mt.server.stats.by_verdict == {"spam": 1, "ham": 1}


def test_old_mta_without_nr_flags(model):
    """An MTA offering protocol 2 and no flags gets a reply to every event."""
    with MilterThread(model) as mt:
        mta = MiniMTA(mt.port, version=2, actions=0x3F, protocol=0)
        assert mta.version == 2 and mta.protocol == 0
        r = mta.message(SPAM_SAMPLE)
        assert headers_of(r)["X-Spam-Flag"] == " YES"
        mta.close()


def test_stale_markup_removed_and_subject_tagged(model):
    forged = SPAM_SAMPLE.replace(b"Subject:", b"X-Spam-Flag: NO\nX-Spam-Status: No\nX-Spam-Flag: NO\nSubject:", 1)
    with MilterThread(model, MilterConfig(subject_tag="[SPAM]")) as mt:
        mta = MiniMTA(mt.port)
        r = mta.message(forged)
        changes = [(struct.unpack("!I", d[:4])[0], d[4:]) for c, d in r if c == b"m"]
        assert (2, b"X-Spam-Flag\0\0") in changes and (1, b"X-Spam-Flag\0\0") in changes
        assert changes.index((2, b"X-Spam-Flag\0\0")) < changes.index((1, b"X-Spam-Flag\0\0"))
        assert (1, b"X-Spam-Status\0\0") in changes
        assert (1, b"Subject\0 [SPAM] WIN CASH NOW\0") in changes
        mta.close()


@pytest.mark.parametrize("action,expect", [("reject", b"y"), ("tempfail", b"t"), ("quarantine", b"q")])
def test_actions_on_spam(model, action, expect):
    with MilterThread(model, MilterConfig(action=action, reject_text="No spam here")) as mt:
        mta = MiniMTA(mt.port)
        r = mta.message(SPAM_SAMPLE)
        cmds = [c for c, _ in r]
        assert expect in cmds
        if action == "reject":
            assert r[-1] == (b"y", b"550 5.7.1 No spam here\0")
        r = mta.message(HAM_SAMPLE)          # ham is never refused
        assert r[-1][0] == b"c" and b"i" in [c for c, _ in r]
        mta.close()


@pytest.mark.parametrize("on_error,final", [("accept", b"c"), ("tempfail", b"t"), ("reject", b"y")])
def test_scoring_failure(model, on_error, final):
    def boom(raw):
        raise RuntimeError("simulated")
    with MilterThread(model, MilterConfig(on_error=on_error), scorer=boom) as mt:
        mta = MiniMTA(mt.port)
        r = mta.message(SPAM_SAMPLE)
        assert r[-1][0] == final and headers_of(r) == {}
        mta.close()
        _wait(lambda: mt.server.stats.errors == 1)


def test_scoring_timeout_fails_open(model):
    def slow(raw):
        time.sleep(3)
    with MilterThread(model, MilterConfig(score_timeout=0.2)) as mt:
        mt.server.scorer = slow
        mta = MiniMTA(mt.port)
        r = mta.message(HAM_SAMPLE)
        assert r == [(b"c", b"")]
        mta.close()


def test_body_cap_skips_and_scores_the_start(model):
    seen = []

    def record(raw):
        seen.append(len(raw))
        return model.score(raw)
    big = SPAM_SAMPLE + (b"filler words here " * 50 + b"\n") * 400   # ~370 KB
    with MilterThread(model, MilterConfig(max_bytes=8192), scorer=record) as mt:
        mta = MiniMTA(mt.port)
        r = mta.message(big, chunk=4096)
        assert mta.skipped and r[-1][0] == b"c" and "X-Spam-Status" in headers_of(r)
        assert seen == [8192]
        mta.close()


def test_abort_resets_message(model):
    with MilterThread(model) as mt:
        mta = MiniMTA(mt.port)
        mta.send(b"L", b"Subject\0 WIN CASH NOW viagra\0")
        mta.send(b"A")
        seen = []
        mt.server.scorer = lambda raw: (seen.append(raw), model.score(raw))[1]
        mta.message(HAM_SAMPLE)
        assert b"viagra" not in seen[0].split(b"\r\n\r\n")[0]
        mta.close()


def test_protocol_errors_end_only_that_connection(model):
    with MilterThread(model, MilterConfig(max_packet=4096)) as mt:
        s = socket.create_connection(("127.0.0.1", mt.port), timeout=5)
        s.sendall(struct.pack("!I", 1_000_000) + b"B")
        assert s.recv(10) == b""             # closed by the milter
        s.close()
        s = socket.create_connection(("127.0.0.1", mt.port), timeout=5)
        s.sendall(encode(b"Z"))
        assert s.recv(10) == b""
        s.close()
        mta = MiniMTA(mt.port)                # still serving
        assert headers_of(mta.message(SPAM_SAMPLE))["X-Spam-Flag"] == " YES"
        mta.close()


def test_random_garbage_never_stops_the_server(model):
    import random
    rnd = random.Random(1)
    with MilterThread(model, MilterConfig(max_packet=65536, read_timeout=2.0)) as mt:
        for _ in range(40):
            s = socket.create_connection(("127.0.0.1", mt.port), timeout=5)
            try:
                if rnd.random() < 0.5:      # well-framed packets with random commands and data
                    s.sendall(encode(b"O", struct.pack("!III", 6, 0x1FF, 0x1FFFFF)))
                    for _ in range(rnd.randint(1, 20)):
                        s.sendall(encode(bytes([rnd.randint(0, 255)]), rnd.randbytes(rnd.randint(0, 300))))
                else:                       # raw noise
                    s.sendall(rnd.randbytes(rnd.randint(1, 2000)))
                s.shutdown(socket.SHUT_WR)
                s.settimeout(5)
                while s.recv(65536):
                    pass
            except OSError:
                pass
            finally:
                s.close()
        mta = MiniMTA(mt.port)
        assert headers_of(mta.message(SPAM_SAMPLE))["X-Spam-Flag"] == " YES"
        mta.close()


def test_long_header_values_are_folded(model):
    from spamscore.scoring import Clue
    srv = M.MilterServer(model)
    d = srv.decide(Verdict(0.99, "spam", [Clue("y" * 3000, 1.0)] * 5), M._Message())
    for pkt in d.replies:
        if pkt[4:5] == b"i":
            value = pkt[5 + 4:].split(b"\0")[1]
            assert all(len(line) < 998 for line in value.split(b"\n"))
            assert all(line[:1] == b"\t" for line in value.split(b"\n")[1:])


def test_concurrent_connections(model):
    import threading
    results = []

    def one(i):
        mta = MiniMTA(mt.port)
        for _ in range(5):
            results.append(headers_of(mta.message(SPAM_SAMPLE if i % 2 else HAM_SAMPLE)).get("X-Spam-Flag"))
        mta.close()
    with MilterThread(model, MilterConfig(workers=2)) as mt:
        threads = [threading.Thread(target=one, args=(i,)) for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(results) == 30 and results.count(" YES") == 15


@pytest.mark.parametrize("processes", [1, 2])
def test_unix_socket_and_sigterm_shutdown(model, tmp_path, processes):
    """The real command: listens on a unix socket, exits 0 on SIGTERM and removes the socket."""
    import os
    import signal
    import subprocess
    import sys

    model_path = tmp_path / "m.spamscore"
    model.save(model_path)
    sock_path = tmp_path / "milter.sock"
    p = subprocess.Popen([sys.executable, "-m", "spamscore", "milter", "--listen", f"unix:{sock_path}",
                          "--model", str(model_path), "--processes", str(processes)],
                         stderr=open(tmp_path / "stderr", "wb"))
    try:
        _wait(lambda: (tmp_path / "stderr").read_text().count("serving") == processes, timeout=60)
        for _ in range(4):
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(30)
            s.connect(str(sock_path))
            s.sendall(encode(b"O", struct.pack("!III", 6, 0x1FF, 0x1FFFFF)))
            assert s.recv(4096)[4:5] == b"O"
            s.close()
        p.send_signal(signal.SIGTERM)
        assert p.wait(60) == 0
        assert not sock_path.exists()
        err = (tmp_path / "stderr").read_text()
        assert err.count("shutting down") == processes, err
        import re
        for pid in re.findall(r"pid (\d+) serving", err):
            with pytest.raises(ProcessLookupError):
                os.kill(int(pid), 0)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(10)


def test_milter_command_errors(model, tmp_path):
    from typer.testing import CliRunner
    from spamscore.cli import app

    r = CliRunner().invoke(app, ["milter", "--listen", "inet:127.0.0.1:1", "--model", str(tmp_path / "none")])
    assert r.exit_code == 2 and "model" in r.stderr
    r = CliRunner().invoke(app, ["milter", "--listen", "tcp:nowhere"])
    assert r.exit_code == 2 and "--listen" in r.stderr
    path = tmp_path / "m.spamscore"
    model.save(path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = CliRunner().invoke(app, ["milter", "--listen", f"inet:127.0.0.1:{port}", "--model", str(path)])
    assert r.exit_code == 2 and "cannot listen" in r.stderr


def _wait(cond, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)
