"""The node's [keystore] section, its share store, the key protocols and job co-signing, in one
process (LocalNetwork): config checks, status rounds that name the party at fault, co-signing
agreement (mismatched configs refused before any data is touched), statements and their checks."""

from __future__ import annotations

import asyncio
import json
import os

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from dp.budget.heads import SignedHead, sign_head, verify_head
from dp.budget.ledger import Ledger

from mpc.errors import CheatingDetected, ParameterError, ProtocolAbort, UnsafePermissions, WrongPassphrase
from mpc.keystore import KeyStore
from mpc.net import LocalNetwork
from mpc.node.jobs import JobSpec
from mpc.node.keys import KeyStoreConfig, NodeKeys, parse_keystore_section, read_passphrase
from mpc.protocols import default_registry
from mpc.protocols.registry import JobContext
from mpc.runtime import run_local
from mpc.threshold import cosign, elgamal
from mpc.threshold.keys import deal
from mpc.crypto import group as G
from mpc.threshold.store import ShareStore, check_key_id

FAST = {"name": "scrypt", "n": 2**14, "r": 8, "p": 1}


# ------------------------------------------------------------------ config
def test_keystore_section_is_checked(tmp_path):
    where = "party0.toml"
    cfg = parse_keystore_section({"path": "ks", "passphrase_env": "X", "cosign_key": "cosign"}, tmp_path, where)
    assert cfg.path == tmp_path / "ks" and cfg.passphrase_env == "X" and cfg.cosign_key == "cosign"
    assert cfg.scrypt_n == 2**17 and parse_keystore_section(None, tmp_path, where) is None
    with pytest.raises(ParameterError, match="never put the passphrase in the config"):
        parse_keystore_section({"path": "ks", "passphrase": "secret"}, tmp_path, where)
    with pytest.raises(ParameterError, match="exactly one of passphrase_env or passphrase_file"):
        parse_keystore_section({"path": "ks"}, tmp_path, where)
    with pytest.raises(ParameterError, match="exactly one"):
        parse_keystore_section({"path": "ks", "passphrase_env": "X", "passphrase_file": "f"}, tmp_path, where)
    with pytest.raises(ParameterError, match="scrypt_n"):
        parse_keystore_section({"path": "ks", "passphrase_env": "X", "scrypt_n": 1000}, tmp_path, where)
    with pytest.raises(ParameterError, match="key id"):
        parse_keystore_section({"path": "ks", "passphrase_env": "X", "cosign_key": "../x"}, tmp_path, where)
    with pytest.raises(ParameterError, match="unknown keys"):
        parse_keystore_section({"path": "ks", "passphrase_env": "X", "colour": 1}, tmp_path, where)


def test_passphrase_from_env_or_private_file(tmp_path, monkeypatch):
    env_cfg = KeyStoreConfig(tmp_path, "MPC_TEST_PW", None, None, 2**14)
    monkeypatch.delenv("MPC_TEST_PW", raising=False)
    with pytest.raises(ParameterError, match="MPC_TEST_PW"):
        read_passphrase(env_cfg, 0)
    monkeypatch.setenv("MPC_TEST_PW", "pw")
    assert read_passphrase(env_cfg, 0) == "pw"
    f = tmp_path / "pass"
    f.write_text("file pw\n")
    os.chmod(f, 0o644)
    file_cfg = KeyStoreConfig(tmp_path, None, f, None, 2**14)
    with pytest.raises(UnsafePermissions, match="chmod 600"):
        read_passphrase(file_cfg, 3)
    os.chmod(f, 0o600)
    assert read_passphrase(file_cfg, 3) == "file pw"


def test_node_with_wrong_passphrase_stops_at_start(tmp_path, monkeypatch):
    keys = deal(G.random_scalar(), 3, 1)
    ShareStore(KeyStore(tmp_path / "ks", kdf=FAST), "right", 0).save("k", keys[0])
    monkeypatch.setenv("MPC_TEST_PW", "wrong")
    with pytest.raises(WrongPassphrase):
        NodeKeys(0, KeyStoreConfig(tmp_path / "ks", "MPC_TEST_PW", None, None, 2**14))
    monkeypatch.setenv("MPC_TEST_PW", "right")
    assert NodeKeys(0, KeyStoreConfig(tmp_path / "ks", "MPC_TEST_PW", None, None, 2**14)).shares.load("k") == keys[0]


def test_share_store_checks_what_it_loads(tmp_path):
    keys = deal(G.random_scalar(), 3, 1)
    s0 = ShareStore(KeyStore(tmp_path / "a", kdf=FAST), "pw", 0)
    s0.save("k", keys[0])
    with pytest.raises(ParameterError, match="exists"):
        s0.save("k", keys[0])
    with pytest.raises(ParameterError, match="party 0 was asked to store party 1's"):
        s0.save("k2", keys[1])
    with pytest.raises(ParameterError, match="party 0 holds no key 'nope'"):
        s0.load("nope")
    with pytest.raises(WrongPassphrase, match="party 0"):
        ShareStore(s0.store, "bad", 0).load("k")
    (tmp_path / "b").mkdir(mode=0o700)
    (tmp_path / "b" / "k.mpckey").write_bytes((tmp_path / "a" / "k.mpckey").read_bytes())
    os.chmod(tmp_path / "b" / "k.mpckey", 0o600)
    with pytest.raises(Exception, match="party 1: .*party 0's share"):
        ShareStore(KeyStore(tmp_path / "b"), "pw", 1).load("k")   # a file copied from another node
    for bad in ("", ".x", "a/b", "x" * 65, 5):
        with pytest.raises(ParameterError):
            check_key_id(bad)


# ------------------------------------------------------------------ the key protocols in one process
def _stores(tmp_path, n, cosign_key=None):
    return {i: ShareStore(KeyStore(tmp_path / f"p{i}", kdf=FAST), "pw", i, cosign_key=cosign_key) for i in range(n)}


class LedgerHeads:
    """A node's head source over a real ledger file, without the network (`HeadSource.signed_head`)."""

    def __init__(self, db, key):
        self.db, self.key = db, key

    def signed_head(self, rows=0):
        with Ledger(self.db) as led:
            n, head = led.head_after(rows)
        signed = sign_head(self.key, head, n)
        return verify_head(signed, self.key.public_key(), rows=rows or None), signed


def _run(name, params, stores, parties=3, budget=None):
    proto = default_registry().get(name)
    checked = proto.check_params(params)

    async def program(s):
        ctx = JobContext(session=s, params=checked, data=None, contributors=(), output_to=(0,), release=None,
                         keystore=stores.get(s.pid), budget=(budget or {}).get(s.pid))
        return await proto.run(ctx)

    return run_local(parties, program, triples=None, timeout=30)


def test_dkg_sign_decrypt_cosign_head_in_process(tmp_path):
    stores = _stores(tmp_path, 3)
    out = _run("dkg", {"key_id": "k", "threshold": 1}, stores)
    key = bytes.fromhex(out[0]["group_public_key"])
    assert all(o["group_public_key"] == key.hex() for o in out) and out[0]["parties"] == [0, 1, 2]
    assert [stores[i].load("k").party for i in range(3)] == [0, 1, 2]
    sig = _run("frost_sign", {"key_id": "k", "message": "0102"}, stores, parties=2)[0]["signature"]
    Ed25519PublicKey.from_public_bytes(key).verify(bytes.fromhex(sig), b"\x01\x02")
    ct = elgamal.encrypt(key, b"attack at dawn")
    assert _run("threshold_decrypt", {"key_id": "k", "ciphertext": ct.hex()}, stores)[1]["plaintext"] == \
        b"attack at dawn".hex()
    db, service_key = tmp_path / "ledger.sqlite", Ed25519PrivateKey.generate()
    with Ledger(db, create=True) as led:
        led.set_budget("org", "*", 1.0)
        led.set_budget("org/p", "*", 1.0)
        true_head = led.head()
    heads = {i: LedgerHeads(db, service_key) for i in range(3)}
    out = _run("cosign_head", {"key_id": "k", "head": true_head, "rows": 2}, stores, budget=heads)[0]
    statement = bytes.fromhex(out["message"])
    assert statement == cosign.ledger_head_message(key_id="k", head=true_head, rows=2)
    assert cosign.parse(statement)["rows"] == 2
    Ed25519PublicKey.from_public_bytes(key).verify(bytes.fromhex(out["signature"]), statement)
    assert verify_head(SignedHead(out["service_statement"].encode(), bytes.fromhex(out["service_signature"])),
                       service_key.public_key(), rows=2).head == true_head


def test_status_round_names_the_party_without_a_key_store(tmp_path):
    stores = _stores(tmp_path, 3)
    _run("dkg", {"key_id": "k", "threshold": 1}, stores)
    del stores[1]
    with pytest.raises(ProtocolAbort, match="party 1 has no key store") as e:
        _run("frost_sign", {"key_id": "k", "message": "00"}, stores)
    assert e.value.party == 1


def test_reserved_messages_and_cosign_key_are_refused(tmp_path):
    reg = default_registry()
    with pytest.raises(ParameterError, match="co-signed statements"):
        reg.get("frost_sign").check_params({"key_id": "k", "message": cosign.PREFIX.hex()})
    with pytest.raises(ParameterError, match="unknown"):
        reg.get("frost_sign").check_params({"key_id": "k", "message": "00", "extra": 1})
    with pytest.raises(ParameterError, match="ciphertext"):
        reg.get("threshold_decrypt").check_params({"key_id": "k", "ciphertext": "zz"})
    stores = _stores(tmp_path, 2, cosign_key="k")
    _run("dkg", {"key_id": "k", "threshold": 1}, stores, parties=2)
    with pytest.raises(ProtocolAbort, match="co-signing key"):
        _run("frost_sign", {"key_id": "k", "message": "00"}, stores, parties=2)
    assert all(p.dp_exempt for p in reg if p.name in ("dkg", "frost_sign", "threshold_decrypt", "cosign_head"))


# ------------------------------------------------------------------ job co-signing
def _spec(parties=(0, 1, 2), protocol="sum"):
    return JobSpec(job_id="job-1", protocol=protocol, version=1, params={}, inputs={}, parties=tuple(parties),
                   output_to=(0,), dealer=None, threshold=1, timeout_s=10.0, coordinator=0)


def _node_keys(tmp_path, i, cosign_key, share=None):
    nk = NodeKeys(i, None)
    nk.cosign_key = cosign_key
    if cosign_key is not None:
        nk.shares = ShareStore(KeyStore(tmp_path / f"n{i}", kdf=FAST), "pw", i, cosign_key=cosign_key)
        if share is not None:
            nk.shares.save(cosign_key, share)
    return nk


def _cosign_all(nodes, spec, results):
    net = LocalNetwork(len(nodes))

    async def one(i):
        cosigner = await nodes[i].job_cosigner(net.endpoint(i), spec)
        if cosigner is None:
            return None
        return await cosigner.sign(results[i], b"\x11" * 32)

    async def main():
        return await asyncio.gather(*(one(i) for i in range(len(nodes))), return_exceptions=True)

    return asyncio.run(main())


def test_job_result_cosignature_verifies_and_binds_each_result(tmp_path):
    keys = deal(G.random_scalar(), 3, 1)
    nodes = [_node_keys(tmp_path, i, "cosign", keys[i]) for i in range(3)]
    results = ['{"sum": 12.5}', "", '{"sum": 12.5}']
    recs = _cosign_all(nodes, _spec(), results)
    entries = {i: (recs[i], results[i]) for i in range(3)}
    combined = cosign.check_job_cosignature("job-1", "11" * 32, entries)
    Ed25519PublicKey.from_public_bytes(keys[0].group_key).verify(bytes.fromhex(combined["signature"]),
                                                                 bytes.fromhex(combined["message"]))
    assert combined["results"]["1"] is None and combined["signers"] == [0, 1, 2]
    with pytest.raises(CheatingDetected, match="node 0"):
        cosign.check_job_cosignature("job-1", "11" * 32, {**entries, 0: (recs[0], '{"sum": 13.5}')})
    with pytest.raises(ProtocolAbort, match="node 2 returned a result without the co-signature"):
        cosign.check_job_cosignature("job-1", "11" * 32, {**entries, 2: ("", results[2])})
    with pytest.raises(ProtocolAbort, match="not this job"):
        cosign.check_job_cosignature("job-2", "11" * 32, entries)
    forged = json.loads(recs[2])
    forged["signature"] = "00" * 64
    with pytest.raises(ProtocolAbort, match="different co-signature signatures"):
        cosign.check_job_cosignature("job-1", "11" * 32, {**entries, 2: (json.dumps(forged), results[2])})
    # the key protocols themselves are not co-signed, and nodes without a co-signing key skip the step
    assert _cosign_all(nodes, _spec(protocol="frost_sign"), results) == [None, None, None]
    plain = [_node_keys(tmp_path, i, None) for i in range(3)]
    assert _cosign_all(plain, _spec(), results) == [None, None, None]


def test_mismatched_cosign_configs_are_refused_before_the_job(tmp_path):
    keys = deal(G.random_scalar(), 3, 1)
    other = deal(G.random_scalar(), 3, 1)
    nodes = [_node_keys(tmp_path / "a", 0, "cosign", keys[0]), _node_keys(tmp_path / "a", 1, None),
             _node_keys(tmp_path / "a", 2, "cosign", keys[2])]
    out = _cosign_all(nodes, _spec(), ["x", "", "x"])
    assert all(isinstance(e, ProtocolAbort) and e.party == 1 and "same [keystore] cosign_key" in str(e) for e in out)
    nodes = [_node_keys(tmp_path / "b", 0, "cosign", keys[0]), _node_keys(tmp_path / "b", 1, "cosign", keys[1]),
             _node_keys(tmp_path / "b", 2, "cosign", other[2])]
    out = _cosign_all(nodes, _spec(), ["x", "", "x"])
    assert all(isinstance(e, ProtocolAbort) and e.party == 2 for e in out)
    nodes = [_node_keys(tmp_path / "c", 0, "cosign", keys[0]), _node_keys(tmp_path / "c", 1, "cosign")]
    out = _cosign_all(nodes, _spec(parties=(0, 1)), ["x", ""])
    assert all(isinstance(e, ProtocolAbort) and e.party == 1 and "party 1 cannot load" in str(e) for e in out)
    few = deal(G.random_scalar(), 3, 2)
    nodes = [_node_keys(tmp_path / "d", i, "cosign", few[i]) for i in range(2)]
    out = _cosign_all(nodes, _spec(parties=(0, 1)), ["x", ""])
    assert all(isinstance(e, ProtocolAbort) and "t+1 = 3 signers" in str(e) for e in out)


def test_statements_are_unambiguous():
    m = cosign.job_result_message(key_id="k", job_id="j", protocol="sum", spec_hash="ab", results={1: None, 0: "cd"})
    assert m.startswith(cosign.PREFIX) and cosign.parse(m)["results"] == {"0": "cd", "1": None}
    with pytest.raises(ParameterError):
        cosign.parse(b"hello")
    with pytest.raises(ParameterError):
        cosign.parse(cosign.PREFIX + b'{"type": "other"}')
    assert cosign.result_digest(b"a", "x") != cosign.result_digest(b"b", "x")
