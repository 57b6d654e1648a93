"""Private keys kept only in encrypted key stores: `mpc keys protect` moves each node's and the
client's PEM key into a key-store entry, the configs name the entry, and two real nodes run a
job over mutual TLS with keys decrypted in memory only. The budget service's signing key and TLS
key live in a key store too, and a DP job's grant is signed, requested and redeemed through them.
A wrong passphrase or a missing one is refused clearly, before anything listens."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mpc.node.process import mpc_argv
from netjobs import make_cluster

pytestmark = [pytest.mark.integration, pytest.mark.slow]
PASS_ENV = "MPC_TEST_TLS_KEYSTORE_PASS"
PASSPHRASE = "tls keys at rest"
CLIENT_PASSPHRASE = "the analyst's own"


def _protect(store, name, pem, passphrase, *extra):
    r = subprocess.run([*mpc_argv("keys", "protect"), "--keys", str(store), "--name", name, "--pem", str(pem),
                        *extra], capture_output=True, text=True, timeout=120,
                       env={**os.environ, "MPC_KEYSTORE_PASSPHRASE": passphrase})
    assert r.returncode == 0, r.stderr
    return store / f"{name}.mpckey"


def _encrypt_node_keys(cluster, root):
    certs = root / "certs"
    for i, cfg in enumerate(cluster.node_configs):
        plain = certs / f"party-{i}.key"
        entry = _protect(root / f"keys{i}", "tls", plain, PASSPHRASE, "--remove")
        assert not plain.exists() and entry.stat().st_mode & 0o777 == 0o600
        text = cfg.read_text().replace(f'key = "{plain}"', f'key = "{entry}"')
        assert str(entry) in text
        cfg.write_text(text + f'\n[keystore]\npath = "{root / f"keys{i}"}"\npassphrase_env = "{PASS_ENV}"\n'
                              'scrypt_n = 16384\n')
    cluster.env = {**cluster.env, PASS_ENV: PASSPHRASE}


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    root = tmp_path_factory.mktemp("enckeys")
    cluster, data = make_cluster(root, parties=2, dealer=False, timeout_s=20.0, no_dp=True)
    certs = root / "certs"
    _encrypt_node_keys(cluster, root)
    client_entry = _protect(root / "client-keys", "analyst", certs / "client-analyst.key", CLIENT_PASSPHRASE)
    client = cluster.client_config.read_text().replace(f'key = "{certs / "client-analyst.key"}"',
                                                       f'key = "{client_entry}"')
    assert str(client_entry) in client
    cluster.client_config.write_text(client)
    cluster.start()
    try:
        cluster.wait_ready()
        yield cluster, data, root
    finally:
        cluster.stop()


def _psi(cluster, env):
    return subprocess.run([sys.executable, "-m", "mpc", "psi", "--config", str(cluster.client_config),
                           "--datasets", "patients", "--key", "pid", "--output", "size"], capture_output=True,
                          text=True, timeout=120, env={**os.environ, **cluster.env, **env})


def test_nodes_and_client_run_a_job_with_encrypted_tls_keys(net):
    cluster, _, _ = net
    r = _psi(cluster, {"MPC_KEYSTORE_PASSPHRASE": CLIENT_PASSPHRASE})
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "party 0 (receiver): set sizes [40, 40], intersection size 20"


def test_client_without_or_with_a_wrong_passphrase_is_refused(net):
    cluster, _, _ = net
    env = {k: v for k, v in os.environ.items() if k != "MPC_KEYSTORE_PASSPHRASE"}
    r = subprocess.run([sys.executable, "-m", "mpc", "psi", "--config", str(cluster.client_config), "--datasets",
                        "patients", "--key", "pid"], capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 2 and "MPC_KEYSTORE_PASSPHRASE" in r.stderr and "Traceback" not in r.stderr
    r = _psi(cluster, {"MPC_KEYSTORE_PASSPHRASE": "not it"})
    assert r.returncode == 2 and "passphrase" in r.stderr.lower() and "Traceback" not in r.stderr


def test_a_node_with_a_wrong_passphrase_does_not_start(net):
    cluster, _, _ = net
    r = subprocess.run(mpc_argv("node", "--config", str(cluster.node_configs[0])), capture_output=True, text=True,
                       timeout=120, env={**os.environ, **cluster.env, PASS_ENV: "wrong"})
    assert r.returncode != 0 and "wrong passphrase" in (r.stdout + r.stderr).lower()
    assert "Traceback" not in r.stderr


def test_protect_refuses_what_is_not_a_private_key(net, tmp_path):
    _, _, root = net
    not_a_key = tmp_path / "cert.pem"
    not_a_key.write_bytes((root / "certs" / "ca.pem").read_bytes())
    r = subprocess.run([*mpc_argv("keys", "protect"), "--keys", str(tmp_path / "ks"), "--name", "x", "--pem",
                        str(not_a_key)], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "MPC_KEYSTORE_PASSPHRASE": "p"})
    assert r.returncode == 2 and "not an unencrypted PEM private key" in r.stderr
    assert not (tmp_path / "ks" / "x.mpckey").exists()


SERVICE_PASSPHRASE = "budget service keys"


@pytest.fixture(scope="module")
def dpnet(tmp_path_factory):
    root = tmp_path_factory.mktemp("enckeys-dp")
    cluster, _ = make_cluster(root, parties=2, dealer=False, timeout_s=20.0, budget=True)
    for i in range(2):
        cluster.budget.set_budget("local", f"party-{i}/patients", 10.0, delta_total=0.01)
    b, store = cluster.budget, root / "budget-keys"
    b.key = _protect(store, "signing", b.key, SERVICE_PASSPHRASE, "--remove")
    b.tls_key = _protect(store, "tls", root / "certs" / "budget-service.key", SERVICE_PASSPHRASE, "--remove")
    _encrypt_node_keys(cluster, root)
    with pytest.MonkeyPatch.context() as mp:      # the service process reads it from its environment
        mp.setenv("MPC_KEYSTORE_PASSPHRASE", SERVICE_PASSPHRASE)
        cluster.start()
    try:
        cluster.wait_ready()
        yield cluster, root
    finally:
        cluster.stop()


def test_dp_job_with_budget_service_and_node_keys_encrypted(dpnet):
    from mpc.client import Client

    cluster, root = dpnet
    assert not (root / "budget" / "budget.key").exists() and not (root / "certs" / "budget-service.key").exists()
    r = subprocess.run([*mpc_argv("budget", "pubkey"), "--key", str(cluster.budget.key)], capture_output=True,
                       text=True, timeout=60, env={**os.environ, "MPC_KEYSTORE_PASSPHRASE": SERVICE_PASSPHRASE})
    assert r.returncode == 0 and r.stdout.strip() == cluster.budget.public_key.read_text().strip()
    with Client.from_config(cluster.client_config) as client:   # grant signed with the encrypted key, redeemed
        out = client.run("sum", {0: "patients", 1: "patients"}, {"column": "bmi", "lower": 15, "upper": 40},
                         epsilon=1.0, delta=1e-5)                 # by nodes over TLS with their encrypted keys
    assert out.outputs[0]["sum"] == out.outputs[1]["sum"]
    assert [(e["output"], e["dp"], e["epsilon"]) for e in out.privacy] == [("sum", True, 1.0)]
    assert cluster.budget.verify().rows >= 2


def test_budget_service_with_a_wrong_passphrase_does_not_start(dpnet):
    cluster, root = dpnet
    b = cluster.budget
    r = subprocess.run([*mpc_argv("budget", "serve"), "--db", str(b.db), "--key", str(b.key), "--listen",
                        "127.0.0.1:0", "--insecure"], capture_output=True, text=True, timeout=60,
                       env={**os.environ, "MPC_KEYSTORE_PASSPHRASE": "wrong"})
    assert r.returncode == 2 and "wrong passphrase" in r.stderr.lower() and "Traceback" not in r.stderr
