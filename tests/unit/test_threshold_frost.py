"""FROST signing between parties (LocalNetwork): any t+1 signers, wrong shares named."""

from __future__ import annotations

import pytest

from mpc.crypto import group as G
from mpc.errors import CheatingDetected, ParameterError, ProtocolAbort
from mpc.threshold import frost
from mpc.threshold.dkg import dkg
from mpc.threshold.keys import deal
from mpc.threshold.local import run_parties
from mpc.threshold.signing import FrostSigner, frost_sign


def _sign(keys, signers, message, cls=FrostSigner, cheater=None, **kw):
    return run_parties(len(keys), lambda c: (cls if c.pid == cheater else FrostSigner)(c, keys[c.pid], message).run(),
                       parties=signers, **kw)


@pytest.mark.parametrize("signers", [[0, 1], [0, 2], [1, 2], [0, 1, 2]])
def test_any_t_plus_1_signers_produce_an_ed25519_signature(signers):
    keys = deal(G.random_scalar(), 3, 1)
    sigs = _sign(keys, signers, b"job result 42")
    assert len(set(sigs)) == 1
    assert frost.verify_signature(keys[0].group_key, b"job result 42", sigs[0])


def test_dkg_then_sign():
    keys = [r.key_share for r in run_parties(5, lambda c: dkg(c, 2))]
    sig = _sign(keys, [0, 3, 4], b"ledger head")[0]
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    Ed25519PublicKey.from_public_bytes(keys[0].group_key).verify(sig, b"ledger head")  # raises if invalid


def test_too_few_signers_is_refused():
    keys = deal(G.random_scalar(), 5, 2)
    with pytest.raises(ParameterError, match="t\\+1"):
        _sign(keys, [0, 1], b"m")


class WrongShare(FrostSigner):
    def signature_share(self, nonces, commitments):
        return (super().signature_share(nonces, commitments) + 1) % G.L


def test_wrong_signature_share_is_detected_and_attributed():
    keys = deal(G.random_scalar(), 4, 2)
    results = _sign(keys, [0, 1, 3], b"m", cls=WrongShare, cheater=3, return_exceptions=True, timeout=5)
    for p in (0, 1):
        assert isinstance(results[p], CheatingDetected) and results[p].party == 3


def test_signer_with_another_message_is_named():
    keys = deal(G.random_scalar(), 3, 1)

    async def prog(c):
        return await frost_sign(c, keys[c.pid], b"other" if c.pid == 1 else b"m")

    results = run_parties(3, prog, parties=[0, 1], return_exceptions=True, timeout=5)
    assert isinstance(results[0], ProtocolAbort) and results[0].party == 1


def test_invalid_commitment_is_named():
    keys = deal(G.random_scalar(), 3, 1)

    async def prog(c):
        if c.pid == 2:
            await c.exchange(c.tag("frost-commit"), {0: G.IDENTITY * 2 + frost.H4(b"m")}, [0])
            return None
        return await frost_sign(c, keys[c.pid], b"m")

    results = run_parties(3, prog, parties=[0, 2], return_exceptions=True, timeout=5)
    assert isinstance(results[0], CheatingDetected) and results[0].party == 2
