"""The transport interface every party uses, and the byte/round counters it keeps.

A transport moves opaque byte strings between numbered endpoints, matched by (peer, tag).
Tags are derived deterministically from (job, step) by `mpc.net.comm.Comm`, so parties need no
coordination to match messages; a tag is used once per direction. Endpoints 0..n-1 are compute
parties; a network may also hold helper endpoints (a dealer, input-only or output-only parties).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

from mpc.errors import ParameterError


@dataclass
class TransportStats:
    """Counters of one endpoint: bytes and messages each way, and communication rounds.

    A round is counted each time the endpoint starts sending after having received (or at its
    first send): a burst of sends followed by receives is one round, which is how protocol
    round complexity is usually stated.
    """

    bytes_sent: int = 0
    bytes_received: int = 0
    messages_sent: int = 0
    messages_received: int = 0
    rounds: int = 0
    bytes_sent_to: dict[int, int] = field(default_factory=dict)
    _sending: bool = field(default=False, repr=False)

    def on_send(self, peer: int, nbytes: int) -> None:
        if not self._sending:
            self.rounds += 1
            self._sending = True
        self.bytes_sent += nbytes
        self.messages_sent += 1
        self.bytes_sent_to[peer] = self.bytes_sent_to.get(peer, 0) + nbytes

    def on_recv(self, peer: int, nbytes: int) -> None:
        self._sending = False
        self.bytes_received += nbytes
        self.messages_received += 1

    def snapshot(self) -> dict:
        return {
            "bytes_sent": self.bytes_sent,
            "bytes_received": self.bytes_received,
            "messages_sent": self.messages_sent,
            "messages_received": self.messages_received,
            "rounds": self.rounds,
        }

    def checkpoint(self) -> dict:
        """A snapshot that also starts a new round: use it to measure one operation's cost."""
        self._sending = False
        return self.snapshot()

    def since(self, before: dict) -> dict:
        """Counter differences since an earlier `snapshot()`."""
        now = self.snapshot()
        return {k: now[k] - before.get(k, 0) for k in now}


class Transport(abc.ABC):
    """Send and receive tagged byte strings to and from numbered peers.

    Subclasses implement `_send` and `_recv`; this class validates peers and keeps the counters.
    `recv` raises `mpc.errors.PartyUnreachable` when `timeout` (seconds) passes without the
    message; `None` waits forever.
    """

    #: whether `_send` may receive a read-only memoryview and keep it (no copy); otherwise the
    #: base class turns every payload into `bytes` first
    zero_copy = False

    def __init__(self, party_id: int, n_endpoints: int):
        if not 0 <= party_id < n_endpoints:
            raise ParameterError(f"party id {party_id} is not in 0..{n_endpoints - 1}")
        self.party_id = party_id
        self.n_endpoints = n_endpoints
        self.stats = TransportStats()

    def _check_peer(self, peer: int) -> None:
        if not isinstance(peer, int) or not 0 <= peer < self.n_endpoints or peer == self.party_id:
            raise ParameterError(
                f"party {self.party_id}: peer {peer!r} is not another endpoint of this network "
                f"(0..{self.n_endpoints - 1})"
            )

    async def send(self, peer: int, tag: str, data: bytes | memoryview) -> None:
        """Send `data` to `peer` under `tag` (returns once the transport has taken it).

        `data` is bytes or a read-only byte memoryview; the caller must not modify the buffer
        behind a memoryview afterwards (zero-copy transports keep a reference to it).
        """
        self._check_peer(peer)
        if isinstance(data, memoryview):
            data = data.cast("B") if data.format != "B" or data.ndim != 1 else data
            if not self.zero_copy:
                data = data.tobytes()
        elif not isinstance(data, bytes):
            data = bytes(data)
        self.stats.on_send(peer, len(data))
        await self._send(peer, tag, data)

    async def recv(self, peer: int, tag: str, timeout: float | None = None) -> bytes:
        """The message `peer` sent under `tag` (waits for it)."""
        self._check_peer(peer)
        data = await self._recv(peer, tag, timeout)
        self.stats.on_recv(peer, len(data))
        return data

    async def close(self) -> None:
        """Release resources; pending receives fail."""

    @abc.abstractmethod
    async def _send(self, peer: int, tag: str, data: bytes) -> None: ...

    @abc.abstractmethod
    async def _recv(self, peer: int, tag: str, timeout: float | None) -> bytes: ...
