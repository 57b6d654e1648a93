"""Encrypted training: logistic regression by gradient descent on CKKS-encrypted data (no bootstrapping).

What it computes: the data owner (key holder) encrypts its standardised features column-major, one
ciphertext per feature with the n ≤ N/2 rows in its slots, and the labels pre-scaled by lr/n
(`encrypt_dataset`); the evaluator runs T full-batch gradient steps on the polynomial model
p(w·x + b) (`train`):
    s = (lr/n)·p(z) − (lr/n)·y,     z = Σ_j x_j·w_j + b     (lr/n folded into p's coefficients)
    w_j ← w_j − Σ_rows x_j·s,        b ← b − Σ_rows s
where each Σ_rows is TenSEAL's rotate-and-sum over all N/2 slots, which leaves the total in every
slot, so the new weight is again a full replicated ciphertext (padding slots hold x = 0 and a
plaintext row mask, so they add nothing). The first step starts from w = 0 (s = lr/n·(p(0) − y),
one level); every later step spends 1 (z) + depth(p) + 1 (x·s) levels, so T steps need
1 + (T − 1)·(2 + depth(p)) levels: with no bootstrapping in TenSEAL the modulus chain bounds T
(`training_depth`, checked before anything runs). Only the final weights are decrypted, by the key
holder (`decrypt_weights`); no iterate is ever decrypted or re-encrypted (that would leak the
iterates to whoever refreshes them). `plain_train` runs the same polynomial model in float64: the
HE result equals it up to CKKS noise.

Security: the evaluator holds the public context (with Galois keys for the sums) and learns n, d,
T and lr, nothing about the data (RLWE). Semi-honest evaluator. If the key holder publishes the
weights, it floods them (`noise.flood`, Li–Micciancio) — or adds DP noise first.
References: Kim, Song, Kim, Lee, Cheon, "Secure logistic regression based on homomorphic
encryption: design and evaluation", JMIR Med. Inform. 2018 (degree-3 sigmoid, depth-bounded GD);
Bonte & Vercauteren 2018.
Cost: per step d ct×ct products for z, one polynomial, d + 1 products and d + 1 rotate-and-sums
(log2(N/2) rotations each).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mpc.errors import DepthExhausted, HEKeyMissing, ParameterError, ShapeError
from mpc.he.context import HEContext
from mpc.he.poly import Poly, sigmoid_poly


def training_depth(iterations: int, sigmoid: Poly) -> int:
    """Levels T gradient steps spend (the first from w = 0 spends one)."""
    if iterations < 1:
        raise ParameterError(f"iterations must be ≥ 1, got {iterations!r}")
    return 1 + (iterations - 1) * (2 + sigmoid.depth)


@dataclass
class EncryptedDataset:
    """Encrypted columns (full-slot ciphertexts), encrypted lr/n·y, the public row count and lr."""

    cols: list
    y_scaled: object
    rows: int
    lr: float


def encrypt_dataset(ctx: HEContext, x, y, *, lr: float = 1.0) -> EncryptedDataset:
    """The data owner's side: standardised features x (n × d), labels y ∈ {0, 1}."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if x.ndim != 2 or y.shape != (x.shape[0],):
        raise ShapeError(f"x must be (n × d) and y (n,), got {x.shape} and {y.shape}")
    n, slots = x.shape[0], ctx.params.slots
    if n > slots:
        raise ShapeError(f"{n} rows exceed one ciphertext ({slots} slots); train on batches of {slots} rows")
    pad = np.zeros(slots)
    cols = []
    for j in range(x.shape[1]):
        pad[:n], pad[n:] = x[:, j], 0.0
        cols.append(ctx.encrypt(pad.copy()))
    pad[:n], pad[n:] = (lr / n) * y, 0.0
    return EncryptedDataset(cols, ctx.encrypt(pad.copy()), n, float(lr))


def _full(ctx: HEContext, vec):
    """The replicated result of a full-slot sum, relabelled as a full-size vector (same ciphertext)."""
    import tenseal as ts

    blob = vec.serialize()
    return ts.ckks_vector_from(ctx.ts, _set_sizes(blob, ctx.params.slots))


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _read_varint(b: bytes, i: int) -> tuple[int, int]:
    shift = val = 0
    while True:
        c = b[i]
        i += 1
        val |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return val, i


def _set_sizes(blob: bytes, size: int) -> bytes:
    """Rewrite field 1 (`sizes`, packed uint32) of TenSEAL's CKKSVectorProto; other fields kept as they are."""
    out, i = bytearray(), 0
    while i < len(blob):
        key, j = _read_varint(blob, i)
        field, wire = key >> 3, key & 7
        if wire == 2:
            ln, k = _read_varint(blob, j)
            end = k + ln
        elif wire == 1:
            end = j + 8
        elif wire == 0:
            _, end = _read_varint(blob, j)
        elif wire == 5:
            end = j + 4
        else:
            raise ParameterError(f"unexpected wire type {wire} in a TenSEAL vector")
        if field == 1:
            v = _varint(size)
            out += _varint((1 << 3) | 2) + _varint(len(v)) + v
        else:
            out += blob[i:end]
        i = end
    return bytes(out)


def train(ctx: HEContext, data: EncryptedDataset, *, iterations: int, sigmoid: Poly | None = None) -> list:
    """T gradient steps on encrypted data (evaluator side); returns the encrypted [w_1..w_d, b]."""
    sig = sigmoid if sigmoid is not None else sigmoid_poly(3, 8.0)
    need = training_depth(iterations, sig)
    level = ctx.level(data.cols[0])
    if need > level:
        raise DepthExhausted(f"{iterations} gradient steps with {sig.name} need {need} levels; the data has {level}. "
                             f"TenSEAL cannot bootstrap: use ckks_params(depth={need}, ...) or fewer steps")
    if not ctx.has_galois or not ctx.has_relin:
        raise HEKeyMissing("encrypted training needs relinearisation and Galois keys in the public context")
    n, slots = data.rows, ctx.params.slots
    c = data.lr / n
    mask = [1.0] * n + [0.0] * (slots - n)
    coeffs = [c * a for a in sig.coeffs]
    s = data.y_scaled.neg() + [coeffs[0] * m for m in mask]  # step 1: w = 0, s = lr/n·(p(0) − y)
    weights = None
    for step in range(iterations):
        if step:
            z = None
            for col, w in zip(data.cols, weights[:-1]):
                t = col * w
                z = t if z is None else z.add_(t)
            z.add_(weights[-1])
            s = z.polyval_(coeffs).sub_(data.y_scaled)
        grads = [_full(ctx, (col * s).sum()) for col in data.cols]
        grads.append(_full(ctx, (s * mask).sum()))
        weights = [g.neg() for g in grads] if weights is None else [w.sub_(g) for w, g in zip(weights, grads)]
    return weights


def decrypt_weights(ctx: HEContext, weights: list) -> np.ndarray:
    """[w_1..w_d, b] (key holder only; slot 0 of each replicated ciphertext)."""
    return np.array([ctx.decrypt(w)[0] for w in weights])


def plain_train(x, y, *, iterations: int, lr: float = 1.0, sigmoid: Poly | None = None) -> np.ndarray:
    """The same polynomial gradient descent in float64 (reference for the encrypted run)."""
    sig = sigmoid if sigmoid is not None else sigmoid_poly(3, 8.0)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    n = x.shape[0]
    w, b = np.zeros(x.shape[1]), 0.0
    for _ in range(iterations):
        s = (lr / n) * (sig(x @ w + b) - y)
        w, b = w - x.T @ s, b - s.sum()
    return np.concatenate([w, [b]])


def accuracy(weights, x, y) -> float:
    w = np.asarray(weights)
    return float(np.mean(((np.asarray(x) @ w[:-1] + w[-1]) > 0) == (np.asarray(y) > 0.5)))
