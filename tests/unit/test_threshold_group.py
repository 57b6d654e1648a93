"""The Ed25519 group wrapper, Shamir helpers over L, and the NIZK proofs."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mpc.crypto import group as G
from mpc.errors import ParameterError
from mpc.threshold import proofs
from mpc.threshold.keys import KeyShare, deal, eval_poly, lagrange_at_zero

scalars = st.integers(min_value=1, max_value=G.L - 1)


@settings(max_examples=15, deadline=None)
@given(scalars, scalars)
def test_scalar_mult_is_a_homomorphism(a, b):
    assert G.add(G.base_mul(a), G.base_mul(b)) == G.base_mul(a + b)
    assert G.mul(a, G.base_mul(b)) == G.base_mul(a * b)
    assert G.sub(G.base_mul(a), G.base_mul(a)) == G.IDENTITY


def test_identity_and_zero():
    P = G.base_mul(7)
    assert G.mul(0, P) == G.IDENTITY and G.base_mul(G.L) == G.IDENTITY
    assert G.add(P, G.IDENTITY) == P and G.mul(5, G.IDENTITY) == G.IDENTITY


def test_decode_point_refuses_identity_small_order_and_garbage():
    with pytest.raises(G.InvalidPoint):
        G.decode_point(G.IDENTITY)
    small_order = bytes.fromhex("ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")  # order 2
    with pytest.raises(G.InvalidPoint):
        G.decode_point(small_order)
    with pytest.raises(G.InvalidPoint):
        G.decode_point(b"\x02" * 31)
    assert G.decode_point(G.BASE) == G.BASE


def test_hash_to_group_is_deterministic_domain_separated_and_prime_order():
    a = G.hash_to_group(b"alice", b"dst1")
    assert a == G.hash_to_group(b"alice", b"dst1") != G.hash_to_group(b"alice", b"dst2")
    assert G.is_valid_point(a)
    batch = G.hash_many([b"alice", b"bob"], b"dst1")
    assert G.split_points(batch) == [a, G.hash_to_group(b"bob", b"dst1")]


def test_mul_many_matches_mul_and_names_a_bad_point():
    pts = G.hash_many([os.urandom(8) for _ in range(5)], b"t")
    k = G.random_scalar()
    assert G.split_points(G.mul_many(k, pts)) == [G.mul(k, p) for p in G.split_points(pts)]
    bad = pts[:64] + G.IDENTITY + pts[96:]
    with pytest.raises(G.InvalidPoint, match="point 2"):
        G.mul_many(k, bad)
    with pytest.raises(ParameterError):
        G.mul_many(k, pts[:-1])


def test_multi_mul_and_poly_eval_points():
    coeffs = [G.random_scalar() for _ in range(4)]
    C = [G.base_mul(c) for c in coeffs]
    for x in (1, 2, 9):
        assert G.poly_eval_points(C, x) == G.base_mul(eval_poly(coeffs, x))
    assert G.multi_mul([2, 3], [C[0], C[1]]) == G.base_mul(2 * coeffs[0] + 3 * coeffs[1])


def test_decode_scalar_refuses_non_canonical():
    with pytest.raises(ParameterError):
        G.decode_scalar(G.L.to_bytes(32, "little"))
    with pytest.raises(ParameterError):
        G.decode_scalar(b"\x01" * 31)


@settings(max_examples=10, deadline=None)
@given(st.integers(2, 7), st.data())
def test_any_t_plus_1_shares_reconstruct(n, data):
    t = data.draw(st.integers(0, n - 1))
    secret = G.random_scalar()
    shares = deal(secret, n, t)
    subset = sorted(data.draw(st.lists(st.integers(0, n - 1), min_size=t + 1, max_size=t + 1, unique=True)))
    ids = [s + 1 for s in subset]
    assert sum(lagrange_at_zero(ids, s + 1) * shares[s].share for s in subset) % G.L == secret


def test_key_share_serialization_round_trip_and_refusal():
    share = deal(G.random_scalar(), 3, 1)[2]
    assert KeyShare.from_bytes(share.to_bytes()) == share
    with pytest.raises(ParameterError):
        KeyShare.from_bytes(b'{"format": "something-else"}')
    with pytest.raises(ParameterError):
        KeyShare.from_bytes(share.to_bytes().replace(b'"threshold": 1', b'"threshold": 3'))


def test_dlog_proof():
    x = G.random_scalar()
    pi = proofs.prove_dlog(x, b"ctx")
    assert proofs.verify_dlog(G.base_mul(x), pi, b"ctx")
    assert not proofs.verify_dlog(G.base_mul(x), pi, b"other context")
    assert not proofs.verify_dlog(G.base_mul(x + 1), pi, b"ctx")
    assert not proofs.verify_dlog(G.base_mul(x), pi[:-1], b"ctx")


def test_dleq_proof_detects_a_wrong_exponent():
    x = G.random_scalar()
    H = G.hash_to_group(b"h", b"t")
    pi = proofs.prove_dleq(x, H, b"ctx")
    assert proofs.verify_dleq(G.base_mul(x), H, G.mul(x, H), pi, b"ctx")
    assert not proofs.verify_dleq(G.base_mul(x), H, G.mul(x + 1, H), pi, b"ctx")
    assert not proofs.verify_dleq(G.base_mul(x), H, G.mul(x, H), pi, b"ctx2")
