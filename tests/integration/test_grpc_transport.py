"""GrpcTransport in one process: the same Session code as on LocalNetwork gives the same results
and the same byte/round counters; large arrays cross in chunks; a closed link fails receives."""

from __future__ import annotations

import asyncio

import grpc
import numpy as np
import pytest

from mpc.errors import PartyUnreachable
from mpc.net import LocalNetwork, tls
from mpc.net.grpc_transport import PeerAddress, PeerNetwork
from mpc.node.localcluster import free_ports
from mpc.preprocessing import Dealer, DealerTriples
from mpc.runtime import Session
from mpc.v1 import peer_pb2_grpc

pytestmark = pytest.mark.integration


class _Peer(peer_pb2_grpc.PeerServicer):
    def __init__(self, net):
        self.net = net

    async def Exchange(self, request_iterator, context):
        await self.net.serve_exchange(request_iterator, context)


async def _mesh(tmp_path, m, chunk_bytes=1 << 16):
    tls.init_certs(tmp_path, m)
    ports = free_ports(m)
    roster = {i: PeerAddress(i, f"127.0.0.1:{ports[i]}", "party", tls.fingerprint((tmp_path / f"party-{i}.pem").read_bytes()))
              for i in range(m)}
    nets, servers = [], []
    for i in range(m):
        files = tls.TlsFiles.load(tmp_path / "ca.pem", tmp_path / f"party-{i}.pem", tmp_path / f"party-{i}.key")
        net = PeerNetwork(i, roster, files, chunk_bytes=chunk_bytes)
        server = grpc.aio.server()
        peer_pb2_grpc.add_PeerServicer_to_server(_Peer(net), server)
        server.add_secure_port(roster[i].address, tls.server_credentials(files))
        await server.start()
        net.start()
        nets.append(net)
        servers.append(server)
    for net in nets:
        await net.wait_connected([p for p in range(m) if p != net.party_id], 10)
    return nets, servers


async def _teardown(nets, servers):
    for net in nets:
        await net.close()
    for s in servers:
        await s.stop(0)


async def _program(s: Session, xs, ys):
    x = await s.input(0, xs if s.pid == 0 else None, shape=xs.shape)
    y = await s.input(1, ys if s.pid == 1 else None, shape=ys.shape)
    z = await (x * y)
    return await s.open(z.sum())


def _run_parties(transports, xs, ys, job):
    async def party(i):
        s = Session(transports[i], job=job, parties=[0, 1, 2], triples=DealerTriples(3), timeout=20)
        await s.setup()
        out = await _program(s, xs, ys)
        await s.close()
        return out, transports[i].stats.snapshot()

    async def dealer():
        await Dealer(transports[3], [0, 1, 2], job, 20).serve()
        return None, transports[3].stats.snapshot()

    return [party(i) for i in range(3)] + [dealer()]


def test_same_session_code_same_results_and_counters_as_local(tmp_path):
    rng = np.random.default_rng(3)
    xs, ys = rng.uniform(-10, 10, 3000), rng.uniform(-10, 10, 3000)

    async def main():
        local = LocalNetwork(4)
        got_local = await asyncio.gather(*_run_parties([local.endpoint(i) for i in range(4)], xs, ys, "j1"))
        nets, servers = await _mesh(tmp_path, 4)
        try:
            for net in nets:
                net.open_job("j1", range(4))
            got_grpc = await asyncio.gather(*_run_parties([net.transport("j1") for net in nets], xs, ys, "j1"))
        finally:
            await _teardown(nets, servers)
        return got_local, got_grpc

    got_local, got_grpc = asyncio.run(main())
    for (v_l, st_l), (v_g, st_g) in zip(got_local, got_grpc):
        if v_l is not None:
            assert float(v_g) == pytest.approx(float(xs @ ys), abs=0.5)
            assert float(v_g) == pytest.approx(float(v_l), abs=0.5)
        assert st_g == st_l                     # same messages, bytes and rounds on both transports


def test_large_array_crosses_in_chunks_and_counts_bytes(tmp_path):
    big = np.arange(300_000, dtype=np.uint64)        # 2.4 MB over 64 KiB chunks

    async def main():
        nets, servers = await _mesh(tmp_path, 2)
        try:
            for net in nets:
                net.open_job("big", [0, 1])
            t0, t1 = nets[0].transport("big"), nets[1].transport("big")
            await t0.send(1, "a", big.tobytes())
            data = await t1.recv(0, "a", timeout=10)
            return data, t0.stats.snapshot(), t1.stats.snapshot()
        finally:
            await _teardown(nets, servers)

    data, s0, s1 = asyncio.run(main())
    assert np.array_equal(np.frombuffer(data, dtype=np.uint64), big)
    assert s0["bytes_sent"] == s1["bytes_received"] == big.nbytes
    assert s0["messages_sent"] == s1["messages_received"] == 1


def test_receive_fails_naming_the_peer_when_its_link_closes(tmp_path):
    async def main():
        nets, servers = await _mesh(tmp_path, 2)
        try:
            nets[0].open_job("j", [0, 1])
            nets[1].open_job("j", [0, 1])
            waiting = asyncio.create_task(nets[0].transport("j").recv(1, "never", timeout=30))
            await asyncio.sleep(0.1)
            await nets[1].close()
            await servers[1].stop(0)
            with pytest.raises(PartyUnreachable) as e:
                await asyncio.wait_for(waiting, 10)
            return e.value
        finally:
            await _teardown(nets, servers)

    err = asyncio.run(main())
    assert err.party == 1 and "party 1 vanished" in str(err)


def test_timeout_names_the_silent_peer(tmp_path):
    async def main():
        nets, servers = await _mesh(tmp_path, 2)
        try:
            nets[0].open_job("j", [0, 1])
            with pytest.raises(PartyUnreachable) as e:
                await nets[0].transport("j").recv(1, "silent", timeout=0.3)
            return e.value
        finally:
            await _teardown(nets, servers)

    err = asyncio.run(main())
    assert err.party == 1 and "within 0.3 s" in str(err)
