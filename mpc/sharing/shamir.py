"""Shamir t-of-n secret sharing over GF(2^61-1), vectorised.

What it computes: party i (0-based) holds f(i+1), where f is a random polynomial of degree t
with f(0) = secret, for every element of an array at once. Sharing is one Vandermonde
product V (n x (t+1)) @ C ((t+1) x N), C = [secret; t random rows]. Reconstruction from any
m >= t+1 shares is a cached Lagrange combination at 0; with m > t+1 the extra shares are
checked against the polynomial of the first t+1 (one more small matmul), and disagreement
raises `InconsistentShares` naming the parties. Resharing moves a sharing to a new party set
(and/or threshold): each of t+1 old holders shares λ_i·s_i, and each new holder adds what it
receives.

Security: perfect privacy against any t parties; t+1 reconstruct. Multiplication of shares
(degree 2t) needs n >= 2t+1 (honest majority), checked by the protocols that multiply.
Cost: sharing N elements: t·N random elements and n·(t+1)·N field products; reconstruction
(t+1)·N products.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from mpc.arith.field import FIELD
from mpc.arith.poly import lagrange_coefficients, lagrange_matrix, vandermonde
from mpc.errors import DomainError, InconsistentShares, NotEnoughShares, ParameterError, ShapeError


@dataclass(frozen=True)
class ShamirShare:
    """Party `party`'s share (the polynomial at x = party+1) under a t-of-n scheme."""

    party: int
    t: int
    values: np.ndarray


class Shamir:
    """A t-of-n Shamir scheme: any t+1 of the n parties reconstruct, t learn nothing.

    Party i's evaluation point is i+1 (0 is the secret).
    """

    def __init__(self, n: int, t: int):
        if not isinstance(n, int) or not isinstance(t, int):
            raise ParameterError(f"n and t must be integers, got n={n!r}, t={t!r}")
        if t < 0 or n < t + 1:
            raise ParameterError(f"Shamir needs 0 <= t and n >= t+1 (any t+1 reconstruct), got n={n}, t={t}")
        if n >= FIELD.p:
            raise ParameterError("too many parties for the field")
        self.n = n
        self.t = t

    def __repr__(self) -> str:
        return f"Shamir(n={self.n}, t={self.t})"

    @staticmethod
    def point(party: int) -> int:
        return party + 1

    def share(self, secret: np.ndarray, prg) -> list[ShamirShare]:
        """Shares of reduced field elements `secret` for parties 0..n-1."""
        secret = FIELD.check(secret, "secret")
        table = self.share_matrix(secret, prg)
        return [ShamirShare(i, self.t, table[i].reshape(secret.shape)) for i in range(self.n)]

    def share_matrix(self, secret: np.ndarray, prg) -> np.ndarray:
        """All n shares as one (n, N) array: V @ [secret; random coefficients]."""
        flat = secret.reshape(-1)
        coeffs = np.empty((self.t + 1, flat.size), dtype=np.uint64)
        coeffs[0] = flat
        if self.t:
            coeffs[1:] = FIELD.random(prg, (self.t, flat.size))
        V = vandermonde(tuple(self.point(i) for i in range(self.n)), self.t)
        return FIELD.matmul(V, coeffs)

    def reconstruct(self, shares: Sequence[ShamirShare] | Mapping[int, np.ndarray]) -> np.ndarray:
        """The secret from any >= t+1 shares; more than t+1 are checked for consistency."""
        parties, values = self._collect(shares)
        if len(parties) < self.t + 1:
            raise NotEnoughShares(
                f"{self}: reconstruction needs at least {self.t + 1} shares, got {len(parties)} (parties {parties})"
            )
        shape = values[0].shape
        base = parties[: self.t + 1]
        base_vals = [v.reshape(-1) for v in values[: self.t + 1]]
        xs = tuple(self.point(p) for p in base)
        secret = FIELD.lincomb(lagrange_coefficients(xs, 0), base_vals)
        if len(parties) > self.t + 1:
            extra = parties[self.t + 1:]
            L = lagrange_matrix(xs, tuple(self.point(p) for p in extra))
            predicted = FIELD.matmul(L, np.stack(base_vals))
            actual = np.stack([v.reshape(-1) for v in values[self.t + 1:]])
            bad = [extra[k] for k in range(len(extra)) if not np.array_equal(predicted[k], actual[k])]
            if bad:
                raise InconsistentShares(
                    f"{self}: shares of parties {bad} do not lie on the degree-{self.t} polynomial through "
                    f"the shares of parties {list(base)}; at least one of these parties' shares is wrong"
                )
        return secret.reshape(shape)

    def _collect(self, shares) -> tuple[list[int], list[np.ndarray]]:
        if isinstance(shares, Mapping):
            items = sorted(shares.items())
        else:
            items = []
            for s in shares:
                if not isinstance(s, ShamirShare):
                    raise DomainError(f"expected ShamirShare, got {type(s).__name__}")
                if s.t != self.t:
                    raise ParameterError(f"share of party {s.party} is of degree {s.t}, not {self.t}")
                items.append((s.party, s.values))
            items.sort(key=lambda kv: kv[0])
        parties = [int(p) for p, _ in items]
        if len(set(parties)) != len(parties):
            raise ParameterError(f"duplicate shares for parties {parties}")
        for p in parties:
            if not 0 <= p < self.n:
                raise ParameterError(f"party {p} is not one of the {self.n} parties of {self}")
        values = [FIELD.check(v, f"share of party {p}") for p, v in items]
        for p, v in zip(parties, values):
            if v.shape != values[0].shape:
                raise ShapeError(f"share of party {p} has shape {v.shape}, not {values[0].shape}")
        return parties, values

    # ---------------------------------------------------------------- resharing
    def reshare_contribution(self, party: int, holders: Sequence[int], value: np.ndarray,
                             new: "Shamir", prg) -> np.ndarray:
        """What old `party` (one of the t+1 `holders`) sends: new shares of λ_party·share, (new.n, N)."""
        holders = tuple(sorted(holders))
        if len(holders) != self.t + 1 or party not in holders:
            raise ParameterError(f"resharing needs exactly t+1 = {self.t + 1} distinct holders including {party}")
        lam = lagrange_coefficients(tuple(self.point(h) for h in holders), 0)[holders.index(party)]
        return new.share_matrix(FIELD.scale(value.reshape(-1), lam), prg)

    @staticmethod
    def reshare_combine(contributions: Sequence[np.ndarray]) -> np.ndarray:
        """A new holder's share: the sum of what the t+1 old holders sent it."""
        total = contributions[0]
        for c in contributions[1:]:
            total = FIELD.add(total, c)
        return total

    def reshare(self, shares: Sequence[ShamirShare], new: "Shamir", prg) -> list[ShamirShare]:
        """Move a sharing to `new` (another n and/or t) using the first t+1 of `shares`."""
        parties, values = self._collect(shares)
        if len(parties) < self.t + 1:
            raise NotEnoughShares(f"resharing needs {self.t + 1} shares, got {len(parties)}")
        holders = parties[: self.t + 1]
        shape = values[0].shape
        contribs = [self.reshare_contribution(p, holders, v, new, prg) for p, v in zip(holders, values)]
        out = []
        for j in range(new.n):
            out.append(ShamirShare(j, new.t, self.reshare_combine([c[j] for c in contribs]).reshape(shape)))
        return out
