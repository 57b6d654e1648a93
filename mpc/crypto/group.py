"""The prime-order Ed25519 group (order L = 2^252 + 27742317777372353535851937790883648493).

Every group operation is libsodium's, reached through PyNaCl's low-level cffi bindings
(`crypto_core_ed25519_*`, `crypto_scalarmult_ed25519_*_noclamp`); nothing here does curve
arithmetic by hand. Scalars are Python ints in [0, L) (arithmetic mod L is plain integer
arithmetic); points are their 32-byte RFC 8032 encodings (`bytes`), batches of points are
contiguous `bytes` of 32 * n.

Points from the network are untrusted: `decode_point` accepts only canonical encodings of
elements of the prime-order subgroup other than the identity (libsodium's
`crypto_core_ed25519_is_valid_point`), and every variable-base multiplication re-checks this
inside libsodium. Hashing to the group uses `crypto_core_ed25519_from_uniform` (Elligator 2
followed by cofactor clearing) on a domain-separated SHA-512 digest.

Cost (libsodium ref10, one core): base multiplication ~20 us, variable-base multiplication
~50 us plus ~50 us for libsodium's subgroup check of the input point, from_uniform ~20 us;
the X25519 ladder on the same curve in Montgomery form (`x25519_many`) skips that check.
The batch helpers call libsodium in a tight loop over preallocated buffers; cffi releases
the GIL during each call, so parties in different threads use different cores.
"""

from __future__ import annotations

import hashlib
import os
from typing import Iterable, Sequence

from nacl._sodium import ffi, lib

from mpc.errors import ParameterError

L = 2**252 + 27742317777372353535851937790883648493
POINT_BYTES = 32
SCALAR_BYTES = 32
IDENTITY = b"\x01" + bytes(31)


class InvalidPoint(ParameterError):
    """Bytes that are not the encoding of a prime-order, non-identity Ed25519 point."""


# ----------------------------------------------------------------------------- scalars
def scalar_bytes(k: int) -> bytes:
    """The 32-byte little-endian encoding of a scalar (RFC 9591 SerializeScalar)."""
    return (k % L).to_bytes(SCALAR_BYTES, "little")


def decode_scalar(data: bytes) -> int:
    """A scalar from its canonical 32-byte encoding (refuses values >= L)."""
    if len(data) != SCALAR_BYTES:
        raise ParameterError(f"a scalar is {SCALAR_BYTES} bytes, got {len(data)}")
    k = int.from_bytes(data, "little")
    if k >= L:
        raise ParameterError("scalar encoding is not canonical (>= group order)")
    return k


def scalar_from_wide(data: bytes) -> int:
    """A scalar from a (64-byte) hash output: little-endian integer reduced mod L."""
    return int.from_bytes(data, "little") % L


def random_scalar() -> int:
    """A uniform non-zero scalar from the OS CSPRNG (64 bytes reduced: bias < 2^-259)."""
    while True:
        k = int.from_bytes(os.urandom(64), "little") % L
        if k:
            return k


def scalar_inv(k: int) -> int:
    if k % L == 0:
        raise ParameterError("zero has no inverse mod L")
    return pow(k, -1, L)


# ----------------------------------------------------------------------------- points
def is_valid_point(p: bytes) -> bool:
    """True for canonical encodings of non-identity prime-order points."""
    return len(p) == POINT_BYTES and lib.crypto_core_ed25519_is_valid_point(p) == 1


def decode_point(data: bytes, what: str = "point") -> bytes:
    """`data` if it encodes a prime-order non-identity point, else `InvalidPoint`."""
    data = bytes(data)
    if not is_valid_point(data):
        raise InvalidPoint(f"{what} is not a valid Ed25519 prime-order group element")
    return data


def base_mul(k: int) -> bytes:
    """k * B for the standard base point B."""
    k %= L
    if k == 0:
        return IDENTITY
    out = ffi.new("unsigned char[]", POINT_BYTES)
    if lib.crypto_scalarmult_ed25519_base_noclamp(out, scalar_bytes(k)) != 0:
        raise ParameterError("base multiplication failed")
    return bytes(out)


def mul(k: int, p: bytes) -> bytes:
    """k * P. P must be the identity or a valid prime-order point (checked by libsodium)."""
    k %= L
    if k == 0 or p == IDENTITY:
        return IDENTITY
    out = ffi.new("unsigned char[]", POINT_BYTES)
    if lib.crypto_scalarmult_ed25519_noclamp(out, scalar_bytes(k), p) != 0:
        raise InvalidPoint("scalar multiplication refused the point (not in the prime-order subgroup)")
    return bytes(out)


def add(p: bytes, q: bytes) -> bytes:
    out = ffi.new("unsigned char[]", POINT_BYTES)
    if lib.crypto_core_ed25519_add(out, p, q) != 0:
        raise InvalidPoint("point addition refused an operand (not on the curve)")
    return bytes(out)


def sub(p: bytes, q: bytes) -> bytes:
    out = ffi.new("unsigned char[]", POINT_BYTES)
    if lib.crypto_core_ed25519_sub(out, p, q) != 0:
        raise InvalidPoint("point subtraction refused an operand (not on the curve)")
    return bytes(out)


def add_all(points: Iterable[bytes]) -> bytes:
    acc = IDENTITY
    for p in points:
        acc = add(acc, p)
    return acc


def multi_mul(scalars: Sequence[int], points: Sequence[bytes]) -> bytes:
    """sum_i k_i * P_i (libsodium has no multi-scalar multiplication: one call per term)."""
    if len(scalars) != len(points):
        raise ParameterError(f"{len(scalars)} scalars for {len(points)} points")
    return add_all(mul(k, p) for k, p in zip(scalars, points))


def poly_eval_points(commitments: Sequence[bytes], x: int) -> bytes:
    """sum_k x^k * C_k: the Feldman commitment of a polynomial evaluated at x."""
    acc = IDENTITY
    for c in reversed(commitments):  # Horner: acc = x * acc + C_k
        acc = add(mul(x, acc), c)
    return acc


# ----------------------------------------------------------------------------- hashing
def hash_to_group(data: bytes, dst: bytes) -> bytes:
    """A point from `data` under domain tag `dst` (SHA-512 digest -> from_uniform)."""
    out = ffi.new("unsigned char[]", POINT_BYTES)
    lib.crypto_core_ed25519_from_uniform(out, _uniform(data, dst))
    return bytes(out)


def _uniform(data: bytes, dst: bytes) -> bytes:
    h = hashlib.sha512()
    h.update(len(dst).to_bytes(2, "little") + dst)
    h.update(data)
    return h.digest()[:32]


# ----------------------------------------------------------------------------- batches
def hash_many(items: Sequence[bytes], dst: bytes) -> bytes:
    """hash_to_group of every item, concatenated (32 bytes per item)."""
    n = len(items)
    out = ffi.new("unsigned char[]", POINT_BYTES * n)
    from_uniform = lib.crypto_core_ed25519_from_uniform
    for i, item in enumerate(items):
        from_uniform(out + POINT_BYTES * i, _uniform(item, dst))
    return ffi.buffer(out)[:]


def mul_many(k: int, points: bytes) -> bytes:
    """k * P_i for each 32-byte point of `points`, concatenated; refuses any invalid point.

    Raises `InvalidPoint` naming the first index libsodium refused (not prime order,
    identity, or not canonical): such input can only come from a deviating peer.
    """
    if len(points) % POINT_BYTES:
        raise ParameterError(f"a batch of points is a multiple of {POINT_BYTES} bytes, got {len(points)}")
    k %= L
    if k == 0:
        raise ParameterError("multiplying a batch by zero")
    n = len(points) // POINT_BYTES
    out = ffi.new("unsigned char[]", POINT_BYTES * n)
    src = ffi.from_buffer(points)
    kb = scalar_bytes(k)
    smult = lib.crypto_scalarmult_ed25519_noclamp
    bad = 0
    for i in range(n):
        bad |= smult(out + POINT_BYTES * i, kb, src + POINT_BYTES * i)
    if bad:
        first = next((i for i in range(n)
                      if not is_valid_point(points[POINT_BYTES * i: POINT_BYTES * (i + 1)])), -1)
        raise InvalidPoint(f"point {first} of the batch is not a valid prime-order group element")
    return ffi.buffer(out)[:]


# ----------------------------------------------------------------------------- Montgomery form
# The same curve in Montgomery form, where libsodium's X25519 ladder (`crypto_scalarmult`)
# multiplies without the subgroup check the Edwards API adds to every variable-base product
# (half its cost). For commutative blinding (PSI) this form is enough: clamp(a)·(clamp(b)·P) =
# clamp(b)·(clamp(a)·P), points are x-only 32-byte u-coordinates, clamping clears the cofactor,
# and X25519 is defined (and twist-secure) on every 32-byte input.
def hash_many_montgomery(items: Sequence[bytes], dst: bytes) -> bytes:
    """The X25519 u-coordinate of hash_to_group(item) for every item, concatenated.

    libsodium's Edwards-to-Montgomery map (`crypto_sign_ed25519_pk_to_curve25519`) also checks
    that the hashed point is in the prime-order subgroup (it always is: from_uniform clears the
    cofactor).
    """
    n = len(items)
    out = ffi.new("unsigned char[]", POINT_BYTES * n)
    tmp = ffi.new("unsigned char[]", POINT_BYTES)
    from_uniform = lib.crypto_core_ed25519_from_uniform
    to_x = lib.crypto_sign_ed25519_pk_to_curve25519
    for i, item in enumerate(items):
        from_uniform(tmp, _uniform(item, dst))
        if to_x(out + POINT_BYTES * i, tmp) != 0:  # pragma: no cover - from_uniform's output is valid
            raise InvalidPoint(f"hashed point {i} could not be mapped to Montgomery form")
    return ffi.buffer(out)[:]


def x25519_scalar() -> bytes:
    """A fresh X25519 secret scalar (32 bytes from the OS CSPRNG; libsodium clamps it)."""
    return os.urandom(SCALAR_BYTES)


def x25519_many(k: bytes, points: bytes) -> bytes:
    """X25519(k, u_i) for every 32-byte u-coordinate of `points`, concatenated.

    Raises `InvalidPoint` naming the first input of small order (libsodium refuses an all-zero
    result): such input can only come from a deviating peer.
    """
    if len(points) % POINT_BYTES:
        raise ParameterError(f"a batch of points is a multiple of {POINT_BYTES} bytes, got {len(points)}")
    if len(k) != SCALAR_BYTES:
        raise ParameterError(f"an X25519 scalar is {SCALAR_BYTES} bytes")
    n = len(points) // POINT_BYTES
    out = ffi.new("unsigned char[]", POINT_BYTES * n)
    src = ffi.from_buffer(points)
    smult = lib.crypto_scalarmult
    for i in range(n):
        if smult(out + POINT_BYTES * i, k, src + POINT_BYTES * i) != 0:
            raise InvalidPoint(f"point {i} of the batch has small order (X25519 gives zero)")
    return ffi.buffer(out)[:]


def split_points(buf: bytes) -> list[bytes]:
    """The 32-byte points of a batch, as a list."""
    if len(buf) % POINT_BYTES:
        raise ParameterError(f"a batch of points is a multiple of {POINT_BYTES} bytes, got {len(buf)}")
    return [buf[i: i + POINT_BYTES] for i in range(0, len(buf), POINT_BYTES)]


BASE = base_mul(1)
