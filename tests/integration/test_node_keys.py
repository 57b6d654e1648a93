"""Threshold keys through real node processes (3 parties, gRPC with mutual TLS, each node with its
own encrypted key store): DKG, signing checked with `cryptography`'s Ed25519 verifier, encryption
and threshold decryption, shares stored encrypted (0600, wrong passphrase refused), co-signed job
results, ledger heads refused by nodes without [budget] (tests/integration/test_node_headsig.py
co-signs them with a budget service), and clear errors naming a signer that is down or does not hold the key.
Every `mpc keys ...` call is a fresh `python -m mpc` process."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from mpc.client import Client
from mpc.crypto import group as G
from mpc.errors import CheatingDetected, WrongPassphrase
from mpc.keystore import KeyStore
from mpc.node.jobs import encode_result
from mpc.threshold import cosign
from mpc.threshold.keys import KeyShare
from netjobs import make_cluster

pytestmark = [pytest.mark.integration, pytest.mark.slow]
PASS_ENV = "MPC_TEST_NODE_KEYSTORE_PASS"
PASSPHRASE = "node key store pass"
FILE_PASSPHRASE = "party one's own passphrase"


def _add_keystores(cluster, root):
    """A [keystore] section per node: node 1 reads its passphrase from a file, the others from $PASS_ENV."""
    for i, cfg in enumerate(cluster.node_configs):
        if i == 1:
            pfile = root / "party1.pass"
            pfile.write_text(FILE_PASSPHRASE + "\n")
            os.chmod(pfile, 0o600)
            source = f'passphrase_file = "{pfile}"'
        else:
            source = f'passphrase_env = "{PASS_ENV}"'
        with open(cfg, "a") as f:
            f.write(f'\n[keystore]\npath = "{root / f"keys{i}"}"\n{source}\ncosign_key = "cosign"\nscrypt_n = 16384\n')


def _passphrase(i):
    return FILE_PASSPHRASE if i == 1 else PASSPHRASE


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    root = tmp_path_factory.mktemp("keys")
    cluster, data = make_cluster(root, parties=3, dealer=False, timeout_s=20.0, no_dp=True)  # net_sum: exact
    _add_keystores(cluster, root)
    cluster.env = {**cluster.env, PASS_ENV: PASSPHRASE}
    cluster.start()
    try:
        cluster.wait_ready()
        yield cluster, data, root
    finally:
        cluster.stop()


def _mpc(cluster, *args):
    return subprocess.run([sys.executable, "-m", "mpc", *args], capture_output=True, text=True, timeout=180,
                          env={**os.environ, **cluster.env})


def _fields(stdout):
    return dict(line.split(": ", 1) for line in stdout.splitlines() if ": " in line)


def _dkg(cluster, key_id, *extra):
    r = _mpc(cluster, "keys", "dkg", "--config", str(cluster.client_config), "--key-id", key_id, "--threshold", "1",
             *extra)
    assert r.returncode == 0, r.stderr
    return _fields(r.stdout)


@pytest.fixture(scope="module")
def k1(net):
    cluster, _, root = net
    out = _dkg(cluster, "k1", "--out", str(root / "k1-public"))
    return out["group public key"]


def test_dkg_sign_encrypt_decrypt_through_nodes(net, k1):
    cluster, _, root = net
    pub = json.loads((root / "k1-public" / "public.json").read_text())
    assert pub["group_public_key"] == k1 and pub["n"] == 3 and pub["threshold"] == 1
    for signers in ("0,2", "1,2"):
        r = _mpc(cluster, "keys", "sign", "--config", str(cluster.client_config), "--key-id", "k1",
                 "--signers", signers, "--message", b"hello nodes".hex())
        assert r.returncode == 0, r.stderr
        f = _fields(r.stdout)
        assert f["group public key"] == k1
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(k1)).verify(bytes.fromhex(f["signature"]), b"hello nodes")
        with pytest.raises(InvalidSignature):
            Ed25519PublicKey.from_public_bytes(bytes.fromhex(k1)).verify(bytes.fromhex(f["signature"]), b"hello node")
    ct = _mpc(cluster, "keys", "encrypt", "--group-key", k1, "--message", "c0ffee00").stdout.strip()
    r = _mpc(cluster, "keys", "decrypt", "--config", str(cluster.client_config), "--key-id", "k1",
             "--decryptors", "0,1", "--ciphertext", ct)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "c0ffee00"
    ct2 = _mpc(cluster, "keys", "encrypt", "--keys", str(root / "k1-public"), "--message", "ab").stdout.strip()
    r = _mpc(cluster, "keys", "decrypt", "--config", str(cluster.client_config), "--key-id", "k1",
             "--decryptors", "1,2", "--ciphertext", ct2)
    assert r.returncode == 0 and r.stdout.strip() == "ab", r.stderr


def test_each_share_is_stored_encrypted_at_its_node(net, k1):
    _, _, root = net
    vshares = set()
    for i in range(3):
        folder = root / f"keys{i}"
        path = folder / "k1.mpckey"
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        store = KeyStore(folder)
        with pytest.raises(WrongPassphrase):
            store.get("k1", "not the passphrase")
        share = KeyShare.from_bytes(store.get("k1", _passphrase(i)))
        assert share.party == i and share.group_key.hex() == k1 and (share.n, share.threshold) == (3, 1)
        assert G.base_mul(share.share) == share.verification_shares[i]
        raw = path.read_bytes()
        assert G.scalar_bytes(share.share).hex().encode() not in raw and k1.encode() not in raw
        assert store.names() == sorted(store.names()) and "k1" in store.names()
        vshares.add(share.verification_shares)
    assert len(vshares) == 1  # every node stored the same public verification data


def test_a_signer_without_the_key_is_named(net):
    cluster, _, _ = net
    _dkg(cluster, "k2", "--parties", "0,1")
    r = _mpc(cluster, "keys", "sign", "--config", str(cluster.client_config), "--key-id", "k2",
             "--signers", "1,2", "--message", "00")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "party 2 holds no key 'k2'" in r.stderr
    r = _mpc(cluster, "keys", "dkg", "--config", str(cluster.client_config), "--key-id", "k2", "--threshold", "1")
    assert r.returncode == 2 and "party 0 already holds a key 'k2'" in r.stderr


@pytest.fixture(scope="module")
def cosign_key(net):
    cluster, _, _ = net
    return _dkg(cluster, "cosign")["group public key"]


def test_job_result_is_cosigned(net, cosign_key):
    cluster, data, _ = net
    with Client.from_config(cluster.client_config) as client:
        out = client.run("net_sum", {0: "patients", 1: "patients", 2: "patients"}, {"column": "age"},
                         output_to=[0, 2])
    expected = sum(float(data[i]["age"].sum()) for i in range(3))
    assert out.result == pytest.approx(expected, abs=0.01)
    cos = out.cosignature
    assert cos is not None and cos["group_public_key"] == cosign_key and cos["signers"] == [0, 1, 2]
    message, sig = bytes.fromhex(cos["message"]), bytes.fromhex(cos["signature"])
    Ed25519PublicKey.from_public_bytes(bytes.fromhex(cosign_key)).verify(sig, message)  # any Ed25519 verifier
    body = cosign.parse(message)
    assert body["type"] == "job-result" and body["job_id"] == out.job_id and body["spec_hash"] == out.spec_hash
    assert body["results"]["1"] is None and body["results"]["0"] and body["results"]["2"]
    for n in (0, 1, 2):
        assert out.report[n]["cosignature"]["signature"] == cos["signature"]
    # each output party's result is bound by its salted digest: a changed result no longer matches
    entries = {n: (json.dumps(out.report[n]["cosignature"]), encode_result(out.outputs[n]) if n in out.outputs else "")
               for n in (0, 1, 2)}
    assert cosign.check_job_cosignature(out.job_id, out.spec_hash, entries)["signature"] == cos["signature"]
    entries[2] = (entries[2][0], encode_result(out.outputs[2] + 1.0))
    with pytest.raises(CheatingDetected, match="node 2"):
        cosign.check_job_cosignature(out.job_id, out.spec_hash, entries)


def test_ledger_head_needs_budget_and_cosign_key_reserved(net, cosign_key):
    cluster, _, root = net
    db = root / "ledger.db"
    r = _mpc(cluster, "budget", "init", "--db", str(db), "--key", str(root / "budget.key"))
    assert r.returncode == 0, r.stderr
    r = _mpc(cluster, "budget", "set", "--db", str(db), "--scope", "org", "--dataset", "*", "--total", "1")
    assert r.returncode == 0, r.stderr
    r = _mpc(cluster, "budget", "verify", "--db", str(db))
    head = r.stdout.split("head ")[1].split()[0]
    # these nodes have no [budget] section: they cannot check the head, so none of them co-signs it
    r = _mpc(cluster, "keys", "cosign", "--config", str(cluster.client_config), "--key-id", "cosign",
             "--message", head, "--rows", "1", "--signers", "0,2")
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    for p in (0, 2):
        assert f"party {p} has no [budget] section" in r.stderr and "add [budget]" in r.stderr, r.stderr
    assert "signature:" not in r.stdout
    # the co-signing key signs only co-signed statements, and no client can have one made through `sign`
    r = _mpc(cluster, "keys", "sign", "--config", str(cluster.client_config), "--key-id", "cosign",
             "--signers", "0,1", "--message", "00")
    assert r.returncode == 2 and "co-signing key" in r.stderr
    statement = cosign.ledger_head_message(key_id="cosign", head=head, rows=1)
    r = _mpc(cluster, "keys", "sign", "--config", str(cluster.client_config), "--key-id", "k2",
             "--signers", "0,1", "--message", statement.hex())
    assert r.returncode == 2 and "co-signed statements" in r.stderr


def test_a_signer_that_is_down_is_named(net, k1):
    cluster, _, _ = net
    cluster.stop([2])
    try:
        r = _mpc(cluster, "keys", "sign", "--config", str(cluster.client_config), "--key-id", "k1",
                 "--signers", "0,2", "--message", "00", "--timeout", "3")
        assert r.returncode == 2 and "Traceback" not in r.stderr
        assert "party 2" in r.stderr and ("did not answer" in r.stderr or "unreachable" in r.stderr), r.stderr
    finally:
        cluster.start([2])
        cluster.wait_ready(ids=[2])
    r = _mpc(cluster, "keys", "sign", "--config", str(cluster.client_config), "--key-id", "k1",
             "--signers", "0,2", "--message", "00")
    assert r.returncode == 0, r.stderr
