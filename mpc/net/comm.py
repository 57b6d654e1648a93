"""Tagged, checked message passing for one job: what protocol code uses instead of a transport.

A `Comm` numbers the steps of a job, so every party derives the same tag for the same step
without coordination (SPMD: all parties run the same code). Operations on one `Comm` are
issued in program order; concurrent sub-protocols take a `fork(label)` each. Arrays travel
as raw little-endian bytes, one message per peer per round; every received array is checked
against the size the protocol expects before it is used (network input is untrusted).
"""

from __future__ import annotations

import asyncio
from typing import Iterable, Mapping

import numpy as np

from mpc.errors import ParameterError, ProtocolAbort
from mpc.net.transport import Transport


class Comm:
    """One job's view of a transport: party ids, deterministic tags, array exchange.

    `parties` are the compute parties taking part (default: endpoints 0..n-1 of the transport);
    `timeout` bounds every wait for a peer (seconds; None = unbounded).
    """

    def __init__(
        self,
        transport: Transport,
        job: str = "job",
        parties: Iterable[int] | None = None,
        timeout: float | None = None,
        _prefix: str | None = None,
    ):
        self.transport = transport
        self.job = str(job)
        self.parties = tuple(range(transport.n_endpoints) if parties is None else parties)
        if len(set(self.parties)) != len(self.parties) or not self.parties:
            raise ParameterError(f"parties must be distinct endpoint ids, got {self.parties}")
        self.pid = transport.party_id
        self.timeout = timeout
        self._prefix = _prefix if _prefix is not None else self.job
        self._step = 0

    # ----------------------------------------------------------------- identity
    @property
    def n(self) -> int:
        """Number of compute parties."""
        return len(self.parties)

    @property
    def index(self) -> int:
        """This party's position in `parties` (raises if it is a helper endpoint)."""
        try:
            return self.parties.index(self.pid)
        except ValueError:
            raise ParameterError(f"endpoint {self.pid} is not a compute party of job {self.job}") from None

    @property
    def others(self) -> tuple[int, ...]:
        return tuple(p for p in self.parties if p != self.pid)

    @property
    def stats(self):
        return self.transport.stats

    # ----------------------------------------------------------------- tags
    def tag(self, label: str = "") -> str:
        """The next step's tag: the same at every party that runs the same code."""
        self._step += 1
        return f"{self._prefix}/{self._step}:{label}"

    def fork(self, label: str) -> "Comm":
        """A child with its own tag namespace (for sub-protocols that run concurrently)."""
        return Comm(self.transport, self.job, self.parties, self.timeout, _prefix=f"{self.tag(label)}")

    # ----------------------------------------------------------------- bytes
    async def send(self, peer: int, tag: str, data: bytes) -> None:
        await self.transport.send(peer, tag, data)

    async def recv(self, peer: int, tag: str, *, nbytes: int | None = None, max_bytes: int | None = None) -> bytes:
        """Receive from `peer`; with `nbytes`, anything of another length aborts the job."""
        data = await self.transport.recv(peer, tag, self.timeout)
        if nbytes is not None and len(data) != nbytes:
            raise ProtocolAbort(
                f"job {self.job}: party {peer} sent {len(data)} bytes under {tag!r}, expected {nbytes}",
                party=peer,
                job=self.job,
            )
        if max_bytes is not None and len(data) > max_bytes:
            raise ProtocolAbort(
                f"job {self.job}: party {peer} sent {len(data)} bytes under {tag!r}, more than {max_bytes}",
                party=peer,
                job=self.job,
            )
        return data

    async def exchange(self, tag: str, outgoing: Mapping[int, bytes], incoming: Iterable[int],
                       nbytes: Mapping[int, int] | int | None = None) -> dict[int, bytes]:
        """Send `outgoing[peer]` to each peer, then receive one message from each of `incoming`."""
        for peer, data in outgoing.items():
            await self.transport.send(peer, tag, data)
        peers = list(incoming)
        sizes = [nbytes.get(p) if isinstance(nbytes, Mapping) else nbytes for p in peers]
        got = await asyncio.gather(*(self.recv(p, tag, nbytes=s) for p, s in zip(peers, sizes)))
        return dict(zip(peers, got))

    # ----------------------------------------------------------------- arrays
    @staticmethod
    def encode(array: np.ndarray) -> memoryview:
        """The raw little-endian bytes of an array, as a read-only view (no copy when the array is
        already contiguous). The caller must not modify the array after sending it."""
        a = np.asarray(array)
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("<"))
        a = np.ascontiguousarray(a)
        return memoryview(a.reshape(-1).view(np.uint8)).toreadonly()

    def decode(self, data: bytes | memoryview, dtype, shape, peer: int, tag: str) -> np.ndarray:
        dtype = np.dtype(dtype).newbyteorder("<")
        expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        if len(data) != expected:
            raise ProtocolAbort(
                f"job {self.job}: party {peer} sent {len(data)} bytes under {tag!r}, "
                f"expected {expected} ({dtype.name} {tuple(shape)})",
                party=peer,
                job=self.job,
            )
        return np.frombuffer(data, dtype=dtype).reshape(shape)

    async def send_array(self, peer: int, tag: str, array: np.ndarray) -> None:
        await self.transport.send(peer, tag, self.encode(array))

    async def recv_array(self, peer: int, tag: str, dtype, shape) -> np.ndarray:
        """A read-only array of exactly `shape` and `dtype` from `peer`."""
        data = await self.transport.recv(peer, tag, self.timeout)
        return self.decode(data, dtype, shape, peer, tag)

    async def exchange_arrays(self, tag: str, outgoing: Mapping[int, np.ndarray], incoming: Iterable[int],
                              dtype, shape) -> dict[int, np.ndarray]:
        """Send one array to each of `outgoing`'s peers, receive one of `shape` from each of `incoming`."""
        cache: dict[int, memoryview] = {}
        for peer, arr in outgoing.items():
            key = id(arr)
            if key not in cache:  # the same array to several peers is encoded once
                cache[key] = self.encode(arr)
            await self.transport.send(peer, tag, cache[key])
        peers = list(incoming)
        got = await asyncio.gather(*(self.recv_array(p, tag, dtype, shape) for p in peers))
        return dict(zip(peers, got))

    async def all_gather_array(self, tag: str, array: np.ndarray) -> list[np.ndarray]:
        """Every compute party's array (same dtype and shape everywhere), in party order."""
        a = np.asarray(array)
        got = await self.exchange_arrays(tag, {p: a for p in self.others}, self.others, a.dtype, a.shape)
        got[self.pid] = a
        return [got[p] for p in self.parties]

    async def broadcast_bytes(self, tag: str, sender: int, data: bytes | None = None,
                              max_bytes: int = 1 << 20) -> bytes:
        """`sender`'s bytes at every compute party (a small message; at most `max_bytes`)."""
        if self.pid == sender:
            for p in self.others:
                await self.transport.send(p, tag, data)
            return data
        return await self.recv(sender, tag, max_bytes=max_bytes)
