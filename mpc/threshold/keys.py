"""Threshold key material over the Ed25519 group: Shamir shares of a scalar mod L.

A `KeyShare` is one party's view after key generation: its secret share x_i = f(i+1) of the
group secret f(0), and the public data every party holds alike (group key Y = f(0)*B and the
verification shares Y_j = f(j+1)*B of every party). Party p has Shamir identifier p+1 (RFC
9591 identifiers start at 1). `threshold` t means any t+1 shares reconstruct (and t may
collude without learning anything): f has degree t.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Sequence

from mpc.crypto import group as G
from mpc.errors import ParameterError

FORMAT = "mpc-threshold-key-share"
VERSION = 1


def identifier(party: int) -> int:
    """The Shamir x-coordinate (RFC 9591 identifier) of a 0-based party id."""
    return party + 1


def lagrange_at_zero(ids: Sequence[int], i: int) -> int:
    """λ_i with f(0) = Σ_j λ_j f(j) over the identifiers `ids` (mod L)."""
    if len(set(ids)) != len(ids) or i not in ids or any(x % G.L == 0 for x in ids):
        raise ParameterError(f"identifiers must be distinct, non-zero and contain {i}: {list(ids)}")
    num, den = 1, 1
    for j in ids:
        if j != i:
            num = num * j % G.L
            den = den * (j - i) % G.L
    return num * pow(den, -1, G.L) % G.L


def eval_poly(coeffs: Sequence[int], x: int) -> int:
    acc = 0
    for c in reversed(coeffs):
        acc = (acc * x + c) % G.L
    return acc


def check_threshold(n: int, t: int) -> None:
    if not (isinstance(n, int) and isinstance(t, int)) or n < 2 or not 0 <= t < n:
        raise ParameterError(
            f"threshold t={t} with n={n} parties: need 0 <= t < n and n >= 2 "
            "(any t+1 parties suffice; t may collude)")


@dataclass(frozen=True)
class KeyShare:
    """One party's share of a threshold Ed25519 key, with the public verification data."""

    party: int
    n: int
    threshold: int
    share: int
    group_key: bytes
    verification_shares: tuple[bytes, ...]

    def __post_init__(self):
        check_threshold(self.n, self.threshold)
        if not 0 <= self.party < self.n or len(self.verification_shares) != self.n:
            raise ParameterError(f"key share of party {self.party} does not fit n={self.n}")
        if not 0 < self.share < G.L:
            raise ParameterError("secret share out of range")

    @property
    def identifier(self) -> int:
        return identifier(self.party)

    def public(self) -> "PublicKeyInfo":
        return PublicKeyInfo(self.n, self.threshold, self.group_key, self.verification_shares)

    def to_bytes(self) -> bytes:
        return json.dumps({
            "format": FORMAT, "version": VERSION, "party": self.party, "n": self.n,
            "threshold": self.threshold, "share": G.scalar_bytes(self.share).hex(),
            **self.public().to_dict(),
        }, sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> "KeyShare":
        try:
            d = json.loads(data)
            if d.get("format") != FORMAT or d.get("version") != VERSION:
                raise ParameterError(f"not a {FORMAT} v{VERSION} record")
            pub = PublicKeyInfo.from_dict(d)
            return cls(int(d["party"]), pub.n, pub.threshold, G.decode_scalar(bytes.fromhex(d["share"])),
                       pub.group_key, pub.verification_shares)
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ParameterError):
                raise
            raise ParameterError(f"malformed key share record: {exc}") from None


@dataclass(frozen=True)
class PublicKeyInfo:
    """The public part of a threshold key: n, t, group key and every verification share."""

    n: int
    threshold: int
    group_key: bytes
    verification_shares: tuple[bytes, ...]

    def to_dict(self) -> dict:
        return {"n": self.n, "threshold": self.threshold, "group_public_key": self.group_key.hex(),
                "verification_shares": [v.hex() for v in self.verification_shares]}

    @classmethod
    def from_dict(cls, d: dict) -> "PublicKeyInfo":
        try:
            n, t = int(d["n"]), int(d["threshold"])
            check_threshold(n, t)
            key = G.decode_point(bytes.fromhex(d["group_public_key"]), "group public key")
            vs = tuple(G.decode_point(bytes.fromhex(v), f"verification share {j}")
                       for j, v in enumerate(d["verification_shares"]))
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ParameterError):
                raise
            raise ParameterError(f"malformed public key record: {exc}") from None
        if len(vs) != n:
            raise ParameterError(f"public key record lists {len(vs)} verification shares for n={n}")
        return cls(n, t, key, vs)


def deal(secret: int, n: int, t: int, coefficients: Sequence[int] | None = None) -> list[KeyShare]:
    """Trusted-dealer Shamir sharing of `secret` (tests and RFC vectors only: the dealer sees it).

    `coefficients` are f's coefficients 1..t (random from the OS CSPRNG when None).
    """
    check_threshold(n, t)
    coeffs = [secret % G.L] + (list(coefficients) if coefficients is not None
                               else [G.random_scalar() for _ in range(t)])
    if len(coeffs) != t + 1:
        raise ParameterError(f"need {t} coefficients for threshold {t}, got {len(coeffs) - 1}")
    shares = [eval_poly(coeffs, identifier(p)) for p in range(n)]
    vshares = tuple(G.base_mul(s) for s in shares)
    key = G.base_mul(coeffs[0])
    return [KeyShare(p, n, t, shares[p], key, vshares) for p in range(n)]
