"""RFC 9591 Appendix E.1 known-answer test: FROST(Ed25519, SHA-512), every intermediate value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mpc.crypto import group as G
from mpc.threshold import frost
from mpc.threshold.keys import deal

V = json.loads((Path(__file__).parent / "frost_ed25519_rfc9591.json").read_text())
MSG = bytes.fromhex(V["inputs"]["message"])
GROUP_KEY = bytes.fromhex(V["inputs"]["group_public_key"])


def sc(h: str) -> int:
    return G.decode_scalar(bytes.fromhex(h))


def test_vector_source_is_cited():
    assert "RFC 9591" in V["source"] and V["config"]["name"] == "FROST(Ed25519, SHA-512)"


def test_key_shares_and_group_key():
    secret = sc(V["inputs"]["group_secret_key"])
    coeffs = [sc(c) for c in V["inputs"]["share_polynomial_coefficients"]]
    shares = deal(secret, n=3, t=1, coefficients=coeffs)
    assert G.base_mul(secret) == GROUP_KEY
    assert all(s.group_key == GROUP_KEY for s in shares)
    for entry in V["inputs"]["participant_shares"]:
        assert shares[entry["identifier"] - 1].share == sc(entry["participant_share"])


def _round_one():
    shares = {e["identifier"]: sc(e["participant_share"]) for e in V["inputs"]["participant_shares"]}
    nonces, commitments = {}, []
    for out in V["round_one_outputs"]["outputs"]:
        i = out["identifier"]
        n, c = frost.commit(shares[i], bytes.fromhex(out["hiding_nonce_randomness"]),
                            bytes.fromhex(out["binding_nonce_randomness"]), identifier=i)
        nonces[i] = n
        commitments.append(c)
    return shares, nonces, commitments


def test_round_one_nonces_and_commitments():
    _, nonces, commitments = _round_one()
    by_id = {c.identifier: c for c in commitments}
    for out in V["round_one_outputs"]["outputs"]:
        i = out["identifier"]
        assert nonces[i].hiding == sc(out["hiding_nonce"])
        assert nonces[i].binding == sc(out["binding_nonce"])
        assert by_id[i].hiding.hex() == out["hiding_nonce_commitment"]
        assert by_id[i].binding.hex() == out["binding_nonce_commitment"]


def test_binding_factors():
    _, _, commitments = _round_one()
    inputs = frost.binding_factor_inputs(GROUP_KEY, commitments, MSG)
    factors = frost.compute_binding_factors(GROUP_KEY, commitments, MSG)
    for out in V["round_one_outputs"]["outputs"]:
        i = out["identifier"]
        assert inputs[i].hex() == out["binding_factor_input"]
        assert factors[i] == sc(out["binding_factor"])


def test_signature_shares_aggregate_and_verify():
    shares, nonces, commitments = _round_one()
    z = {}
    for out in V["round_two_outputs"]["outputs"]:
        i = out["identifier"]
        z[i] = frost.sign(i, shares[i], GROUP_KEY, nonces[i], MSG, commitments)
        assert z[i] == sc(out["sig_share"])
        assert frost.verify_signature_share(i, G.base_mul(shares[i]), commitments, z[i], GROUP_KEY, MSG)
    sig = frost.aggregate(commitments, MSG, GROUP_KEY, list(z.values()))
    assert sig.hex() == V["final_output"]["sig"]
    assert frost.verify_signature(GROUP_KEY, MSG, sig)  # an ordinary RFC 8032 verifier accepts it
    assert not frost.verify_signature(GROUP_KEY, MSG + b"!", sig)


@pytest.mark.parametrize("who", [1, 3])
def test_wrong_share_fails_share_verification(who):
    shares, nonces, commitments = _round_one()
    z = frost.sign(who, shares[who], GROUP_KEY, nonces[who], MSG, commitments)
    assert not frost.verify_signature_share(who, G.base_mul(shares[who]), commitments, (z + 1) % G.L,
                                            GROUP_KEY, MSG)
