"""The real transport: party nodes exchanging tagged bytes over gRPC (grpc.aio), mutual TLS.

`PeerNetwork` is a node's side of the peer mesh: one long-lived bidirectional `Exchange` stream
per pair of nodes (the lower id dials the higher id and redials after a failure, so a restarted
node rejoins without restarting the others), carrying every job's messages both ways. Messages
are cut into chunks under the gRPC message limit (`mpc.net.framing`), queued per link and
written in batches (several small messages of one round share a write; several chunks are in
flight). Received messages are checked (sender matches the TLS identity, chunks in order,
sizes bounded, job known, tag not seen before) and buffered per job by (peer, tag).

`GrpcTransport` is one job's `Transport` over a `PeerNetwork`: the same protocol code that runs
on `LocalTransport` runs on it; byte and round counters come from the base class.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from dataclasses import dataclass

import grpc

from mpc.errors import ParameterError, PartyUnreachable, ProtocolAbort
from mpc.net import framing, tls
from mpc.net.mailbox import JobMailbox
from mpc.net.transport import Transport
from mpc.v1 import peer_pb2 as pb
from mpc.v1 import peer_pb2_grpc

WIRE_VERSION = 1
_HIGH_WATER = 64 << 20   # queued bytes per link before a sender waits


@dataclass(frozen=True)
class PeerAddress:
    """A roster entry as the network needs it: id, address, role and certificate pin."""

    id: int
    address: str
    role: str = "party"
    pin: bytes | None = None     # SHA-256 of the roster's certificate (None in --insecure mode)


def channel_options(chunk_bytes: int) -> list[tuple[str, int]]:
    limit = 2 * chunk_bytes + (1 << 20)
    return [("grpc.max_send_message_length", limit), ("grpc.max_receive_message_length", limit),
            ("grpc.keepalive_time_ms", 10_000), ("grpc.keepalive_timeout_ms", 5_000),
            ("grpc.keepalive_permit_without_calls", 1), ("grpc.http2.max_pings_without_data", 0)]


class _Link:
    """The stream to one peer: a send queue, a writer, and whether a stream is attached."""

    def __init__(self, net: "PeerNetwork", peer: int):
        self.net = net
        self.peer = peer
        self.queue: deque = deque()
        self.queued = 0
        self.wake = asyncio.Event()
        self.space = asyncio.Event()
        self.space.set()
        self.connected = asyncio.Event()
        self.task: asyncio.Task | None = None       # the task that runs the attached stream
        self.reassembler = framing.Reassembler(net.chunk_bytes, net.max_message_bytes)

    async def wait_connected(self, timeout: float | None, job: str) -> None:
        if self.connected.is_set():
            return
        try:
            await asyncio.wait_for(self.connected.wait(), timeout)
        except asyncio.TimeoutError:
            raise PartyUnreachable(self.peer, f"job {job}: no connection to party {self.peer} "
                                              f"({self.net.roster[self.peer].address}) within {timeout} s; "
                                              f"is its node up? (mpc check)", job=job) from None

    async def enqueue(self, job: str, tag: str, data: bytes | memoryview) -> None:
        while self.queued > _HIGH_WATER and self.connected.is_set():
            self.space.clear()
            await self.space.wait()
        chunks = framing.split(data, self.net.chunk_bytes)
        for i, chunk in enumerate(chunks):
            self.queue.append((job, tag, i, len(chunks), len(data), chunk))
        self.queued += len(data)
        self.wake.set()

    async def _writer(self, write) -> None:
        me, budget = self.net.party_id, self.net.chunk_bytes
        while True:
            await self.wake.wait()
            self.wake.clear()
            while self.queue:
                batch = pb.Batch()
                size = 0
                while self.queue and (size == 0 or size + len(self.queue[0][5]) <= budget):
                    job, tag, i, count, total, chunk = self.queue.popleft()
                    batch.frames.add(job_id=job, tag=tag, sender=me, chunk_index=i, chunk_count=count,
                                     total_bytes=total, payload=chunk)
                    size += len(chunk)
                await write(pb.PeerMessage(batch=batch))
                self.queued -= size
                if self.queued <= _HIGH_WATER:
                    self.space.set()

    async def run(self, write, read) -> None:
        """Serve an attached stream until it ends; a newer stream replaces this one."""
        old, self.task = self.task, asyncio.current_task()
        if old is not None and old is not self.task and not old.done():
            old.cancel()
        self.reassembler = framing.Reassembler(self.net.chunk_bytes, self.net.max_message_bytes)
        self.connected.set()
        self.net.log.info("peer link up", extra={"peer": self.peer})
        writer = asyncio.create_task(self._writer(write))
        self.wake.set()
        try:
            while True:
                msg = await read()
                if msg is grpc.aio.EOF:
                    break
                if writer.done():
                    break
                await self.net._on_message(self, msg, write)
        finally:
            writer.cancel()
            if self.task is asyncio.current_task():
                self.task = None
                self.connected.clear()
                self.queue.clear()
                self.queued = 0
                self.space.set()
                self.net._on_link_down(self.peer)


class PeerNetwork:
    """A node's links to every other roster entry, and the inboxes of its running jobs.

    Create it inside the node's event loop; `add_to_server(server)` registers the `Exchange`
    handler, `start()` begins dialing higher-numbered peers, `close()` ends everything.
    `tls_files=None` is plain-text mode (identity unauthenticated: local experiments only).
    """

    def __init__(self, party_id: int, roster: dict[int, PeerAddress], tls_files: tls.TlsFiles | None,
                 *, chunk_bytes: int = framing.DEFAULT_CHUNK_BYTES,
                 max_message_bytes: int = framing.DEFAULT_MAX_MESSAGE_BYTES,
                 logger: logging.Logger | None = None):
        if party_id not in roster:
            raise ParameterError(f"party {party_id} is not in the roster {sorted(roster)}")
        if sorted(roster) != list(range(len(roster))):
            raise ParameterError(f"roster ids must be 0..{len(roster) - 1}, got {sorted(roster)}")
        self.party_id = party_id
        self.roster = roster
        self.tls_files = tls_files
        self.chunk_bytes = chunk_bytes
        self.max_message_bytes = max_message_bytes
        self.log = logger or logging.getLogger("mpc.net")
        self._links = {p: _Link(self, p) for p in roster if p != party_id}
        self._channels: dict[int, grpc.aio.Channel] = {}
        self._jobs: dict[str, JobMailbox] = {}
        self._dialers: list[asyncio.Task] = []
        self._closing = False

    @property
    def n_endpoints(self) -> int:
        return len(self.roster)

    # ------------------------------------------------------------ channels and identity
    def channel(self, peer: int) -> grpc.aio.Channel:
        """The (lazily connecting) channel to `peer`, shared by its stream and unary calls."""
        ch = self._channels.get(peer)
        if ch is None:
            opts = channel_options(self.chunk_bytes)
            addr = self.roster[peer].address
            if self.tls_files is None:
                ch = grpc.aio.insecure_channel(addr, options=opts)
            else:
                opts.append(("grpc.ssl_target_name_override", tls.party_name(peer)))
                ch = grpc.aio.secure_channel(addr, tls.channel_credentials(self.tls_files), options=opts)
            self._channels[peer] = ch
        return ch

    def stub(self, peer: int) -> peer_pb2_grpc.PeerStub:
        return peer_pb2_grpc.PeerStub(self.channel(peer))

    def identify_peer(self, context) -> int | None:
        """The roster id of the node calling us, from its pinned certificate; None in plain text.

        Raises PermissionError naming what is wrong (unknown name, client certificate, pin).
        """
        if self.tls_files is None:
            return None
        pem = tls.presented_certificate(context)
        if pem is None:
            raise PermissionError("no client certificate presented")
        ident = tls.identity_of(pem)
        pid = ident.party_id
        if pid is None:
            raise PermissionError(f"certificate {ident.name!r} is not a node certificate "
                                  f"(a client certificate cannot act as a peer)")
        entry = self.roster.get(pid)
        if entry is None:
            raise PermissionError(f"certificate {ident.name!r} names no roster entry")
        if entry.pin is None or not tls.same_pin(ident.fingerprint, entry.pin):
            raise PermissionError(f"certificate presented as {ident.name!r} is not the one the roster lists")
        return pid

    # ------------------------------------------------------------ jobs
    def open_job(self, job_id: str, parties) -> JobMailbox:
        if job_id in self._jobs:
            raise ProtocolAbort(f"job {job_id} is already open at party {self.party_id}", job=job_id)
        box = self._jobs[job_id] = JobMailbox(job_id, frozenset(parties), self.max_message_bytes * 2)
        return box

    def close_job(self, job_id: str) -> None:
        box = self._jobs.pop(job_id, None)
        if box is not None:
            box.close()
        for link in self._links.values():
            link.reassembler.drop_job(job_id)

    def transport(self, job_id: str) -> "GrpcTransport":
        box = self._jobs.get(job_id)
        if box is None:
            raise ProtocolAbort(f"job {job_id} is not open at party {self.party_id}", job=job_id)
        return GrpcTransport(self, job_id, box)

    async def send(self, peer: int, job: str, tag: str, data: bytes, timeout: float | None) -> None:
        link = self._links[peer]
        await link.wait_connected(timeout, job)
        await link.enqueue(job, tag, data)

    # ------------------------------------------------------------ receiving
    async def _on_message(self, link: _Link, msg, write) -> None:
        kind = msg.WhichOneof("kind")
        if kind == "batch":
            for f in msg.batch.frames:
                err = self._on_frame(link, f)
                if err is not None:
                    code, job, tag, text = err
                    self.log.warning("refused a message", extra={"peer": link.peer, "job": job, "code": code,
                                                                 "detail": text})
                    await write(pb.PeerMessage(error=pb.PeerError(job_id=job[:128], tag=tag[:512], code=code,
                                                                  message=text)))
        elif kind == "error":
            e = msg.error
            self.log.warning("peer refused our message", extra={"peer": link.peer, "job": e.job_id,
                                                                "code": e.code, "detail": e.message})
            box = self._jobs.get(e.job_id)
            if box is not None:
                box.fail_peer(link.peer, ProtocolAbort(
                    f"job {e.job_id}: party {link.peer} refused our message under {e.tag!r}: {e.message}",
                    party=link.peer, job=e.job_id))
        else:
            self.log.warning("unexpected message on a peer stream", extra={"peer": link.peer, "kind": kind})

    def _on_frame(self, link: _Link, f) -> tuple[str, str, str, str] | None:
        """Deliver one chunk; returns (code, job, tag, message) when it is refused."""
        peer = link.peer
        if f.sender != peer:
            return ("wrong-sender", f.job_id, f.tag, f"frame claims sender {f.sender} on the stream of party "
                                                    f"{peer} (identity from its certificate); refused")
        box = self._jobs.get(f.job_id)
        if box is None:
            return ("unknown-job", f.job_id, f.tag, f"job {f.job_id[:128]!r} is not open at party "
                                                   f"{self.party_id}; refused")
        if peer not in box.parties:
            return ("not-a-party", f.job_id, f.tag, f"party {peer} is not a party of job {f.job_id}; refused")
        try:
            data = link.reassembler.add(f.job_id, f.tag, f.chunk_index, f.chunk_count, f.total_bytes, f.payload)
            if data is not None:
                box.deliver(peer, f.tag, data)
        except framing.FrameError as exc:
            box.fail_peer(peer, ProtocolAbort(f"job {f.job_id}: party {peer} sent a bad message ({exc.code}): "
                                              f"{exc}", party=peer, job=f.job_id))
            return (exc.code, f.job_id, f.tag, str(exc))
        except ProtocolAbort as exc:
            box.fail_peer(peer, exc)
            return ("replay" if "replay" in str(exc) else "oversized", f.job_id, f.tag, str(exc))
        return None

    def _on_link_down(self, peer: int) -> None:
        self.log.warning("peer link down", extra={"peer": peer})
        for job_id, box in self._jobs.items():
            if peer in box.parties:
                box.fail_peer(peer, PartyUnreachable(
                    peer, f"job {job_id}: party {peer} vanished (its connection closed mid-job)", job=job_id))

    # ------------------------------------------------------------ streams
    async def serve_exchange(self, request_iterator, context) -> None:
        """The server side of `Peer.Exchange` (a lower-numbered peer dialed us)."""
        try:
            certified = self.identify_peer(context)
        except PermissionError as exc:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, f"party {self.party_id}: {exc}")
        first = await context.read()
        if first is grpc.aio.EOF or first.WhichOneof("kind") != "hello":
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "a peer stream must open with Hello")
        sender = first.hello.sender
        if certified is not None and sender != certified:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED,
                                f"party {self.party_id}: stream claims party id {sender} but the certificate "
                                f"is party-{certified}'s; refused")
        if first.hello.wire_version != WIRE_VERSION:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION,
                                f"wire version {first.hello.wire_version} unsupported (we speak {WIRE_VERSION})")
        if sender not in self._links or sender > self.party_id:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED,
                                f"party {self.party_id}: party {sender} may not open a stream to us "
                                f"(the lower id dials the higher one)")
        if certified is None:
            self.log.warning("unauthenticated peer stream (--insecure)", extra={"peer": sender})
        await context.write(pb.PeerMessage(hello=pb.Hello(sender=self.party_id, wire_version=WIRE_VERSION)))
        await self._links[sender].run(context.write, context.read)

    async def _dial(self, peer: int) -> None:
        backoff = 0.05
        link = self._links[peer]
        while not self._closing:
            call = None
            try:
                call = self.stub(peer).Exchange()
                await call.write(pb.PeerMessage(hello=pb.Hello(sender=self.party_id, wire_version=WIRE_VERSION)))
                reply = await call.read()
                if reply is grpc.aio.EOF or reply.WhichOneof("kind") != "hello" or reply.hello.sender != peer:
                    raise ProtocolAbort(f"party {peer} answered our stream without a valid Hello", party=peer)
                backoff = 0.05
                await link.run(call.write, call.read)
            except asyncio.CancelledError:
                if call is not None:
                    call.cancel()
                raise
            except (grpc.RpcError, ProtocolAbort, OSError) as exc:
                self.log.debug("dial failed", extra={"peer": peer, "detail": str(exc)[:200]})
            if call is not None:
                call.cancel()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 1.0)

    def start(self) -> None:
        """Start dialing every higher-numbered roster entry (redialing after failures)."""
        for peer in self._links:
            if peer > self.party_id:
                self._dialers.append(asyncio.create_task(self._dial(peer), name=f"dial-{peer}"))

    def connected(self, peer: int) -> bool:
        return self._links[peer].connected.is_set()

    async def wait_connected(self, peers, timeout: float | None, job: str = "-") -> None:
        await asyncio.gather(*(self._links[p].wait_connected(timeout, job) for p in peers))

    async def close(self) -> None:
        self._closing = True
        for box in list(self._jobs.values()):
            box.close()
        for t in self._dialers:
            t.cancel()
        for link in self._links.values():
            if link.task is not None and not link.task.done():
                link.task.cancel()
        await asyncio.gather(*self._dialers, return_exceptions=True)
        for ch in self._channels.values():
            await ch.close()
        self._channels.clear()


class GrpcTransport(Transport):
    """One job's endpoint on a `PeerNetwork` (endpoints = roster ids; the dealer is one of them).

    Payloads may be read-only memoryviews: they are copied once, into the wire chunks, when
    queued (`framing.split`)."""

    zero_copy = True

    def __init__(self, network: PeerNetwork, job_id: str, mailbox: JobMailbox, send_timeout: float | None = 10.0):
        super().__init__(network.party_id, network.n_endpoints)
        self.network = network
        self.job_id = job_id
        self.mailbox = mailbox
        self.send_timeout = send_timeout

    async def _send(self, peer: int, tag: str, data: bytes) -> None:
        if peer not in self.mailbox.parties:
            raise ParameterError(f"job {self.job_id}: party {peer} is not a party of this job")
        await self.network.send(peer, self.job_id, tag, data, self.send_timeout)

    async def _recv(self, peer: int, tag: str, timeout: float | None) -> bytes:
        return await self.mailbox.take(peer, tag, timeout)

    async def close(self) -> None:
        self.network.close_job(self.job_id)
