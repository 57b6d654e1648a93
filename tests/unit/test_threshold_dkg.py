"""Pedersen DKG with Feldman commitments over LocalNetwork: honest runs and cheating dealers."""

from __future__ import annotations

import hashlib

import pytest

from mpc.crypto import group as G
from mpc.errors import CheatingDetected, ParameterError
from mpc.threshold.dkg import PedersenDKG, dkg
from mpc.threshold.keys import lagrange_at_zero
from mpc.threshold.local import run_parties


def _reconstruct(shares, subset):
    ids = [p + 1 for p in subset]
    return sum(lagrange_at_zero(ids, p + 1) * shares[p].share for p in subset) % G.L


@pytest.mark.parametrize("n,t", [(2, 1), (3, 1), (5, 2), (4, 0)])
def test_honest_dkg_agrees_and_reconstructs(n, t):
    results = run_parties(n, lambda c: dkg(c, t))
    shares = [r.key_share for r in results]
    assert all(r.excluded == {} for r in results)
    assert len({s.group_key for s in shares}) == 1
    assert len({s.verification_shares for s in shares}) == 1
    x = _reconstruct(shares, list(range(t + 1)))
    assert G.base_mul(x) == shares[0].group_key  # the key the parties agree on is f(0)*B
    assert _reconstruct(shares, list(range(n - t - 1, n))) == x
    for p, s in enumerate(shares):
        assert G.base_mul(s.share) == s.verification_shares[p]


def test_threshold_is_checked():
    with pytest.raises(ParameterError, match="t\\+1"):
        run_parties(3, lambda c: dkg(c, 3))


class WrongShareTo(PedersenDKG):
    """Dealer sending a wrong share to `victim`, and (optionally) revealing the wrong one too."""

    victim = 1
    reveal_honestly = False

    def share_to_send(self, peer, shares):
        return (shares[peer] + 1) % G.L if peer == self.victim else shares[peer]

    def reveal(self, complainer, shares):
        return shares[complainer] if self.reveal_honestly else (shares[complainer] + 1) % G.L


class BadProof(PedersenDKG):
    def deal(self):
        public, shares = super().deal()
        return public[:-1] + bytes([public[-1] ^ 1]), shares


def _run_with_cheater(n, t, cheater, cls):
    return run_parties(n, lambda c: (cls if c.pid == cheater else PedersenDKG)(c, t).run(),
                       return_exceptions=True, timeout=10)


def test_cheating_dealer_is_excluded_and_named():
    results = _run_with_cheater(4, 1, 2, WrongShareTo)
    honest = [results[p] for p in (0, 1, 3)]
    for r in honest:
        assert set(r.excluded) == {2} and "party 1" in r.excluded[2]
    keys = {r.key_share.group_key for r in honest}
    assert len(keys) == 1
    assert isinstance(results[2], CheatingDetected)  # the cheater itself learns it was excluded
    shares = {p: results[p].key_share for p in (0, 1, 3)}
    x = _reconstruct(shares, [0, 3])
    assert G.base_mul(x) == keys.pop()  # the group key is the sum over QUAL only
    assert _reconstruct(shares, [1, 3]) == x  # the victim's share is consistent too


def test_dealer_that_reveals_the_right_share_stays_in():
    class Recovers(WrongShareTo):
        reveal_honestly = True

    results = _run_with_cheater(3, 1, 0, Recovers)
    assert all(r.excluded == {} for r in results)
    shares = [r.key_share for r in results]
    assert _reconstruct(shares, [0, 1]) == _reconstruct(shares, [1, 2])


def test_invalid_proof_of_knowledge_excludes_dealer():
    results = _run_with_cheater(3, 1, 1, BadProof)
    for p in (0, 2):
        assert set(results[p].excluded) == {1} and "proof" in results[p].excluded[1]


def test_equivocating_dealer_is_caught_by_the_echo():
    class Equivocates(PedersenDKG):
        async def broadcast(self, message, size, label):
            if label != "dkg-deal":
                return await super().broadcast(message, size, label)
            comm = self.comm
            other = bytearray(message)
            other[0:32] = G.base_mul(G.random_scalar())  # party 2 gets another constant term
            tag = comm.tag(label)
            await comm.send(1, tag, message)
            await comm.send(2, tag, bytes(other))
            for p in comm.others:
                await comm.recv(p, tag)
            digests = b"".join(hashlib.sha256(m).digest() for m in (message, message, message))
            echo_tag = comm.tag(label + "-echo")
            for p in comm.others:
                await comm.send(p, echo_tag, digests)
            raise RuntimeError("the cheater stops after equivocating")

    results = run_parties(3, lambda c: (Equivocates if c.pid == 0 else PedersenDKG)(c, 1).run(),
                          return_exceptions=True, timeout=5)
    for p in (1, 2):
        assert isinstance(results[p], CheatingDetected), results[p]
        assert results[p].party == 0
