"""Threshold ElGamal: point and hybrid encryption, decryption by any t+1, wrong partials named."""

from __future__ import annotations

import pytest

from mpc.crypto import group as G
from mpc.errors import CheatingDetected, NotEnoughShares, ParameterError
from mpc.threshold import elgamal as E
from mpc.threshold.keys import deal
from mpc.threshold.local import run_parties


def _decrypt(keys, parties, c1s, cheater=None, **kw):
    class Wrong(E.ThresholdDecryptor):
        def partials(self, c1s):
            good = super().partials(c1s)
            return G.mul(2, good[:32]) + good[32:]  # D_i doubled, proof left as it was

    return run_parties(len(keys), lambda c: (Wrong if c.pid == cheater else E.ThresholdDecryptor)(
        c, keys[c.pid]).run(c1s), parties=parties, **kw)


@pytest.mark.parametrize("parties", [[0, 1], [1, 2], [0, 1, 2]])
def test_point_encryption_round_trip(parties):
    keys = deal(G.random_scalar(), 3, 1)
    M = G.hash_to_group(b"message", b"test")
    ct = E.encrypt_point(keys[0].group_key, M)
    out = _decrypt(keys, parties, [ct.c1])
    assert all(E.decrypt_point(ct, r.shared[0]) == M for r in out)


def test_hybrid_round_trip_many_ciphertexts():
    keys = deal(G.random_scalar(), 5, 2)
    msgs = [b"", b"short", bytes(range(256)) * 4]
    blobs = [E.encrypt(keys[0].group_key, m, aad=b"job-7") for m in msgs]
    out = _decrypt(keys, [0, 2, 4], [E.hybrid_c1(b) for b in blobs])[1]
    assert [E.decrypt_hybrid(b, k, aad=b"job-7") for b, k in zip(blobs, out.shared)] == msgs
    with pytest.raises(ParameterError, match="authentication"):
        E.decrypt_hybrid(blobs[1], out.shared[1], aad=b"job-8")
    tampered = blobs[1][:-1] + bytes([blobs[1][-1] ^ 1])
    with pytest.raises(ParameterError, match="authentication"):
        E.decrypt_hybrid(tampered, out.shared[1], aad=b"job-7")


def test_wrong_partial_is_rejected_and_named_when_enough_remain():
    keys = deal(G.random_scalar(), 4, 1)
    blob = E.encrypt(keys[0].group_key, b"secret key material")
    out = _decrypt(keys, [0, 1, 3], [E.hybrid_c1(blob)], cheater=3)
    for p in (0, 1):
        assert set(out[p].rejected) == {3} and "Chaum-Pedersen" in out[p].rejected[3]
        assert E.decrypt_hybrid(blob, out[p].shared[0]) == b"secret key material"


def test_wrong_partial_without_enough_honest_raises_naming_the_party():
    keys = deal(G.random_scalar(), 3, 1)
    blob = E.encrypt(keys[0].group_key, b"x")
    out = _decrypt(keys, [0, 2], [E.hybrid_c1(blob)], cheater=2, return_exceptions=True, timeout=5)
    assert isinstance(out[0], CheatingDetected) and out[0].party == 2


def test_combine_needs_t_plus_1():
    keys = deal(G.random_scalar(), 3, 2)
    ct = E.encrypt_point(keys[0].group_key, G.BASE)
    partials = {p: [E.partial_decrypt(keys[p], ct.c1)] for p in (0, 1)}
    with pytest.raises(NotEnoughShares):
        E.combine(keys[0].public(), [ct.c1], partials)
    partials[2] = [E.partial_decrypt(keys[2], ct.c1)]
    assert E.decrypt_point(ct, E.combine(keys[0].public(), [ct.c1], partials).shared[0]) == G.BASE


def test_malformed_ciphertexts_are_refused():
    with pytest.raises(ParameterError):
        E.hybrid_c1(b"\x01" + bytes(40))
    with pytest.raises(ParameterError):
        E.Ciphertext.from_bytes(G.IDENTITY * 2)
