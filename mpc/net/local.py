"""In-process transport: n endpoints exchanging messages through shared mailboxes.

Used by tests and simulations, and by benches that measure protocol cost without sockets.
Endpoints may run on one asyncio event loop or on several loops in different threads (each
party in its own thread lets native kernels, which release the GIL, use several cores).
Messages are immutable `bytes`, so nothing is shared mutably between parties.
"""

from __future__ import annotations

import asyncio
import threading

from mpc.errors import PartyUnreachable, ProtocolAbort
from mpc.net.transport import Transport


class _Box:
    """One (src, dst, tag) slot: the message, and the future of a receiver waiting for it."""

    __slots__ = ("data", "waiter", "loop")

    def __init__(self):
        self.data: bytes | memoryview | None = None
        self.waiter: asyncio.Future | None = None
        self.loop: asyncio.AbstractEventLoop | None = None


class LocalNetwork:
    """Mailboxes shared by `n_endpoints` in-process endpoints."""

    def __init__(self, n_endpoints: int):
        self.n_endpoints = n_endpoints
        self._lock = threading.Lock()
        self._boxes: dict[tuple[int, int, str], _Box] = {}
        self._closed: set[int] = set()
        self.endpoints = [LocalTransport(self, i) for i in range(n_endpoints)]

    def endpoint(self, party_id: int) -> "LocalTransport":
        return self.endpoints[party_id]

    def _deliver(self, src: int, dst: int, tag: str, data: bytes) -> None:
        with self._lock:
            key = (src, dst, tag)
            box = self._boxes.get(key)
            if box is None:
                box = self._boxes[key] = _Box()
            elif box.data is not None:
                raise ProtocolAbort(
                    f"party {src} sent a second message to party {dst} under tag {tag!r}", party=src
                )
            box.data = data
            waiter, loop = box.waiter, box.loop
        if waiter is not None:
            loop.call_soon_threadsafe(_wake, waiter)

    async def _take(self, src: int, dst: int, tag: str, timeout: float | None) -> bytes:
        key = (src, dst, tag)
        with self._lock:
            box = self._boxes.get(key)
            if box is None:
                box = self._boxes[key] = _Box()
            if box.data is None:
                if src in self._closed:
                    del self._boxes[key]
                    raise PartyUnreachable(src, f"party {src} has left the local network")
                box.loop = asyncio.get_running_loop()
                box.waiter = box.loop.create_future()
            waiter = box.waiter
        if waiter is not None:
            try:
                await asyncio.wait_for(asyncio.shield(waiter), timeout)
            except asyncio.TimeoutError:
                with self._lock:
                    if self._boxes.get(key) is box and box.data is None:
                        del self._boxes[key]
                raise PartyUnreachable(
                    src, f"party {dst}: no message from party {src} under tag {tag!r} within {timeout} s"
                ) from None
        with self._lock:
            box = self._boxes.pop(key)
        if box.data is None:
            raise PartyUnreachable(src, f"party {src} left the local network before sending {tag!r}")
        return box.data

    def _leave(self, party_id: int) -> None:
        with self._lock:
            self._closed.add(party_id)
            waiting = [(b.waiter, b.loop) for (s, _d, _t), b in self._boxes.items()
                       if s == party_id and b.data is None and b.waiter is not None]
        for waiter, loop in waiting:
            loop.call_soon_threadsafe(_wake, waiter)


def _wake(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_result(None)


class LocalTransport(Transport):
    """One endpoint of a `LocalNetwork`. Payloads are passed by reference (immutable bytes or
    read-only views), as a real network would deliver a copy the sender cannot change."""

    zero_copy = True

    def __init__(self, network: LocalNetwork, party_id: int):
        super().__init__(party_id, network.n_endpoints)
        self.network = network

    async def _send(self, peer: int, tag: str, data: bytes) -> None:
        self.network._deliver(self.party_id, peer, tag, data)

    async def _recv(self, peer: int, tag: str, timeout: float | None) -> bytes:
        return await self.network._take(peer, self.party_id, tag, timeout)

    async def close(self) -> None:
        self.network._leave(self.party_id)
