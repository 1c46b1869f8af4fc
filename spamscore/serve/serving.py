"""What the milter and the spamd server share: the listening socket, and admission and serving of connections.

Both servers face the same attack (issue 14, "Connection slots"): a slot held
by a connection that sends nothing.  With a semaphore held until a long read
timeout, 200 idle connections stopped all scoring for ten minutes.  So a
connection is admitted by :class:`Admission`: at most ``max_per_peer`` from one
address, at most ``max_connections`` in all, and when the pool is full the
connection idle longest is closed to make room; only when every slot is busy
(inside a message or a request) does a newcomer wait, for a short while, and
then it is refused.  Each server says when its connections are idle (the
milter: between messages; spamd: before the request line has come).

:class:`Listener` is the rest both servers share: listening on an address or a
socket, one task per connection (admitted, served, released), shutdown with a
grace period.  The processes that run them: :mod:`spamscore.serve.workers`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time

__all__ = ["Admission", "Listener", "check_slots", "parse_listen", "bind", "peer_of"]

log = logging.getLogger("spamscore.serving")


# ----------------------------------------------------------------------------
# the listening socket

def parse_listen(spec: str):
    """'inet:HOST:PORT' / 'inet:PORT' / 'unix:/path' -> ("inet", host, port) or ("unix", path)."""
    kind, _, rest = spec.partition(":")
    if kind in ("unix", "local") and rest:
        return ("unix", rest)
    if kind in ("inet", "inet6") and rest:
        host, _, port = rest.rpartition(":")
        host = host.strip("[]") or "127.0.0.1"
        if host.startswith("@"):
            host = host[1:]
        try:
            p = int(port)
        except ValueError:
            p = -1
        if not 0 < p < 65536:
            raise ValueError(f"expected a port number in {spec!r}")
        return ("inet", host, p)
    raise ValueError(f"expected --listen inet:HOST:PORT or unix:/path/to.sock, got {spec!r}")


def bind(address, backlog: int = 512):
    """A listening socket for ("inet", host, port) or ("unix", path)."""
    if address[0] == "unix":
        path = address[1]
        if os.path.exists(path):
            os.unlink(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(path)
        os.chmod(path, 0o666)
    else:
        infos = socket.getaddrinfo(address[1], address[2], type=socket.SOCK_STREAM)
        family = infos[0][0]
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(infos[0][4])
        except OSError:
            sock.close()
            raise
    sock.listen(backlog)
    sock.setblocking(False)
    return sock


def peer_of(writer) -> str:
    """The address the per-peer limit counts: the IP for TCP; every unix-socket peer is the local MTA."""
    peer = writer.get_extra_info("peername")
    return peer[0] if isinstance(peer, tuple) and peer else "unix"


class Listener:
    """What the milter and spamd servers share: listen, admit each connection, serve it, close with a grace period.

    A subclass has ``stats`` (with ``connections``), ``_tasks`` (its connections' tasks), ``_executor``
    (its scoring threads) and ``_admission``, and says how a connection is seen (:meth:`connection`),
    served (:meth:`serve_connection`), refused and released.  ``stream_limit`` bounds a line its
    StreamReaders read (asyncio's default); ``ended`` lists the exceptions that end a connection with a
    warning only; ``log`` is its logger.
    """

    _server: asyncio.AbstractServer | None = None
    stream_limit = 2 ** 16
    ended: tuple = (ConnectionError, TimeoutError)
    log = log

    def connection(self, reader, writer):
        """The object :class:`Admission` sees for a new connection (``peer``, ``idle``, ``idle_since``)."""
        raise NotImplementedError

    async def serve_connection(self, conn, reader, writer) -> None:
        raise NotImplementedError

    async def refuse(self, conn, reader, writer) -> None:
        """No slot for ``conn``: by default it is closed at once."""

    def released(self, conn) -> None:
        """``conn`` ended: give back what it held."""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        self.stats.connections += 1
        conn = self.connection(reader, writer)
        try:
            if await self._admission.admit(conn, task):
                await self.serve_connection(conn, reader, writer)
            else:
                await self.refuse(conn, reader, writer)
        except self.ended as exc:
            self.log.warning("connection ended: %s", exc or type(exc).__name__)
        except asyncio.CancelledError:
            pass
        except Exception:  # noqa: BLE001 - one bad connection never stops the server
            self.log.exception("connection failed")
        finally:
            self._tasks.discard(task)
            self._admission.release(conn)
            self.released(conn)
            try:
                writer.close()
            except Exception:  # noqa: BLE001
                pass

    async def start(self, address=None, *, sock=None) -> asyncio.AbstractServer:
        """Listen on ("inet", host, port), ("unix", path) or an already bound ``sock``."""
        limit = self.stream_limit
        if sock is not None:
            self._server = await asyncio.start_server(self.handle, sock=sock, limit=limit)
        elif address[0] == "unix":
            path = address[1]
            if os.path.exists(path):
                os.unlink(path)
            self._server = await asyncio.start_unix_server(self.handle, path=path, limit=limit)
            os.chmod(path, 0o666)
        else:
            self._server = await asyncio.start_server(self.handle, host=address[1], port=address[2],
                                                      reuse_address=True, limit=limit)
        return self._server

    @property
    def sockets(self):
        return self._server.sockets if self._server else []

    async def close(self, grace: float = 10.0) -> None:
        """Stop accepting, let open connections finish for ``grace`` seconds, then cancel them."""
        if self._server is not None:
            self._server.close()
        pending = [t for t in self._tasks if not t.done()]
        if pending:
            _, still = await asyncio.wait(pending, timeout=grace)
            for t in still:
                t.cancel()
            if still:
                await asyncio.wait(still, timeout=1.0)
        self._executor.shutdown(wait=False, cancel_futures=True)


# ----------------------------------------------------------------------------
# admission

def check_slots(max_connections: int, max_per_peer: int) -> None:
    """A configuration's slot limits, checked when it is made (ValueError)."""
    if max_connections < 1 or max_per_peer < 1:
        raise ValueError(f"expected max_connections and max_per_peer >= 1, got {max_connections}, {max_per_peer}")


class Admission:
    """Connection slots that idle clients cannot starve.

    A connection is any object with ``peer`` (str), ``idle`` (bool: it may be
    closed to make room) and ``idle_since`` (``time.monotonic()``).  ``stats``
    gets ``evicted`` and ``refused`` counted; ``wait`` is how long a newcomer
    waits when every slot is busy.
    """

    def __init__(self, max_connections: int, max_per_peer: int, wait: float, stats, logger=log):
        self.max_connections = max_connections
        self.max_per_peer = max_per_peer
        self.wait = wait
        self.stats = stats
        self.log = logger
        self.conns: dict = {}                       # open connection -> its task, oldest first
        self._freed: asyncio.Event | None = None

    def _evict(self, candidates) -> bool:
        """Close the connection idle longest among ``candidates``; False if none is idle."""
        idle = [c for c in candidates if c.idle]
        if not idle:
            return False
        victim = min(idle, key=lambda c: c.idle_since)
        task = self.conns.pop(victim, None)
        if task is not None:
            task.cancel()
        self.stats.evicted += 1
        self.log.info("closed the connection from %s idle for %.1f s to make room", victim.peer,
                      time.monotonic() - victim.idle_since)
        return True

    async def admit(self, conn, task) -> bool:
        """Find ``conn`` a slot: per peer, then in the pool (closing idle connections, else waiting)."""
        same = [c for c in self.conns if c.peer == conn.peer]
        if len(same) >= self.max_per_peer and not self._evict(same):
            self.log.warning("connection from %s refused: it has %d busy connections (max_per_peer)",
                             conn.peer, len(same))
            self.stats.refused += 1
            return False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait
        while len(self.conns) >= self.max_connections:
            if self._evict(list(self.conns)):
                continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                self.log.warning("connection from %s refused: all %d connections busy for %g s", conn.peer,
                                 self.max_connections, self.wait)
                self.stats.refused += 1
                return False
            if self._freed is None:
                self._freed = asyncio.Event()
            self._freed.clear()
            try:
                async with asyncio.timeout(remaining):
                    await self._freed.wait()
            except TimeoutError:
                pass
        self.conns[conn] = task
        return True

    def release(self, conn) -> None:
        """``conn`` ended (or was never admitted): its slot is free."""
        self.conns.pop(conn, None)
        if self._freed is not None:
            self._freed.set()
