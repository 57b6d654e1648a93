"""The budget service over real gRPC on 127.0.0.1, run as subprocesses (`mpc budget serve`)."""

from __future__ import annotations

import datetime
import hashlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.x509.oid import NameOID

from dp.budget import grants as g
from dp.budget.client import BudgetClient
from dp.budget.ledger import Ledger
from dp.budget.service import TlsFiles
from dp.errors import (BudgetExceeded, BudgetServiceUnavailable, GrantExpired, GrantForged, GrantMismatch,
                       GrantReused)

pytestmark = pytest.mark.integration

JOB = hashlib.sha256(b"job spec").digest()


class Server:
    """`mpc budget serve` in a subprocess on a free port; stopped (or killed) by the test."""

    def __init__(self, db: Path, key: Path, *extra: str):
        self.log = open(db.parent / f"server-{os.getpid()}-{time.monotonic_ns()}.log", "w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mpc", "budget", "serve", "--db", str(db), "--key", str(key), "--listen",
             "127.0.0.1:0", *extra], stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self._first_line(timeout=30)
        if "listening on" not in line:
            self.stop()
            self.log.seek(0)
            raise RuntimeError(f"server did not start: {line!r} {self.log.read()}")
        self.address = line.split()[-1]

    def _first_line(self, timeout: float) -> str:
        box: list[str] = []
        t = threading.Thread(target=lambda: box.append(self.proc.stdout.readline()), daemon=True)
        t.start()
        t.join(timeout)
        return box[0] if box else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.proc.stdout.close()
        self.log.close()

    def kill9(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)


@pytest.fixture
def ledger_files(tmp_path):
    db, key = tmp_path / "ledger.sqlite", tmp_path / "service.key"
    Ledger(db, create=True).close()
    g.load_or_create_key(key)
    return db, key


@pytest.fixture
def servers():
    started: list[Server] = []
    yield started
    for s in started:
        s.stop()


def _start(servers, *args) -> Server:
    s = Server(*args)
    servers.append(s)
    return s


def test_hundred_concurrent_clients_never_overspend(ledger_files, servers):
    db, key = ledger_files
    limit, eps = 5.0, 0.1
    with Ledger(db) as led:
        led.set_budget("acme", "*", limit)
    # two server processes on the same ledger file: atomicity must hold across processes too
    addrs = [_start(servers, db, key, "--insecure").address, _start(servers, db, key, "--insecure").address]
    granted, refused, other = [], [], []
    barrier = threading.Barrier(100)

    def client(i: int) -> None:
        with BudgetClient(addrs[i % 2], insecure=True, timeout=60) as c:
            barrier.wait()
            for _ in range(5):
                try:
                    granted.append(c.request_grant(f"acme/p/u{i}", "ds", eps, 0.0, JOB, "sum/v1"))
                except BudgetExceeded:
                    refused.append(i)
                except Exception as exc:  # noqa: BLE001 - reported below
                    other.append(repr(exc))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert other == []
    total = sum(g.GrantBody.from_bytes(x.body).epsilon for x in granted)
    assert total <= limit + 1e-9
    assert total >= limit - eps - 1e-9  # the budget was used up, not refused early
    assert len(granted) + len(refused) == 500
    with Ledger(db) as led:
        res = led.verify()
        rows = led.rows()
    assert res.ok, res.summary()
    assert sorted(r["grant_id"] for r in rows if r["kind"] == "reserve") == \
        sorted(g.GrantBody.from_bytes(x.body).grant_id for x in granted)


def test_reused_expired_forged_and_other_job_are_refused(ledger_files, servers):
    db, key = ledger_files
    with Ledger(db) as led:
        led.set_budget("acme", "ds", 10.0, delta_total=1e-3)
    srv = _start(servers, db, key, "--insecure")
    with BudgetClient(srv.address, insecure=True) as c:
        assert c.public_key() == g.public_bytes(g.load_or_create_key(key))
        grant = c.request_grant("acme/p/a", "ds", 1.0, 1e-6, JOB, "sum/v1")
        gid, seq = c.redeem(grant, JOB, "ds")
        assert gid == g.GrantBody.from_bytes(grant.body).grant_id and seq > 0
        with pytest.raises(GrantReused):
            c.redeem(grant, JOB, "ds")
        other = c.request_grant("acme/p/a", "ds", 1.0, 0.0, JOB, "sum/v1")
        with pytest.raises(GrantMismatch):
            c.redeem(other, hashlib.sha256(b"another job").digest(), "ds")
        with pytest.raises(GrantMismatch):
            c.redeem(other, JOB, "another-dataset")
        bad_sig = g.SignedGrant(other.body, bytes([other.signature[0] ^ 1]) + other.signature[1:])
        with pytest.raises(GrantForged):
            c.redeem(bad_sig, JOB, "ds")
        forged = g.sign(Ed25519PrivateKey.generate(), g.GrantBody.from_bytes(other.body))
        with pytest.raises(GrantForged):
            c.redeem(forged, JOB, "ds")
        short = c.request_grant("acme/p/a", "ds", 1.0, 0.0, JOB, "sum/v1", ttl=1)
        time.sleep(1.2)
        with pytest.raises(GrantExpired):
            c.redeem(short, JOB, "ds")
        c.redeem(other, JOB, "ds")  # the untouched grant still works once
        lv = c.status("acme/p/a", "ds")[0]                  # reserved, not spent; the expired one holds nothing
        assert lv["total_spent"] == 0 and lv["total_reserved"] == pytest.approx(2.0)
        other_id = g.GrantBody.from_bytes(other.body).grant_id
        assert c.commit(gid, JOB, 1.0, 1e-6, output="sum")["closed"]
        with pytest.raises(GrantMismatch, match="exceeds"):
            c.commit(other_id, JOB, 1.5, 0.0)
        with pytest.raises(GrantMismatch, match="is for job"):
            c.commit(other_id, hashlib.sha256(b"another job").digest(), 0.5, 0.0)
        assert c.commit(other_id, JOB, 0.5, 0.0, output="sum")["committed_epsilon"] == 0.5
        r = c.release(other_id, JOB, reason="job failed after its first output", job_id="job-9")
        assert r["refunded_epsilon"] == 0.5 and r["state"] == "released" and r["ledger_seq"] > 0
        assert c.release(other_id, JOB)["ledger_seq"] == 0
        with pytest.raises(GrantReused, match="released"):
            c.commit(other_id, JOB, 1.0, 0.0)
        with pytest.raises(BudgetExceeded, match="remaining"):
            c.request_grant("acme/p/a", "ds", 9.0, 0.0, JOB, "sum/v1")
        lv = c.status("acme/p/a", "ds")[0]
        assert lv["total_spent"] == pytest.approx(1.5) and lv["total_reserved"] == 0
    with Ledger(db) as led:
        assert led.verify().ok
        kinds = [r["kind"] for r in led.rows()]
        assert kinds.count("redeem") == 2 and kinds.count("commit") == 2 and kinds.count("release") == 1
        assert kinds.count("expire") == 1                   # the short grant, recorded at the next write


def test_health_service(ledger_files, servers):
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    import grpc

    db, key = ledger_files
    srv = _start(servers, db, key, "--insecure")
    with grpc.insecure_channel(srv.address) as ch:
        stub = health_pb2_grpc.HealthStub(ch)
        for name in ("", "dp.v1.Budget"):
            r = stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
            assert r.status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.RpcError) as exc:
            stub.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=5)
        assert exc.value.code() == grpc.StatusCode.NOT_FOUND


def test_sigkill_mid_burst_leaves_a_consistent_ledger(ledger_files, servers):
    db, key = ledger_files
    with Ledger(db) as led:
        led.set_budget("acme", "*", 1000.0)
    srv = _start(servers, db, key, "--insecure")
    received, stop = [], threading.Event()

    def burst(i: int) -> None:
        with BudgetClient(srv.address, insecure=True, timeout=5) as c:
            while not stop.is_set():
                try:
                    received.append(c.request_grant(f"acme/p/u{i}", "ds", 0.01, 0.0, JOB, "p"))
                except BudgetServiceUnavailable:
                    return
                except Exception:  # noqa: BLE001 - connection torn down mid-call
                    return

    threads = [threading.Thread(target=burst, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 60
    while len(received) < 300 and time.monotonic() < deadline:
        time.sleep(0.01)
    srv.kill9()  # in the middle of the burst
    stop.set()
    for t in threads:
        t.join(30)
    assert len(received) >= 300
    srv2 = _start(servers, db, key, "--insecure")  # restart on the same file
    with Ledger(db) as led:
        res = led.verify()
        rows = led.rows()
    assert res.ok, res.summary()
    in_ledger = {r["grant_id"] for r in rows if r["kind"] == "reserve"}
    assert {g.GrantBody.from_bytes(x.body).grant_id for x in received} <= in_ledger  # no grant handed out is lost
    with BudgetClient(srv2.address, insecure=True) as c:
        c.request_grant("acme/p/u0", "ds", 0.01, 0.0, JOB, "p")
        held = c.status("acme/p/u0", "ds")[0]["total_reserved"]
    assert held == pytest.approx(0.01 * (len(in_ledger) + 1))


def _cert(subject: str, issuer_key, issuer_name, public_key, *, ca: bool, san: bool = False):
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
         .issuer_name(issuer_name).public_key(public_key).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if san:
        import ipaddress
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                         x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                            critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def _pki(dirpath: Path, name: str):
    """A CA, a server certificate and a client certificate under `dirpath`; returns (server, client) TlsFiles."""
    pem = lambda c: c.public_bytes(serialization.Encoding.PEM)  # noqa: E731
    keypem = lambda k: k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,  # noqa: E731
                                       serialization.NoEncryption())
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} CA")])
    ca = _cert(f"{name} CA", ca_key, ca_name, ca_key.public_key(), ca=True)
    (dirpath / f"{name}-ca.pem").write_bytes(pem(ca))
    out = []
    for role in ("server", "client"):
        k = ec.generate_private_key(ec.SECP256R1())
        c = _cert(f"{name}-{role}", ca_key, ca_name, k.public_key(), ca=False, san=role == "server")
        (dirpath / f"{name}-{role}.pem").write_bytes(pem(c))
        (dirpath / f"{name}-{role}.key").write_bytes(keypem(k))
        out.append(TlsFiles(dirpath / f"{name}-{role}.pem", dirpath / f"{name}-{role}.key", dirpath / f"{name}-ca.pem"))
    return out


def test_mutual_tls(ledger_files, servers, tmp_path):
    db, key = ledger_files
    with Ledger(db) as led:
        led.set_budget("acme", "*", 1.0)
    server_tls, client_tls = _pki(tmp_path, "deploy")
    _, stranger_tls = _pki(tmp_path, "other")
    srv = _start(servers, db, key, "--tls-cert", str(server_tls.cert), "--tls-key", str(server_tls.key),
                 "--tls-ca", str(server_tls.ca), "--no-bind-principal")   # this PKI's names are not client-<name>
    with BudgetClient(srv.address, tls=client_tls) as c:
        assert c.request_grant("acme", "ds", 0.5, 0.0, JOB, "p").body
    with BudgetClient(srv.address, tls=stranger_tls, timeout=3) as c:  # certificate from another CA
        with pytest.raises(BudgetServiceUnavailable):
            c.request_grant("acme", "ds", 0.1, 0.0, JOB, "p")
    with BudgetClient(srv.address, insecure=True, timeout=3) as c:  # plaintext to a TLS server
        with pytest.raises(BudgetServiceUnavailable):
            c.request_grant("acme", "ds", 0.1, 0.0, JOB, "p")


def test_serve_refuses_without_tls_or_insecure(ledger_files):
    db, key = ledger_files
    out = subprocess.run([sys.executable, "-m", "mpc", "budget", "serve", "--db", str(db), "--key", str(key),
                          "--listen", "127.0.0.1:0"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and "--insecure" in out.stderr
