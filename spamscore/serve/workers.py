"""Pre-forked worker processes for the milter and the spamd server: one listening socket, N workers, reload on SIGHUP.

One Python process scores on one core at a time, so :func:`supervise` runs N
worker processes on one listening socket for either server: the model is
loaded before the fork (the workers share its pages), SIGHUP loads it again
and replaces the workers by a new generation (the old ones stop accepting and
finish what they hold), a worker that dies is replaced, SIGTERM or SIGINT
stops them all.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from typing import Callable

from .serving import bind

__all__ = ["supervise", "preloaded"]

log = logging.getLogger("spamscore.serving")

_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}


async def _worker_main(sock, make_server, model, grace: float, retire_grace: float, parent: int, logger) -> None:
    server = make_server(model)
    await server.start(sock=sock)
    stop = asyncio.Event()
    retiring = []
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, lambda: (retiring.append(True), stop.set()))
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS | {signal.SIGUSR1})
    logger.info("worker %d serving", os.getpid())
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), 1.0)
        except (asyncio.TimeoutError, TimeoutError):
            if os.getppid() != parent:          # the parent died (SIGKILL...): do not serve on alone
                logger.error("worker %d: parent %d is gone, stopping", os.getpid(), parent)
                break
    logger.info("worker %d shutting down%s", os.getpid(), " (replaced)" if retiring else "")
    closing = asyncio.ensure_future(server.close(retire_grace if retiring else grace))
    if retiring:                                # finishing for a long while: SIGTERM still stops it now
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, closing.cancel)
    try:
        await closing
    except asyncio.CancelledError:
        pass


def _fork_worker(sock, make_server, model, grace: float, retire_grace: float, logger) -> int:
    """Fork one worker (signals are blocked by the caller around the fork, so none is lost)."""
    parent = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)     # the parent reloads; a terminal's hang-up is its
        asyncio.run(_worker_main(sock, make_server, model, grace, retire_grace, parent, logger))
    except BaseException:  # noqa: BLE001 - report, then leave without running the parent's cleanup
        logger.exception("worker failed")
        code = 1
    finally:
        logging.shutdown()
        os._exit(code)


def supervise(address, load: Callable[[], object], make_server: Callable[[object], object], *, workers: int = 1,
              grace: float = 10.0, retire_grace: float | None = None, ready: Callable[[], None] | None = None,
              logger=log) -> None:
    """Serve until SIGTERM or SIGINT with ``workers`` pre-forked processes; SIGHUP reloads.

    ``make_server(model)`` builds a worker's server: an object with ``async
    start(sock=...)`` and ``async close(grace)``.  The parent binds the socket
    and loads the model (``load()``) before it forks, so the workers share the
    model's pages; each worker accepts on the shared socket (the kernel hands
    each connection to one of them).  The parent never serves: it restarts a
    worker that dies, and on SIGHUP loads the model again and starts a new
    generation of workers, then sends the old ones SIGUSR1: they stop
    accepting and finish the connections they hold (``retire_grace`` seconds
    at most, default ``grace``: a milter's connection lasts an SMTP session),
    while new connections wait in the backlog for the new workers, so no
    connection is dropped.  If the new model cannot be loaded, the old workers
    go on and the error is logged.  SIGTERM stops every worker (``grace``
    seconds for open connections) and removes a Unix socket.
    """
    retire_grace = grace if retire_grace is None else retire_grace
    model = load()
    sock = bind(address)
    logger.info("listening on %s with %d worker(s), pid %d", ":".join(str(a) for a in address), workers, os.getpid())
    flags = {"stop": False, "reload": False}

    def on_stop(*_):
        flags["stop"] = True

    def on_hup(*_):
        flags["reload"] = True

    old = {signal.SIGTERM: signal.signal(signal.SIGTERM, on_stop), signal.SIGINT: signal.signal(signal.SIGINT, on_stop),
           signal.SIGHUP: signal.signal(signal.SIGHUP, on_hup)}
    current: set[int] = set()
    retiring: set[int] = set()
    restarts: list[float] = []

    def spawn(n: int) -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS | {signal.SIGUSR1})
        try:
            for _ in range(n):
                current.add(_fork_worker(sock, make_server, model, grace, retire_grace, logger))
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS | {signal.SIGUSR1})

    try:
        spawn(workers)
        if ready is not None:
            ready()
        while not flags["stop"]:
            if flags["reload"]:
                flags["reload"] = False
                try:
                    new = load()
                except Exception as exc:  # noqa: BLE001 - keep serving with the old model
                    logger.error("reload failed, still serving the old model: %s", exc)
                else:
                    model = new
                    old_gen = set(current)
                    current.clear()
                    spawn(workers)
                    _signal_all(old_gen, signal.SIGUSR1)
                    retiring |= old_gen
                    logger.info("reloaded the model; %d new worker(s), %d finishing", len(current), len(old_gen))
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                pid, status = 0, 0
            if not pid:
                time.sleep(0.05)
                continue
            if pid in retiring:
                retiring.discard(pid)
            elif pid in current:
                current.discard(pid)
                logger.error("worker %d exited (status %d); starting another", pid, status)
                now = time.monotonic()
                restarts[:] = [t for t in restarts if now - t < 10.0] + [now]
                if len(restarts) > 2 * workers:          # dying at once, again and again: slow down
                    time.sleep(1.0)
                if not flags["stop"]:
                    spawn(1)
    finally:
        everyone = current | retiring
        _signal_all(everyone, signal.SIGTERM)
        deadline = time.monotonic() + grace + 5
        while everyone and time.monotonic() < deadline:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid:
                everyone.discard(pid)
            else:
                time.sleep(0.05)
        _signal_all(everyone, signal.SIGKILL)
        for pid in everyone:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        for sig, handler in old.items():
            signal.signal(sig, handler)
        sock.close()
        if address[0] == "unix":
            try:
                os.unlink(address[1])
            except OSError:
                pass
        logger.info("stopped")


def preloaded(load: Callable[[], object], first=None) -> Callable[[], object]:
    """Call ``load()`` now (so a missing or damaged model fails before anything listens; or take ``first``)
    and return a loader that gives that model first, then a fresh ``load()`` at each call (each SIGHUP)."""
    pending = [load() if first is None else first]
    return lambda: pending.pop() if pending else load()


def _signal_all(pids, sig) -> None:
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass
