"""`mpc check`: dial every roster peer and say, for each, whether it is reachable and is who the roster says.

For each peer: a TCP connection (down -> "unreachable"); a TLS handshake with our node
certificate whose presented certificate must be the one the roster pins (else "identity
wrong"); then a `Ping` over gRPC, which the peer answers only if it accepts *our* certificate,
and whose reply must name the expected roster id and role.
"""

from __future__ import annotations

import asyncio
import hashlib
import socket
import ssl
import time
from dataclasses import dataclass

import grpc

from mpc.net import tls
from mpc.net.grpc_transport import PeerAddress
from mpc.v1 import peer_pb2 as pb
from mpc.v1 import peer_pb2_grpc


@dataclass
class PeerStatus:
    peer: int
    address: str
    status: str          # "ok", "unreachable", "identity wrong", "refused us"
    detail: str = ""
    rtt_ms: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def _split(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]") or "127.0.0.1", int(port)


def _tls_pin(address: str, files: tls.TlsFiles, timeout: float) -> bytes:
    """SHA-256 of the certificate the peer presents (its chain checked against the roster's CA)."""
    import tempfile
    from pathlib import Path

    from mpc.keystore import atomic_write

    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ctx.check_hostname = False      # identity is checked by the pin below, not by host name
    with tempfile.TemporaryDirectory() as d:
        ca, cert, key = Path(d, "ca.pem"), Path(d, "c.pem"), Path(d, "c.key")
        ca.write_bytes(files.ca)
        cert.write_bytes(files.cert)
        atomic_write(key, files.key)             # created 0600: never readable by others
        ctx.load_verify_locations(cafile=str(ca))
        ctx.load_cert_chain(str(cert), str(key))
    ctx.set_alpn_protocols(["h2"])
    host, port = _split(address)
    with socket.create_connection((host, port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname=host) as s:
            return hashlib.sha256(s.getpeercert(binary_form=True)).digest()


async def check_peer(me: int, peer: PeerAddress, files: tls.TlsFiles | None, timeout: float) -> PeerStatus:
    host, port = _split(peer.address)
    try:
        await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
    except (OSError, asyncio.TimeoutError) as exc:
        return PeerStatus(peer.id, peer.address, "unreachable", f"no TCP connection: {exc or 'timeout'}")
    if files is not None:
        try:
            pin = await asyncio.to_thread(_tls_pin, peer.address, files, timeout)
        except ssl.SSLError as exc:
            return PeerStatus(peer.id, peer.address, "identity wrong",
                              f"TLS handshake failed (certificate not signed by the roster's CA?): {exc}")
        except OSError as exc:
            return PeerStatus(peer.id, peer.address, "unreachable", f"TLS connection failed: {exc}")
        if peer.pin is None or not tls.same_pin(pin, peer.pin):
            return PeerStatus(peer.id, peer.address, "identity wrong",
                              "presents a certificate other than the one the roster lists for it")
        opts = [("grpc.ssl_target_name_override", tls.party_name(peer.id))]
        channel = grpc.aio.secure_channel(peer.address, tls.channel_credentials(files), options=opts)
    else:
        channel = grpc.aio.insecure_channel(peer.address)
    try:
        t0 = time.perf_counter()
        reply = await peer_pb2_grpc.PeerStub(channel).Ping(pb.PingRequest(sender=me), timeout=timeout)
        rtt = (time.perf_counter() - t0) * 1e3
    except grpc.RpcError as exc:
        if exc.code() == grpc.StatusCode.PERMISSION_DENIED:
            return PeerStatus(peer.id, peer.address, "refused us", exc.details() or "")
        text = exc.details() or exc.code().name
        status = "identity wrong" if ("certificate" in text or "Peer name" in text or "handshake" in text.lower()) \
            else "unreachable"
        return PeerStatus(peer.id, peer.address, status, text)
    finally:
        await channel.close()
    if reply.responder != peer.id or reply.role != peer.role:
        return PeerStatus(peer.id, peer.address, "identity wrong",
                          f"answers as {reply.role} {reply.responder}, the roster says {peer.role} {peer.id}")
    return PeerStatus(peer.id, peer.address, "ok", f"{reply.role}", rtt_ms=rtt)


async def check_all(me: int, roster: dict[int, PeerAddress], files: tls.TlsFiles | None,
                    timeout: float = 5.0) -> list[PeerStatus]:
    peers = [p for i, p in sorted(roster.items()) if i != me]
    return list(await asyncio.gather(*(check_peer(me, p, files, timeout) for p in peers)))
