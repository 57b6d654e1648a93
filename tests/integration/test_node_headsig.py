"""Ledger heads co-signed by real node processes that checked them at a real budget service.

3 node processes and an `mpc budget serve` process (gRPC, mutual TLS on 127.0.0.1 free ports,
a real SQLite ledger), each node with its own encrypted key store and the service key pinned
in its [budget]. Every `mpc keys cosign` call is a fresh `python -m mpc` process. A correct
head (the current one, or one given with its row count) is co-signed and verifies with
`cryptography`'s Ed25519 verifier; a made-up head is refused by every node, naming it; a row
count beyond the ledger is refused; a service signature that does not verify under the pinned
key is refused. (Nodes without [budget] refusing: tests/integration/test_node_keys.py.)"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dp.budget import grants as g
from dp.budget import heads as h
from dp.budget.ledger import Ledger
from mpc.threshold import cosign
from netjobs import make_cluster

pytestmark = [pytest.mark.integration, pytest.mark.slow]
PASS_ENV = "MPC_TEST_HEADSIG_KEYSTORE_PASS"


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    root = tmp_path_factory.mktemp("headsig")
    cluster, _ = make_cluster(root, parties=3, dealer=False, timeout_s=20.0, budget=True)
    for i, cfg in enumerate(cluster.node_configs):
        with open(cfg, "a") as f:
            f.write(f'\n[keystore]\npath = "{root / f"keys{i}"}"\npassphrase_env = "{PASS_ENV}"\nscrypt_n = 16384\n')
    cluster.env = {**cluster.env, PASS_ENV: "head signing pass"}
    for i in range(3):                     # ledger rows 1..3 (budgets), 4 (a grant) before the service starts
        cluster.budget.set_budget("org", f"party-{i}/patients", 5.0)
    with Ledger(cluster.budget.db) as led:
        led.grant("org/p/a", "party-0/patients", 0.5, 0.0, "ab" * 32, "sum/v1",
                  key=g.load_or_create_key(cluster.budget.key))
    cluster.start()
    try:
        cluster.wait_ready()
        r = _mpc(cluster, "keys", "dkg", "--config", str(cluster.client_config), "--key-id", "cosign",
                 "--threshold", "1")
        assert r.returncode == 0, r.stderr
        yield cluster, _fields(r.stdout)["group public key"]
    finally:
        cluster.stop()


def _mpc(cluster, *args):
    return subprocess.run([sys.executable, "-m", "mpc", *args], capture_output=True, text=True, timeout=180,
                          env={**os.environ, **cluster.env})


def _fields(stdout):
    return dict(line.split(": ", 1) for line in stdout.splitlines() if ": " in line)


def _cosign(cluster, *args):
    return _mpc(cluster, "keys", "cosign", "--config", str(cluster.client_config), "--key-id", "cosign", *args)


def _heads(cluster) -> dict[int, str]:
    with Ledger(cluster.budget.db) as led:
        n = led.head_after(0)[0]
        return {k: led.head_after(k)[1] for k in range(1, n + 1)}


def _check_cosigned(fields, group_key, head, rows, service_key):
    statement = bytes.fromhex(fields["statement"])
    assert cosign.parse(statement) == {"type": "budget-ledger-head", "key_id": "cosign", "head": head, "rows": rows}
    Ed25519PublicKey.from_public_bytes(bytes.fromhex(group_key)).verify(bytes.fromhex(fields["signature"]), statement)
    service = h.SignedHead(fields["service statement"].encode(), bytes.fromhex(fields["service signature"]))
    assert h.verify_head(service, service_key, rows=rows).head == head


def test_current_head_is_cosigned(net):
    cluster, group_key = net
    heads = _heads(cluster)
    rows = max(heads)
    assert rows == 4
    r = _cosign(cluster)
    assert r.returncode == 0, r.stderr
    f = _fields(r.stdout)
    service_key = cluster.budget.public_key.read_text().strip()
    assert f["budget service key"] == service_key
    assert f["head"] == heads[rows] and int(f["rows"]) == rows and f["signers"] == "0,1,2"
    _check_cosigned(f, group_key, heads[rows], rows, service_key)
    r = _mpc(cluster, "keys", "verify", "--group-key", group_key, "--message", f["statement"],
             "--signature", f["signature"])
    assert r.returncode == 0 and r.stdout.strip() == "valid"


def test_given_head_and_earlier_rows_are_cosigned(net):
    cluster, group_key = net
    heads = _heads(cluster)
    service_key = cluster.budget.public_key.read_text().strip()
    r = _cosign(cluster, "--head", heads[2], "--rows", "2", "--signers", "0,2")
    assert r.returncode == 0, r.stderr
    f = _fields(r.stdout)
    assert f["signers"] == "0,2"
    _check_cosigned(f, group_key, heads[2], 2, service_key)
    r = _cosign(cluster, "--rows", "1")            # the service's head after one row
    assert r.returncode == 0, r.stderr
    _check_cosigned(_fields(r.stdout), group_key, heads[1], 1, service_key)
    r = _cosign(cluster, "--message", heads[3].upper(), "--rows", "3")   # the documented older option name
    assert r.returncode == 0, r.stderr
    _check_cosigned(_fields(r.stdout), group_key, heads[3], 3, service_key)


def test_made_up_head_is_refused_by_every_node(net):
    cluster, _ = net
    heads = _heads(cluster)
    fake = "5a" * 32
    r = _cosign(cluster, "--head", fake, "--rows", "3")
    assert r.returncode == 2 and "Traceback" not in r.stderr and "signature:" not in r.stdout, r.stderr
    for p in (0, 1, 2):
        assert (f"party {p} was given head {fake} after 3 rows, but the budget service reports head {heads[3]}"
                in r.stderr), r.stderr
    r = _cosign(cluster, "--head", heads[4], "--rows", "3")   # a real head, but not the one after 3 rows
    assert r.returncode == 2 and f"reports head {heads[3]}" in r.stderr, r.stderr
    r = _cosign(cluster, "--head", fake)
    assert r.returncode == 2 and "--head needs --rows" in r.stderr


def test_rows_beyond_the_ledger_are_refused(net):
    cluster, _ = net
    heads = _heads(cluster)
    r = _cosign(cluster, "--head", heads[4], "--rows", "1000")
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "could not get a verified ledger head after 1000 rows" in r.stderr and "not after 1000" in r.stderr
    r = _cosign(cluster, "--rows", "1000")          # the client's own fetch is refused the same way
    assert r.returncode == 2 and "has 4 rows" in r.stderr and "not after 1000" in r.stderr, r.stderr


def test_a_signature_not_by_the_pinned_key_is_refused(net):
    """The nodes pin the service key in [budget]; a head signed by any other key is refused (the pinned
    key is swapped for the duration of the test: each node reads it at every check)."""
    cluster, _ = net
    heads = _heads(cluster)
    pinned = cluster.budget.public_key
    original = pinned.read_text()
    pinned.write_text(g.public_bytes(Ed25519PrivateKey.generate()).hex() + "\n")
    try:
        r = _cosign(cluster, "--head", heads[4], "--rows", "4")
    finally:
        pinned.write_text(original)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    for p in (0, 1, 2):
        assert f"party {p} could not get a verified ledger head after 4 rows" in r.stderr, r.stderr
    assert "does not verify under the budget service's public key" in r.stderr
    r = _cosign(cluster, "--head", heads[4], "--rows", "4")        # the right key again: signed
    assert r.returncode == 0, r.stderr
