"""Batching: many rows per ciphertext, column-major ("one ciphertext per feature per block of rows").

What it computes: `encrypt_rows(ctx, X)` cuts the rows of X (n × d) into blocks of `slots` rows and
encrypts each column of each block as one ciphertext, so feature j of rows r..r+slots−1 fills the
slots of one ciphertext; `EncryptedBatch` holds them with the row count and the client's stated
input bound, and travels as framed bytes (`to_bytes` / `from_bytes`, each ciphertext checked).
`decrypt_rows` turns an encrypted batch of outputs back into an (n × k) array.

Why column-major: a dense layer is then Σ_j w_j·c_j, plaintext scalar products and additions,
with no rotation at all, so the evaluator needs no Galois keys (the public context for N = 8192 is
about 0.5 MB instead of 35 MB) and a 30-feature layer costs 30 scalar products per block of N/2 rows.
Row-major packing (a row's features in adjacent slots) needs log2(d) rotations per block of rows
for every inner product; `bench/he.py` measures both and records the difference.

Security: as `context.py`; the batch reveals n, d and the input bound (all stated in its header).
Cost: d·⌈n / slots⌉ encryptions; the batch is d·⌈n / slots⌉ ciphertexts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mpc.errors import HEFormatError, ShapeError, ValueOutOfRange
from mpc.he.context import HEContext, pack, unpack

KIND = "he-batch"


@dataclass
class EncryptedBatch:
    """blocks[b][j]: the ciphertext of column j of row block b; `rows` rows in all; |x| ≤ `bound`."""

    blocks: list[list]
    rows: int
    bound: float

    @property
    def cols(self) -> int:
        return len(self.blocks[0]) if self.blocks else 0

    def to_bytes(self) -> bytes:
        header = {"kind": KIND, "rows": self.rows, "cols": self.cols, "blocks": len(self.blocks), "bound": self.bound}
        return pack(header, [v.serialize() for blk in self.blocks for v in blk])

    @classmethod
    def from_bytes(cls, ctx: HEContext, data: bytes, *, min_level: int = 0, max_cols: int = 4096) -> "EncryptedBatch":
        """A batch from untrusted bytes: counts, sizes and levels checked against `ctx`."""
        limit = ctx.max_ciphertext_bytes() * max_cols * 64 + (1 << 20)
        header, blobs = unpack(data, KIND, max_bytes=limit, max_blobs=max_cols * 64)
        try:
            rows, cols, nblk, bound = int(header["rows"]), int(header["cols"]), int(header["blocks"]), float(header["bound"])
        except (KeyError, TypeError, ValueError):
            raise HEFormatError("he-batch header needs rows, cols, blocks, bound") from None
        slots = ctx.params.slots
        if not (rows >= 1 and 1 <= cols <= max_cols and nblk == math.ceil(rows / slots) and len(blobs) == nblk * cols
                and math.isfinite(bound) and bound > 0):
            raise HEFormatError(f"he-batch header (rows={rows}, cols={cols}, blocks={nblk}, bound={bound}) does not "
                                f"match its {len(blobs)} ciphertexts at {slots} slots each")
        vecs = [ctx.load_vector(b, min_level=min_level) for b in blobs]
        return cls([vecs[i * cols:(i + 1) * cols] for i in range(nblk)], rows, bound)


def encrypt_rows(ctx: HEContext, x, *, bound: float | None = None) -> EncryptedBatch:
    """Encrypt the rows of x (n × d) column-major in blocks of `slots` rows; `bound` ≥ max |x| is stated."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ShapeError(f"encrypt_rows takes a non-empty (rows × features) array, got shape {x.shape}")
    top = float(np.max(np.abs(x)))
    bound = top if bound is None else float(bound)
    if top > bound:
        raise ValueOutOfRange(f"a feature of magnitude {top:g} exceeds the stated bound {bound:g}")
    bound = max(bound, 1e-12)
    s = ctx.params.slots
    blocks = [[ctx.encrypt(x[r:r + s, j]) for j in range(x.shape[1])] for r in range(0, x.shape[0], s)]
    return EncryptedBatch(blocks, x.shape[0], bound)


def decrypt_rows(ctx: HEContext, batch: EncryptedBatch) -> np.ndarray:
    """(rows × cols) plaintext of an encrypted batch (key holder only)."""
    s = ctx.params.slots
    out = np.empty((batch.rows, batch.cols))
    for b, blk in enumerate(batch.blocks):
        n = min(s, batch.rows - b * s)
        for j, v in enumerate(blk):
            out[b * s:b * s + n, j] = ctx.decrypt(v)[:n]
    return out
