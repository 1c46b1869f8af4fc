"""spamscore.serve.serving and .workers: connection admission shared by the milter and spamd, the pre-forked workers.

The workers are driven through the real ``spamscore milter --workers 2`` command with a small
milter-protocol client (test_milter.MiniMTA): SIGHUP with a connection held open, a killed worker
replaced, SIGTERM stopping them all.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from postfix_fixture import HAM_SAMPLE, SPAM_SAMPLE, free_port, train_tiny_model
from spamscore.scoring import Model
from spamscore.serve.serving import Admission, parse_listen
from test_milter import MiniMTA, _wait, headers_of


# -- admission ------------------------------------------------------------------------

class Conn:
    def __init__(self, peer: str, idle: bool = True):
        self.peer, self.idle, self.idle_since = peer, idle, time.monotonic()


class Stats:
    evicted = 0
    refused = 0


def _admission_scenario(scenario):
    async def run():
        tasks = []

        def task():                  # a stand-in for a connection's task: cancelled when it is evicted
            t = asyncio.ensure_future(asyncio.sleep(3600))
            tasks.append(t)
            return t

        try:
            return await scenario(task)
        finally:
            for t in tasks:
                t.cancel()

    return asyncio.run(run())


def test_admission_closes_the_oldest_idle_connection_when_full():
    async def scenario(task):
        st = Stats()
        adm = Admission(max_connections=2, max_per_peer=10, wait=5.0, stats=st)
        old, new = Conn("a"), Conn("b")
        t_old = task()
        assert await adm.admit(old, t_old) and await adm.admit(new, task())
        t0 = time.monotonic()
        assert await adm.admit(Conn("c"), task())
        assert time.monotonic() - t0 < 1.0                   # no wait: an idle one made room
        await asyncio.sleep(0)
        assert t_old.cancelled() and old not in adm.conns and new in adm.conns
        assert (st.evicted, st.refused) == (1, 0)

    _admission_scenario(scenario)


def test_admission_keeps_busy_connections_waits_briefly_then_refuses():
    async def scenario(task):
        st = Stats()
        adm = Admission(max_connections=1, max_per_peer=10, wait=0.2, stats=st)
        busy = Conn("a", idle=False)
        assert await adm.admit(busy, task())
        assert not await adm.admit(Conn("b"), task())           # waited 0.2 s, nobody left
        assert (st.evicted, st.refused) == (0, 1) and busy in adm.conns
        # a slot freed while a newcomer waits goes to it
        later = asyncio.get_running_loop().call_later(0.05, adm.release, busy)
        adm.wait = 5.0
        assert await adm.admit(Conn("c"), task())
        later.cancel()

    _admission_scenario(scenario)


def test_admission_per_peer_limit():
    async def scenario(task):
        st = Stats()
        adm = Admission(max_connections=100, max_per_peer=2, wait=5.0, stats=st)
        a1, a2 = Conn("a", idle=False), Conn("a", idle=False)
        assert await adm.admit(a1, task()) and await adm.admit(a2, task())
        assert not await adm.admit(Conn("a"), task())           # refused at once, not after `wait`
        assert await adm.admit(Conn("b"), task())               # another address is not counted
        a1.idle = True                                           # an idle one of the same peer makes room
        assert await adm.admit(Conn("a"), task()) and a1 not in adm.conns
        assert (st.evicted, st.refused) == (1, 1)

    _admission_scenario(scenario)


def test_parse_listen_is_shared():
    from spamscore.serve import milter, spamd

    assert milter.parse_listen is spamd.parse_listen is parse_listen


# -- milter workers ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return train_tiny_model(tmp_path_factory.mktemp("model") / "tiny.spamscore")


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _status(replies) -> str:
    h = headers_of(replies)
    assert "X-Spam-Flag" not in h, h
    return h["X-Spam-Status"]


def test_milter_workers_reload_restart_and_stop(model, tmp_path):
    path = tmp_path / "m.spamscore"
    model.save(path)
    port = free_port()
    log = tmp_path / "stderr"
    with open(log, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "spamscore", "milter", "--listen", f"inet:127.0.0.1:{port}",
                                 "--model", str(path), "--workers", "2"], stderr=err)
    text = lambda: log.read_text(errors="replace")            # noqa: E731
    pids = lambda: [int(p) for p in re.findall(r"worker (\d+) serving", text())]   # noqa: E731
    try:
        _wait(lambda: len(pids()) == 2 or proc.poll() is not None, 60)
        first = set(pids())
        assert len(first) == 2 and os.getpid() not in first, text()
        # connections are spread over both workers, each scoring with the model loaded before the fork
        held = MiniMTA(port)
        assert headers_of(held.message(SPAM_SAMPLE))["X-Spam-Flag"] == " YES"
        # SIGHUP with a connection held open (in the middle of a message): a model that calls nothing spam
        held.send(b"L", b"Subject\0 WIN CASH NOW\0")
        strict = Model.load(path)
        strict.spam_cutoff, strict.ham_cutoff = 1.0, 0.9999
        strict.save(tmp_path / "new.spamscore")
        os.replace(tmp_path / "new.spamscore", path)
        proc.send_signal(signal.SIGHUP)
        _wait(lambda: "reloaded the model" in text() and len(pids()) == 4, 60)
        # the held connection is not dropped: its old worker finishes the message, and the next ones
        held.send(b"A")
        assert headers_of(held.message(SPAM_SAMPLE))["X-Spam-Flag"] == " YES"
        assert headers_of(held.message(HAM_SAMPLE))["X-Spam-Status"].startswith(" No")
        # new connections go to the new workers and the new model
        for _ in range(4):
            fresh = MiniMTA(port)
            assert _status(fresh.message(SPAM_SAMPLE)).startswith(" No"), text()
            fresh.close()
        held.close()                                           # its worker then leaves
        _wait(lambda: not any(_alive(p) for p in first), 60)
        # a worker killed outright is replaced
        victim = [p for p in pids() if p not in first][0]
        os.kill(victim, signal.SIGKILL)
        _wait(lambda: f"worker {victim} exited" in text() and len(pids()) == 5, 60)
        for _ in range(4):
            fresh = MiniMTA(port)
            assert _status(fresh.message(SPAM_SAMPLE)).startswith(" No")
            fresh.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0, text()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    assert "stopped" in text()
    assert not any(_alive(p) for p in pids()), text()
