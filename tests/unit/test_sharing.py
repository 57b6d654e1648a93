"""Share/reconstruct algebra: identity for every qualified subset, linearity, errors."""

from itertools import combinations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mpc.arith import FIELD, RING
from mpc.crypto import PRG
from mpc.errors import DomainError, InconsistentShares, NotEnoughShares, ParameterError, ShapeError
from mpc.sharing import Shamir, ShamirShare, additive_reconstruct, additive_share
from mpc.sharing.prss import PRSS, PairwiseSeeds, prss_sets

P = FIELD.p
schemes = st.sampled_from([(1, 0), (3, 1), (4, 1), (5, 2), (7, 3), (6, 2)])
values = st.lists(st.integers(0, P - 1), min_size=1, max_size=20)


@settings(max_examples=40, deadline=None)
@given(schemes, values)
def test_shamir_every_qualified_subset_reconstructs(nt, vals):
    n, t = nt
    secret = np.array(vals, dtype=np.uint64)
    sh = Shamir(n, t)
    shares = sh.share(secret, PRG())
    for m in range(t + 1, n + 1):
        for subset in combinations(shares, m):
            assert np.array_equal(sh.reconstruct(list(subset)), secret)


@settings(max_examples=30, deadline=None)
@given(schemes, values, values)
def test_shamir_is_linear(nt, xs, ys):
    n, t = nt
    k = min(len(xs), len(ys))
    x, y = np.array(xs[:k], np.uint64), np.array(ys[:k], np.uint64)
    sh = Shamir(n, t)
    sx, sy = sh.share(x, PRG()), sh.share(y, PRG())
    summed = [ShamirShare(a.party, t, FIELD.add(a.values, b.values)) for a, b in zip(sx, sy)]
    scaled = [ShamirShare(a.party, t, FIELD.scale(a.values, 12345)) for a in sx]
    assert np.array_equal(sh.reconstruct(summed), FIELD.add(x, y))
    assert np.array_equal(sh.reconstruct(scaled), FIELD.scale(x, 12345))


def test_t_shares_reveal_nothing_structurally():
    # With t shares, every candidate secret is consistent: the t shares of two different secrets,
    # drawn with a suitably chosen polynomial, can coincide. Check distribution: t=1 shares uniform.
    sh = Shamir(3, 1)
    s0 = sh.share(np.zeros(20000, np.uint64), PRG())[0].values
    assert abs(float(np.mean(s0.astype(np.float64))) / P - 0.5) < 0.02


def test_shamir_errors():
    sh = Shamir(5, 2)
    x = np.arange(10, dtype=np.uint64)
    shares = sh.share(x, PRG())
    with pytest.raises(NotEnoughShares, match="at least 3"):
        sh.reconstruct(shares[:2])
    bad = list(shares)
    bad[4] = ShamirShare(4, 2, FIELD.add(bad[4].values, np.ones(10, np.uint64)))
    with pytest.raises(InconsistentShares, match=r"parties \[4\]"):
        sh.reconstruct(bad)
    with pytest.raises(ShapeError):
        sh.reconstruct([shares[0], shares[1], ShamirShare(2, 2, np.zeros(3, np.uint64))])
    with pytest.raises(DomainError):
        sh.reconstruct([shares[0], shares[1], "not a share"])
    with pytest.raises(DomainError):  # a ring value that is not a reduced field element
        sh.reconstruct({0: shares[0].values, 1: shares[1].values, 2: np.full(10, 2**63, np.uint64)})
    with pytest.raises(ParameterError):
        Shamir(2, 2)
    with pytest.raises(ParameterError):
        sh.reconstruct([shares[0], shares[0], shares[1]])


def test_shamir_reshare_to_new_party_set():
    old, new = Shamir(5, 2), Shamir(7, 3)
    x = FIELD.random(PRG(), 100)
    moved = old.reshare(old.share(x, PRG())[1:4], new, PRG())
    assert len(moved) == 7 and all(s.t == 3 for s in moved)
    assert np.array_equal(new.reconstruct(moved[2:6]), x)
    assert np.array_equal(new.reconstruct(moved), x)  # all 7 consistent


@pytest.mark.parametrize("domain", [RING, FIELD])
def test_additive_roundtrip_and_errors(domain):
    x = domain.random(PRG(), (4, 5))
    shares = additive_share(x, 3, PRG(), domain)
    assert np.array_equal(additive_reconstruct(shares), x)
    with pytest.raises(NotEnoughShares, match=r"missing parties \[1\]"):
        additive_reconstruct([shares[0], shares[2]])
    other = RING if domain is FIELD else FIELD
    mixed = [shares[0], shares[1], type(shares[2])(2, 3, other, shares[2].values)]
    with pytest.raises(DomainError):
        additive_reconstruct(mixed)
    with pytest.raises(ShapeError):
        additive_reconstruct([shares[0], shares[1], type(shares[2])(2, 3, domain, np.zeros(3, np.uint64))])


def _prss_keys(n, t):
    keys = {B: PRG().bytes(16) for B in prss_sets(n, t)}
    return [PRSS(i, n, t, {B: k for B, k in keys.items() if i in B}) for i in range(n)]


@pytest.mark.parametrize("n,t", [(3, 1), (5, 2), (4, 1)])
def test_prss_random_sharing_is_degree_t(n, t):
    parties = _prss_keys(n, t)
    shares = {i: p.random_share((50,), "lbl") for i, p in enumerate(parties)}
    sh = Shamir(n, t)
    r = sh.reconstruct(shares)  # all n shares consistent with one degree-t polynomial
    assert np.array_equal(sh.reconstruct({i: shares[i] for i in range(t + 1)}), r)
    assert not np.array_equal(r, parties[0].random_share((50,), "other") * 0 + r + 1)  # labels matter
    zeros = {i: p.zero_share_2t((50,), "z") for i, p in enumerate(parties)}
    assert np.all(Shamir(n, 2 * t).reconstruct({i: zeros[i] for i in range(2 * t + 1)}) == 0)


def test_pairwise_zero_sharing_sums_to_zero():
    n = 4
    seeds = {}
    for i in range(n):
        for j in range(i + 1, n):
            seeds[(i, j)] = seeds[(j, i)] = PRG().bytes(16)
    parts = [PairwiseSeeds(i, {j: seeds[(i, j)] for j in range(n) if j != i}) for i in range(n)]
    for domain in (RING, FIELD):
        total = domain.zeros(100)
        for p in parts:
            total = domain.add(total, p.zero_share(domain, 100, "tag"))
        assert np.all(total == 0)
