"""Thin helpers over libsodium's prime-order Ed25519 group (PyNaCl low-level bindings) for base OT.

No curve arithmetic is written here: every operation is a libsodium call. Points are 32-byte
encodings of elements of the prime-order subgroup (order L = 2^252 + ...); scalars are 32-byte
little-endian integers mod L. Points received from the network go through `check_point`.
"""

from __future__ import annotations

import hashlib
import os

from nacl import bindings as _s
from nacl.exceptions import RuntimeError as _NaclRuntimeError

from mpc.errors import ParameterError

POINT_BYTES = 32
SCALAR_BYTES = 32


def random_scalar() -> bytes:
    """A uniform nonzero scalar mod L (64 bytes from the OS CSPRNG, reduced by libsodium)."""
    while True:
        s = _s.crypto_core_ed25519_scalar_reduce(os.urandom(64))
        if any(s):
            return s


def base_mul(scalar: bytes) -> bytes:
    """scalar * B for the standard base point."""
    return _s.crypto_scalarmult_ed25519_base_noclamp(scalar)


def mul(scalar: bytes, point: bytes) -> bytes:
    """scalar * point (libsodium refuses small-order results)."""
    return _s.crypto_scalarmult_ed25519_noclamp(scalar, point)


def add(p: bytes, q: bytes) -> bytes:
    return _s.crypto_core_ed25519_add(p, q)


def sub(p: bytes, q: bytes) -> bytes:
    return _s.crypto_core_ed25519_sub(p, q)


def is_valid(point: bytes) -> bool:
    """On the curve, canonical, in the prime-order subgroup and not of small order."""
    return len(point) == POINT_BYTES and bool(_s.crypto_core_ed25519_is_valid_point(point))


def hash_to_point(*parts: bytes) -> bytes:
    """A point nobody knows the discrete log of: SHA-512 of the parts through libsodium's
    Elligator 2 map (`crypto_core_ed25519_from_uniform`, which clears the cofactor)."""
    h = hashlib.sha512()
    for p in parts:
        h.update(len(p).to_bytes(4, "little"))
        h.update(p)
    point = _s.crypto_core_ed25519_from_uniform(h.digest()[:32])
    if not is_valid(point):  # probability ~2^-250; refuse rather than continue
        raise ParameterError("hash_to_point gave an invalid point; use another label")
    return point


def check_point(point: bytes) -> bool:
    """True if `point` is a valid prime-order-subgroup element (for untrusted network input)."""
    try:
        return is_valid(point)
    except (_NaclRuntimeError, TypeError, ValueError):
        return False
