"""Mutual TLS: a node refuses a wrong CA, an identity not in the roster, a client certificate used
as a peer, and an impostor node certificate; `mpc check` names such peers; nodes keep serving."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import grpc
import pytest

from mpc.client import Client
from mpc.net import tls
from mpc.v1 import control_pb2, peer_pb2, peer_pb2_grpc, control_pb2_grpc
from netjobs import make_cluster

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    root = tmp_path_factory.mktemp("tls")
    cluster, data = make_cluster(root, parties=3, dealer=False, no_dp=True)
    cluster.start()
    try:
        cluster.wait_ready()
        yield cluster, root
    finally:
        cluster.stop()


def _issue(root, name, *, node, other_ca=False):
    """A certificate for `name`, from the roster's CA or from a fresh, unrelated one."""
    certs = root / "certs"
    if other_ca:
        ca_pem, ca_key = tls.make_ca("intruders")
    else:
        ca_pem, ca_key = (certs / "ca.pem").read_bytes(), (certs / "ca.key").read_bytes()
    cert, key = tls.issue(ca_pem, ca_key, name, node=node)
    return tls.TlsFiles(ca=(certs / "ca.pem").read_bytes(), cert=cert, key=key)


def _call(address, files, target, rpc):
    async def go():
        ch = grpc.aio.secure_channel(address, tls.channel_credentials(files),
                                     options=[("grpc.ssl_target_name_override", target)])
        try:
            return await rpc(ch)
        finally:
            await ch.close()
    return asyncio.run(go())


def _ping(ch):
    return peer_pb2_grpc.PeerStub(ch).Ping(peer_pb2.PingRequest(sender=0), timeout=5)


def _list(ch):
    return control_pb2_grpc.ControlStub(ch).ListProtocols(control_pb2.Empty(), timeout=5)


def _still_serving(cluster):
    with Client.from_config(cluster.client_config) as client:
        assert client.run("net_sum", {0: "patients", 1: "patients"}, {"column": "age"}).result > 0


def test_wrong_ca_is_refused(net):
    cluster, root = net
    for files, rpc in [(_issue(root, "client-analyst", node=False, other_ca=True), _list),
                       (_issue(root, "party-0", node=True, other_ca=True), _ping)]:
        with pytest.raises(grpc.RpcError) as e:
            _call(cluster.addresses[1], files, "party-1", rpc)
        assert e.value.code() == grpc.StatusCode.UNAVAILABLE      # the TLS handshake fails
    _still_serving(cluster)


def test_unknown_client_identity_is_refused(net):
    cluster, root = net
    files = _issue(root, "client-mallory", node=False)        # right CA, not in the roster
    with pytest.raises(grpc.RpcError) as e:
        _call(cluster.addresses[0], files, "party-0", _list)
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "not a client listed in the roster" in e.value.details()
    _still_serving(cluster)


def test_client_certificate_used_as_a_peer_is_refused(net):
    cluster, root = net
    certs = root / "certs"
    files = tls.TlsFiles.load(certs / "ca.pem", certs / "client-analyst.pem", certs / "client-analyst.key")
    with pytest.raises(grpc.RpcError) as e:
        _call(cluster.addresses[1], files, "party-1", _ping)
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "client certificate cannot act as a peer" in e.value.details()
    # and a node certificate cannot act as a client
    node_files = tls.TlsFiles.load(certs / "ca.pem", certs / "party-0.pem", certs / "party-0.key")
    with pytest.raises(grpc.RpcError) as e:
        _call(cluster.addresses[1], node_files, "party-1", _list)
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    _still_serving(cluster)


def test_impostor_node_certificate_is_refused(net):
    cluster, root = net
    files = _issue(root, "party-0", node=True)     # right CA, right name, but not the pinned certificate
    with pytest.raises(grpc.RpcError) as e:
        _call(cluster.addresses[1], files, "party-1", _ping)
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "not the one the roster lists" in e.value.details()
    _still_serving(cluster)


def test_server_with_wrong_identity_is_refused_by_the_dialer(net):
    cluster, root = net
    certs = root / "certs"
    files = tls.TlsFiles.load(certs / "ca.pem", certs / "client-analyst.pem", certs / "client-analyst.key")
    with pytest.raises(grpc.RpcError) as e:         # node 2 answers at node 1's name: host check fails
        _call(cluster.addresses[2], files, "party-1", _list)
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE


def test_check_names_unreachable_and_wrong_identity_peers(net, tmp_path):
    cluster, root = net
    text = cluster.node_configs[0].read_text()
    # the roster says party 1 lives where party 2 is (wrong identity); party 2 at a dead port
    a1, a2 = cluster.addresses[1], cluster.addresses[2]
    from mpc.node.localcluster import free_ports
    dead = f"127.0.0.1:{free_ports(1)[0]}"
    text = text.replace(f'address = "{a2}"', f'address = "{dead}"').replace(f'address = "{a1}"', f'address = "{a2}"')
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    r = subprocess.run([sys.executable, "-m", "mpc", "check", "--config", str(cfg), "--timeout", "3"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1
    lines = {ln.split()[1]: ln for ln in r.stdout.splitlines() if ln.startswith("party ") and "peers" not in ln}
    assert "identity wrong" in lines["1"] and "unreachable" in lines["2"], r.stdout
    assert "party 1 (identity wrong), party 2 (unreachable)" in r.stdout


def test_insecure_mode_warns_and_works(tmp_path):
    cluster, data = make_cluster(tmp_path, parties=2, dealer=False, insecure=True, no_dp=True)
    cluster.insecure = True
    cluster.start()
    try:
        cluster.wait_ready()
        with Client.from_config(cluster.client_config, insecure=True) as client:
            out = client.run("net_sum", {0: "patients", 1: "patients"}, {"column": "age"})
            assert out.result == pytest.approx(data[0]["age"].sum() + data[1]["age"].sum(), abs=1e-3)
        assert all("INSECURE" in cluster.log(i) for i in (0, 1))
    finally:
        cluster.stop()
    # without the flag, a config with no [tls] table is refused
    r = subprocess.run([sys.executable, "-m", "mpc", "node", "--config", str(cluster.node_configs[0])],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "mutual TLS is required" in r.stderr
