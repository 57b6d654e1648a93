"""Signed ledger heads without the network: the ledger's head after N rows (chain recomputed,
streamed), the service's signed statement and its checks, the co-signed statement with rows, and
the `cosign_head` protocol in one process (LocalNetwork) with each party's head source over a
real SQLite ledger: correct heads are co-signed, made-up heads, too many rows, forged service
signatures and parties without [budget] are refused by every party."""

from __future__ import annotations

import hashlib
import sqlite3

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from dp.budget import grants as g
from dp.budget import heads as h
from dp.budget.ledger import GENESIS, Ledger
from dp.errors import DPParameterError, LedgerHeadInvalid, LedgerTampered
from mpc.crypto import group as G
from mpc.errors import ParameterError, ProtocolAbort
from mpc.keystore import KeyStore
from mpc.protocols import default_registry
from mpc.protocols.registry import JobContext
from mpc.runtime import run_local
from mpc.threshold import cosign
from mpc.threshold.keys import deal
from mpc.threshold.store import ShareStore

JOB = hashlib.sha256(b"job").hexdigest()
FAST = {"name": "scrypt", "n": 2**14, "r": 8, "p": 1}


@pytest.fixture
def key():
    return Ed25519PrivateKey.generate()


def _ledger(path, rows: int, key) -> list[str]:
    """A ledger with `rows` rows; returns the head after each row count 0..rows."""
    heads = [GENESIS]
    with Ledger(path, create=True) as led:
        for i in range(rows):
            if i % 2 == 0:
                led.set_budget(f"org{i}", "*", 10.0)
            else:
                led.grant(f"org{i - 1}/p/a", "ds", 0.1, 0.0, JOB, "sum/v1", key=key)
            heads.append(led.head())
    return heads


# ------------------------------------------------------------------ the ledger
def test_head_after_each_row_count(tmp_path, key):
    db = tmp_path / "l.sqlite"
    heads = _ledger(db, 9, key)
    with Ledger(db) as led:
        assert led.head_after(0) == (9, heads[9]) == (led.verify().rows, led.verify().head)
        for n in range(1, 10):
            assert led.head_after(n) == (n, heads[n])
            # from a verified anchor, above and below it
            assert led.head_after(n, anchor=(5, heads[5])) == (n, heads[n])
        with pytest.raises(DPParameterError, match="has 9 rows.*not after 10"):
            led.head_after(10)
        for bad in (-1, True, 1.5, "3"):
            with pytest.raises(DPParameterError):
                led.head_after(bad)
        # an anchor the rows no longer lead to is found
        with pytest.raises(LedgerTampered, match="no longer lead"):
            led.head_after(2, anchor=(5, "ab" * 32))
    with Ledger(tmp_path / "empty.sqlite", create=True) as led:
        assert led.head_after(0) == (0, GENESIS)
        with pytest.raises(DPParameterError, match="has 0 rows"):
            led.head_after(1)


def test_head_after_refuses_a_tampered_chain(tmp_path, key):
    db = tmp_path / "l.sqlite"
    heads = _ledger(db, 6, key)
    con = sqlite3.connect(db)
    con.execute("UPDATE ledger SET epsilon = 99 WHERE seq = 4")
    con.commit()
    con.close()
    with Ledger(db) as led:
        assert led.head_after(3) == (3, heads[3])           # the rows before the change still verify
        with pytest.raises(LedgerTampered, match="row 4") as e:
            led.head_after(5)
        assert e.value.seq == 4
        with pytest.raises(LedgerTampered):
            led.head_after(0)
    con = sqlite3.connect(db)
    con.execute("DELETE FROM ledger WHERE seq = 2")
    con.commit()
    con.close()
    with Ledger(db) as led, pytest.raises(LedgerTampered, match="row 2 is missing"):
        led.head_after(3)


# ------------------------------------------------------------------ the signed statement
def test_signed_head_round_trip_and_refusals(key):
    signed = h.sign_head(key, "ab" * 32, 7, now=1000.0)
    body = h.verify_head(signed, key.public_key(), rows=7)
    assert (body.head, body.rows, body.time, body.key_id) == ("ab" * 32, 7, 1000.0, g.key_id(g.public_bytes(key)))
    assert h.verify_head(signed, g.public_bytes(key).hex()).rows == 7
    assert h.SignedHead.from_json(signed.to_json()) == signed
    # any Ed25519 verifier checks it over the domain-separated body
    key.public_key().verify(signed.signature, h.DOMAIN + signed.body)
    with pytest.raises(LedgerHeadInvalid, match="after 7 rows, not after 8"):
        h.verify_head(signed, key.public_key(), rows=8)
    bad = bytearray(signed.signature)
    bad[5] ^= 1
    with pytest.raises(LedgerHeadInvalid, match="does not verify"):
        h.verify_head(h.SignedHead(signed.body, bytes(bad)), key.public_key())
    with pytest.raises(LedgerHeadInvalid, match="does not verify"):
        h.verify_head(signed, Ed25519PrivateKey.generate().public_key())
    other = signed.body.replace(b"ab" * 32, b"cd" * 32)
    with pytest.raises(LedgerHeadInvalid, match="does not verify"):
        h.verify_head(h.SignedHead(other, signed.signature), key.public_key())
    with pytest.raises(LedgerHeadInvalid, match="64 bytes"):
        h.verify_head(h.SignedHead(signed.body, signed.signature[:10]), key.public_key())
    for body in (b'{"head": 1}', b"[]", b"not json"):
        forged = h.SignedHead(body, key.sign(h.DOMAIN + body))
        with pytest.raises(LedgerHeadInvalid, match="not a version-1"):
            h.verify_head(forged, key.public_key())


def test_heads_and_grants_never_verify_as_each_other(key):
    head = h.sign_head(key, "ab" * 32, 3)
    body = g.GrantBody("id", "o/p/a", "ds", 1.0, 0.0, JOB, "sum/v1", 0.0, 1e12, "kid")
    grant = g.sign(key, body)
    with pytest.raises(InvalidSignature):
        key.public_key().verify(head.signature, g.DOMAIN + head.body)
    with pytest.raises(Exception):
        g.verify(g.SignedGrant(head.body, head.signature), key.public_key(), job_hash=JOB, dataset="ds",
                 epsilon=0.0)
    with pytest.raises(LedgerHeadInvalid):
        h.verify_head(h.SignedHead(grant.body, grant.signature), key.public_key())
    assert not h.DOMAIN.startswith(g.DOMAIN) and not g.DOMAIN.startswith(h.DOMAIN)


@settings(max_examples=30, deadline=None)
@given(st.binary(min_size=32, max_size=32), st.integers(min_value=0, max_value=2**62), st.floats(0, 2e9))
def test_signed_head_property(raw, rows, now):
    key = Ed25519PrivateKey.generate()
    signed = h.sign_head(key, raw.hex(), rows, now=now)
    body = h.verify_head(signed, key.public_key(), rows=rows or None)
    assert (body.head, body.rows) == (raw.hex(), rows)
    assert h.HeadBody.from_bytes(signed.body) == body


def test_head_source_reads_the_pinned_key(tmp_path, key):
    src = h.HeadSource("127.0.0.1:1", public_key=tmp_path / "missing.pub", insecure=True)
    with pytest.raises(DPParameterError, match="cannot read"):
        src.public_key()
    (tmp_path / "bad.pub").write_text("zz")
    with pytest.raises(DPParameterError, match="not an Ed25519 key"):
        h.HeadSource("a", public_key=tmp_path / "bad.pub", insecure=True).public_key()
    (tmp_path / "ok.pub").write_text(g.public_bytes(key).hex() + "\n")
    got = h.HeadSource("a", public_key=tmp_path / "ok.pub", insecure=True).public_key()
    assert g.public_bytes(key) == got.public_bytes_raw()

    class NoBudget:
        budget = None

    assert h.HeadSource.for_node(NoBudget()) is None


# ------------------------------------------------------------------ the co-signed statement
def test_ledger_head_statement_names_rows():
    m = cosign.ledger_head_message(key_id="k", head="AB" * 32, rows=4)
    assert cosign.parse(m) == {"type": "budget-ledger-head", "key_id": "k", "head": "ab" * 32, "rows": 4}
    old = cosign.PREFIX + b'{"head":"' + b"ab" * 32 + b'","key_id":"k","type":"budget-ledger-head"}'
    with pytest.raises(ParameterError, match="without rows"):
        cosign.parse(old)
    for rows in (0, -1, True, "4"):
        bad = cosign.PREFIX + (b'{"head":"%s","key_id":"k","rows":%s,"type":"budget-ledger-head"}'
                               % (b"ab" * 32, repr(rows).replace("'", '"').lower().encode()))
        with pytest.raises(ParameterError, match="rows"):
            cosign.parse(bad)
    with pytest.raises(ParameterError, match="64 lowercase hex"):
        cosign.parse(cosign.PREFIX + b'{"head":"abcd","key_id":"k","rows":1,"type":"budget-ledger-head"}')


def test_cosign_head_parameters_are_checked():
    check = default_registry().get("cosign_head").check_params
    assert check({"key_id": "k", "head": "AB" * 32, "rows": 3}) == {"key_id": "k", "head": "ab" * 32, "rows": 3}
    with pytest.raises(ParameterError, match="rows"):
        check({"key_id": "k", "head": "ab" * 32})
    for rows in (0, -2, True, 1.0, "3", 2**63):
        with pytest.raises(ParameterError, match="rows"):
            check({"key_id": "k", "head": "ab" * 32, "rows": rows})
    for head in ("ab" * 16, "ab" * 33, "zz" * 32):
        with pytest.raises(ParameterError, match="head"):
            check({"key_id": "k", "head": head, "rows": 1})
    with pytest.raises(ParameterError, match="unknown"):
        check({"key_id": "k", "head": "ab" * 32, "rows": 1, "message": "00"})


# ------------------------------------------------------------------ cosign_head in one process
class LedgerHeads:
    """A node's head source over a real ledger file and service key, without the network; `corrupt`
    flips a bit of the service's signature on the way (as a tampering channel would)."""

    def __init__(self, db, key, pinned=None, corrupt=False):
        self.db, self.key, self.pinned, self.corrupt = db, key, pinned or key.public_key(), corrupt

    def signed_head(self, rows=0):
        with Ledger(self.db) as led:
            n, head = led.head_after(rows)
        signed = h.sign_head(self.key, head, n)
        if self.corrupt:
            sig = bytearray(signed.signature)
            sig[0] ^= 0x40
            signed = h.SignedHead(signed.body, bytes(sig))
        return h.verify_head(signed, self.pinned, rows=rows or None), signed


@pytest.fixture
def setup(tmp_path, key):
    db = tmp_path / "ledger.sqlite"
    heads = _ledger(db, 4, key)
    shares = deal(G.random_scalar(), 3, 1)
    stores = {}
    for i in range(3):
        stores[i] = ShareStore(KeyStore(tmp_path / f"p{i}", kdf=FAST), "pw", i, cosign_key="cs")
        stores[i].save("cs", shares[i])
    return db, heads, stores, shares[0].group_key


def _cosign(params, stores, budget):
    proto = default_registry().get("cosign_head")
    checked = proto.check_params(params)

    async def program(s):
        ctx = JobContext(session=s, params=checked, data=None, contributors=(), output_to=(0,), release=None,
                         keystore=stores[s.pid], budget=budget.get(s.pid))
        return await proto.run(ctx)

    return run_local(3, program, triples=None, timeout=30)


def test_a_verified_head_is_cosigned(setup, key):
    db, heads, stores, group_key = setup
    budget = {i: LedgerHeads(db, key) for i in range(3)}
    for rows in (2, 4):
        out = _cosign({"key_id": "cs", "head": heads[rows], "rows": rows}, stores, budget)
        assert all(o["signature"] == out[0]["signature"] for o in out)
        statement = bytes.fromhex(out[0]["message"])
        assert cosign.parse(statement) == {"type": "budget-ledger-head", "key_id": "cs", "head": heads[rows],
                                           "rows": rows}
        Ed25519PublicKey.from_public_bytes(group_key).verify(bytes.fromhex(out[0]["signature"]), statement)
        service = h.SignedHead(out[0]["service_statement"].encode(), bytes.fromhex(out[0]["service_signature"]))
        assert h.verify_head(service, key.public_key(), rows=rows).head == heads[rows]


def test_made_up_head_is_refused_by_every_party(setup, key):
    db, heads, stores, _ = setup
    budget = {i: LedgerHeads(db, key) for i in range(3)}
    fake = "5a" * 32
    with pytest.raises(ProtocolAbort) as e:
        _cosign({"key_id": "cs", "head": fake, "rows": 3}, stores, budget)
    msg = str(e.value)
    for p in range(3):
        assert f"party {p} was given head {fake} after 3 rows, but the budget service reports head {heads[3]}" in msg
    # the right head for another row count is a made-up head for this one
    with pytest.raises(ProtocolAbort, match=f"reports head {heads[2]}"):
        _cosign({"key_id": "cs", "head": heads[3], "rows": 2}, stores, budget)


def test_rows_beyond_the_ledger_are_refused(setup, key):
    db, heads, stores, _ = setup
    budget = {i: LedgerHeads(db, key) for i in range(3)}
    with pytest.raises(ProtocolAbort, match="has 4 rows.*not after 5") as e:
        _cosign({"key_id": "cs", "head": heads[4], "rows": 5}, stores, budget)
    assert e.value.party == 0


def test_forged_service_signature_and_wrong_pinned_key_are_refused(setup, key):
    db, heads, stores, _ = setup
    budget = {0: LedgerHeads(db, key), 1: LedgerHeads(db, key, corrupt=True), 2: LedgerHeads(db, key)}
    with pytest.raises(ProtocolAbort, match="party 1 could not get a verified ledger head.*does not verify") as e:
        _cosign({"key_id": "cs", "head": heads[4], "rows": 4}, stores, budget)
    assert e.value.party == 1
    impostor = Ed25519PrivateKey.generate()   # a service signing with a key party 2 does not pin
    budget = {0: LedgerHeads(db, key), 1: LedgerHeads(db, key), 2: LedgerHeads(db, impostor, key.public_key())}
    with pytest.raises(ProtocolAbort, match="party 2 could not .*does not verify") as e:
        _cosign({"key_id": "cs", "head": heads[4], "rows": 4}, stores, budget)
    assert e.value.party == 2


def test_party_without_budget_refuses(setup, key):
    db, heads, stores, _ = setup
    budget = {0: LedgerHeads(db, key), 2: LedgerHeads(db, key)}
    with pytest.raises(ProtocolAbort, match=r"party 1 has no \[budget\] section.*add \[budget\]") as e:
        _cosign({"key_id": "cs", "head": heads[4], "rows": 4}, stores, budget)
    assert e.value.party == 1
