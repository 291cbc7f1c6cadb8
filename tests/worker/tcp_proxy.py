"""A loopback TCP proxy that can make a server look down: refuse new connections, cut live ones.

It stands in front of the shared PostgreSQL so a test can take "the primary" away from an app
and its workers without touching the server itself (or anyone else using it). It runs its own
event loop in a thread: the processes behind it keep talking to the database while the test's
loop is busy or blocked.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Coroutine
from typing import Any

from sqlalchemy.engine import make_url


class TcpProxy:
    """Forwards 127.0.0.1:`port` to `target`; `outage()` and `heal()` switch it off and on."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.accepted = 0  # connections ever forwarded
        self.cut_count = 0  # live connections cut by outages
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._pipes: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()

    @classmethod
    def for_url(cls, url: str) -> TcpProxy:
        parsed = make_url(url)
        return cls(parsed.host or "127.0.0.1", parsed.port or 5432)

    def url(self, url: str) -> str:
        """`url` with its host and port swapped for this proxy's."""
        moved = make_url(url).set(host="127.0.0.1", port=self.port)
        return moved.render_as_string(hide_password=False)

    def start(self) -> TcpProxy:
        self._thread.start()
        self._call(self._listen())
        return self

    @property
    def listening(self) -> bool:
        return self._server is not None

    def refuse(self) -> None:
        """Stop listening: new connections get ECONNREFUSED, as from a server that is down."""
        self._call(self._close_server())

    def cut(self) -> int:
        """Reset every live connection (both ends); returns how many were cut."""
        return self._call(self._cut())

    def outage(self) -> int:
        """Refuse new connections and cut the live ones; returns how many were cut."""
        self.refuse()
        return self.cut()

    def heal(self) -> None:
        """Listen again on the same port."""
        self._call(self._listen())

    def close(self) -> None:
        if not self._thread.is_alive():
            return
        self._call(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def _call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=10)

    async def _listen(self) -> None:
        if self._server is not None:
            return
        # reuse_address (asyncio's default on POSIX) lets the port be bound again at once.
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _close_server(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    async def _cut(self) -> int:
        pipes = list(self._pipes)
        self._pipes.clear()
        for pair in pipes:
            for writer in pair:
                _reset(writer)
        self.cut_count += len(pipes)
        return len(pipes)

    async def _shutdown(self) -> None:
        await self._close_server()
        await self._cut()
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(*self.target)
        except OSError:
            _reset(client_w)
            return
        pair = (client_w, server_w)
        self._pipes.add(pair)
        self.accepted += 1
        try:
            await asyncio.gather(_pump(client_r, server_w), _pump(server_r, client_w))
        finally:
            self._pipes.discard(pair)
            for writer in pair:
                writer.close()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    # One side closed (or was cut): end the other side too, as a TCP peer would see it.
    if not writer.is_closing():
        with contextlib.suppress(OSError):
            writer.write_eof()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with an RST, not a FIN: the peer sees a reset connection, like a crashed host."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
