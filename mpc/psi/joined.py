"""PSI payload shares as secure arrays of a runtime `Session`, for the job that follows a PSI.

`as_additive_arrays(session, shares, bounds=...)` wraps a party's `PayloadShares` (see
`mpc.psi.payload` for the format) as `AdditiveArray`s of a two-party session whose parties
are the PSI's two parties, in the same order at both. Nothing is sent: the shares already
are additive shares over Z_2^64. `joined(...)` multiplies every column by the shared
indicator (one Beaver product), so non-joined rows become 0 and sums, dot products and
Gram matrices over the table equal those over the intersection.
"""

from __future__ import annotations

from typing import Mapping

from mpc.arith import RING
from mpc.errors import ParameterError
from mpc.psi.payload import PayloadShares


def as_additive_arrays(session, shares: PayloadShares, *, bounds: Mapping[str, float],
                       frac_bits: int | Mapping[str, int] = 0):
    """(indicator, {column: AdditiveArray}) for this party of a 2-party session.

    `bounds[c]` is a public bound on |value| of column c (in real units); `frac_bits` the
    fixed-point fractional bits the column was encoded with (0 for integers).
    """
    from mpc.runtime import AdditiveArray

    if session.n != 2:
        raise ParameterError(f"PSI shares belong to a 2-party session, this one has {session.n} parties")
    missing = sorted(set(shares.columns) - set(bounds))
    if missing:
        raise ParameterError(f"give a public bound for every payload column; missing {missing}")
    fb = frac_bits if isinstance(frac_bits, Mapping) else {c: int(frac_bits) for c in shares.columns}
    ind = AdditiveArray(session, RING, shares.indicator, 0, 1.0)
    cols = {c: AdditiveArray(session, RING, v, int(fb.get(c, 0)), float(bounds[c])) for c, v in shares.columns.items()}
    return ind, cols


async def joined(session, shares: PayloadShares, *, bounds: Mapping[str, float],
                 frac_bits: int | Mapping[str, int] = 0) -> dict:
    """Every column times the indicator (0 on rows outside the intersection), plus 'indicator'."""
    ind, cols = as_additive_arrays(session, shares, bounds=bounds, frac_bits=frac_bits)
    out = {"indicator": ind}
    for c, arr in cols.items():
        out[c] = await (arr * ind)
    return out
