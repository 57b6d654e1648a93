"""Fixed-point numbers in Z_2^64: a real v is stored as round(v * 2^f) mod 2^64.

Format. `FixedPoint(frac_bits=f)`: resolution 2^-f; an encoded value V = round(v·2^f) is
kept within |V| < 2^62 (`max_abs = 2^(62-f)`), leaving the top two bits of the ring as
headroom for the truncation protocols. With the default f = 16: resolution 1.5e-5 and
|v| < 7.0e13.

Products. Multiplying two encoded values gives an encoding with 2f fractional bits; it must
satisfy |V1·V2| < 2^62 before truncation, i.e. |v1·v2| < 2^(62-2f) (2^30 ≈ 1.07e9 for
f = 16). The secure types track a public bound on every value and raise
`FixedPointOverflow` *before* a product that could exceed it, instead of wrapping silently.

Truncation error (dividing by 2^f after a product):
  * probabilistic truncation with a preprocessed tuple (`mpc.ops.trunc`, any number of
    parties): the result is ⌊V/2^f⌋ or ⌊V/2^f⌋ + 1, i.e. error below 1 ulp = 2^-f, always
    (given |V| < 2^62);
  * local truncation for two parties (SecureML): the same ±1 ulp bound, except with
    probability at most 2^(l+1-64) when |V| < 2^l, when the result is wrong by a large
    amount (documented and tested; use it only for small products).
Encoding rounds to nearest (error ≤ 2^-(f+1)); decoding is exact, including negative values
(−3.99999 decodes as −3.99998..., never −5).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mpc.errors import FixedPointOverflow, ParameterError

HEADROOM_BITS = 62  # |V| < 2^62 for every encoded value the truncation protocols handle


@dataclass(frozen=True)
class FixedPoint:
    """A fixed-point format with `frac_bits` fractional bits in Z_2^64."""

    frac_bits: int = 16

    def __post_init__(self):
        if not isinstance(self.frac_bits, int) or not 0 <= self.frac_bits <= 30:
            raise ParameterError(f"frac_bits must be an integer in [0, 30], got {self.frac_bits!r}")

    @property
    def scale(self) -> float:
        return float(1 << self.frac_bits)

    @property
    def resolution(self) -> float:
        """One unit in the last place, 2^-f."""
        return 1.0 / self.scale

    @property
    def max_abs(self) -> float:
        """Largest magnitude (exclusive) a value may have: 2^(62-f)."""
        return float(2 ** (HEADROOM_BITS - self.frac_bits))

    @property
    def max_product(self) -> float:
        """Largest |v1·v2| (exclusive) a secure product may reach before truncation: 2^(62-2f)."""
        return float(2 ** (HEADROOM_BITS - 2 * self.frac_bits))

    @property
    def truncation_error(self) -> float:
        """Bound on the error one truncation adds: 1 ulp."""
        return self.resolution

    def encode(self, x) -> np.ndarray:
        """Floats -> ring elements (uint64), rounding to nearest; refuses values out of range."""
        arr = np.asarray(x, dtype=np.float64)
        if arr.size:
            if not np.all(np.isfinite(arr)):
                raise FixedPointOverflow("cannot encode NaN or infinity as fixed point")
            peak = float(np.max(np.abs(arr)))
            if peak >= self.max_abs:
                raise FixedPointOverflow(
                    f"value {peak:.6g} does not fit fixed point with {self.frac_bits} fractional bits "
                    f"(|x| < {self.max_abs:.6g}); scale the data down or use fewer fractional bits"
                )
        return np.rint(arr * self.scale).astype(np.int64).view(np.uint64)

    def decode(self, v) -> np.ndarray:
        """Ring elements -> floats (two's complement, exact division by 2^f)."""
        return np.asarray(v, dtype=np.uint64).view(np.int64).astype(np.float64) / self.scale

    def check_product(self, bound_a: float, bound_b: float, what: str = "product") -> None:
        """Raise FixedPointOverflow if |a|<bound_a, |b|<bound_b could make a product overflow."""
        if bound_a * bound_b >= self.max_product:
            raise FixedPointOverflow(
                f"{what} of values bounded by {bound_a:.6g} and {bound_b:.6g} may reach "
                f"{bound_a * bound_b:.6g}, beyond the {self.max_product:.6g} that {self.frac_bits} "
                f"fractional bits allow before truncation; declare tighter bounds (bound=...) or "
                f"rescale the inputs"
            )
