"""HE parameters: a helper that picks CKKS/BFV parameters at 128-bit security, and the checks that
refuse insecure or inconsistent ones before TenSEAL (SEAL) runs.

What it computes:
  * `ckks_params(depth, precision_bits, size, max_value)`: the smallest polynomial degree N (a
    power of two, 1024..32768) whose coefficient-modulus chain
        [q0 = scale + integer bits] + depth × [scale bits] + [special prime]
    fits the 128-bit bound of the HE standard, with N/2 ≥ size slots, and the scale chosen so that
    the error of a result (a bound from the CKKS noise analysis, `noise.py`) is below
    2^-precision_bits in value units.
  * `bfv_params(size, plain_bits, depth)`: N ≥ size slots, SEAL's default 128-bit coefficient
    modulus for N, and a batching plain modulus t (prime, t ≡ 1 mod 2N) of `plain_bits` bits,
    refused if the noise budget cannot carry `depth` multiplications.
  * `check_ckks` / `check_bfv`: the same rules applied to parameters given by hand; each failure is
    its own exception (`mpc.errors`): `InsecureParameters` (N or the total modulus outside the
    standard), `ScaleOutOfBounds` (scale and primes that do not fit together: SEAL's "scale out of
    bounds" after a multiplication), `DepthExhausted` (more multiplications than levels: SEAL's
    "scale out of bounds" / "end of modulus switching chain reached"), `TooManySlots` (a vector longer
    than N/2 CKKS or N BFV slots: TenSEAL then silently splits it and disables matmul), and
    `ValueOutOfRange` (|value|·scale beyond the last modulus q0: CKKS then decrypts garbage with no
    error at all; BFV values beyond ±t/2 wrap).

Security: the bounds are those of the HomomorphicEncryption.org Security Standard (M. Albrecht et
al., "Homomorphic Encryption Security Standard", HomomorphicEncryption.org, Toronto, November 2018,
§2.1.5 Table 1, classical 128-bit security, ternary secret, σ = 3.2), as SEAL enforces them
(`CoeffModulus::MaxBitCount(N, sec_level_type::tc128)`): log2 q ≤ 27, 54, 109, 218, 438, 881 for
N = 1024 ... 32768. Semantic security of CKKS and BFV rests on decision-RLWE at these parameters.
Cost: arithmetic on a few numbers.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from mpc.errors import DepthExhausted, InsecureParameters, ScaleOutOfBounds, TooManySlots, ValueOutOfRange

# HE standard, Table 1 (classical, 128-bit): max total bits of the coefficient modulus, incl. special prime.
MAX_COEFF_BITS_128 = {1024: 27, 2048: 54, 4096: 109, 8192: 218, 16384: 438, 32768: 881}
DEGREES = tuple(sorted(MAX_COEFF_BITS_128))
MAX_PRIME_BITS = 60  # SEAL's limit on one RNS prime
MIN_SCALE_BITS = 20  # below this a CKKS result is mostly encryption noise (see noise.fresh_error)
BFV_DEFAULT_BITS = {1024: (27,), 2048: (54,), 4096: (36, 36, 37), 8192: (43, 43, 44, 44, 44),
                    16384: (48, 48, 48, 49, 49, 49, 49, 49, 49), 32768: (55,) * 6 + (56,) * 10}
STANDARD = ("HomomorphicEncryption.org Security Standard (Albrecht et al., 2018), Table 1: "
            "128-bit classical security")


@dataclass(frozen=True)
class CKKSParams:
    """CKKS parameters: degree N, the chain [q0, data primes..., special prime] in bits, the scale."""

    poly_modulus_degree: int
    coeff_mod_bit_sizes: tuple[int, ...]
    scale_bits: int
    scheme: str = "ckks"

    @property
    def wide(self) -> bool:
        """A scale above one prime (> 2^60): for sums only (no multiplication), the whole chain holds it."""
        return self.scale_bits > MAX_PRIME_BITS

    @property
    def depth(self) -> int:
        """Multiplications a fresh ciphertext can undergo (data primes between q0 and the special prime)."""
        return 0 if self.wide else len(self.coeff_mod_bit_sizes) - 2

    @property
    def slots(self) -> int:
        return self.poly_modulus_degree // 2

    @property
    def total_bits(self) -> int:
        return sum(self.coeff_mod_bit_sizes)

    @property
    def scale(self) -> float:
        return float(2 ** self.scale_bits)

    @property
    def max_value(self) -> float:
        """Largest |value| a result may have at the last level: 2^(q0 − scale − 1) (sign bit); for a wide
        scale, 2^(log2 q − scale − 1) with q the product of all primes but the special one."""
        if self.wide:
            return 2.0 ** (sum(self.coeff_mod_bit_sizes[:-1]) - self.scale_bits - 1)
        return 2.0 ** (self.coeff_mod_bit_sizes[0] - self.scale_bits - 1)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["coeff_mod_bit_sizes"] = list(self.coeff_mod_bit_sizes)
        return d


@dataclass(frozen=True)
class BFVParams:
    """BFV parameters: degree N, the coefficient modulus (bits), the batching plain modulus t."""

    poly_modulus_degree: int
    coeff_mod_bit_sizes: tuple[int, ...]
    plain_modulus: int
    scheme: str = "bfv"

    @property
    def slots(self) -> int:
        return self.poly_modulus_degree

    @property
    def total_bits(self) -> int:
        return sum(self.coeff_mod_bit_sizes)

    @property
    def max_value(self) -> int:
        """Values are integers modulo t, read back centred in [−(t−1)/2, (t−1)/2]."""
        return (self.plain_modulus - 1) // 2

    @property
    def noise_budget_bits(self) -> float:
        """A fresh ciphertext's invariant-noise budget, log2(q/t) minus the fresh noise (about log2(6σ·2N))."""
        return self.total_bits - max(self.coeff_mod_bit_sizes) - math.log2(self.plain_modulus) \
            - math.log2(6 * 3.2 * 2 * self.poly_modulus_degree)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["coeff_mod_bit_sizes"] = list(self.coeff_mod_bit_sizes)
        return d


def params_from_dict(d: dict) -> CKKSParams | BFVParams:
    """Parameters from `to_dict` output (checked)."""
    try:
        if d.get("scheme") == "ckks":
            p = CKKSParams(int(d["poly_modulus_degree"]), tuple(int(b) for b in d["coeff_mod_bit_sizes"]),
                           int(d["scale_bits"]))
            check_ckks(p)
            return p
        if d.get("scheme") == "bfv":
            p = BFVParams(int(d["poly_modulus_degree"]), tuple(int(b) for b in d["coeff_mod_bit_sizes"]),
                          int(d["plain_modulus"]))
            check_bfv(p)
            return p
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, InsecureParameters | ScaleOutOfBounds | DepthExhausted | ValueOutOfRange):
            raise
        raise InsecureParameters(f"malformed HE parameters {d!r}: {exc}") from None
    raise InsecureParameters(f"unknown HE scheme {d.get('scheme')!r} (ckks or bfv)")


# ------------------------------------------------------------------------------------------ checks
def _check_degree(n: int) -> None:
    if n not in MAX_COEFF_BITS_128:
        raise InsecureParameters(f"poly_modulus_degree {n} is not one of {list(DEGREES)} (a power of two the "
                                 f"{STANDARD} covers)")


def _check_total(n: int, bits: tuple[int, ...], what: str) -> None:
    total = sum(bits)
    if total > MAX_COEFF_BITS_128[n]:
        raise InsecureParameters(
            f"{what}: the coefficient modulus {list(bits)} has {total} bits, above the {MAX_COEFF_BITS_128[n]} "
            f"bits allowed at N={n} by the {STANDARD} (TenSEAL says only 'encryption parameters are not set "
            f"correctly'); use fewer or smaller primes, or N={2 * n if n < 32768 else n}")
    bad = [b for b in bits if not 2 <= b <= MAX_PRIME_BITS]
    if bad:
        raise InsecureParameters(f"{what}: primes of {bad} bits; each prime must have 2..{MAX_PRIME_BITS} bits")


def check_ckks(p: CKKSParams, *, depth: int | None = None, size: int | None = None,
               max_value: float | None = None) -> CKKSParams:
    """Refuse CKKS parameters that are insecure or inconsistent; optionally against a planned use."""
    from mpc.he import noise

    n, bits, s = p.poly_modulus_degree, tuple(p.coeff_mod_bit_sizes), p.scale_bits
    _check_degree(n)
    if len(bits) < 2:
        raise InsecureParameters(f"CKKS needs at least two primes [q0, special], got {list(bits)}")
    _check_total(n, bits, "CKKS")
    if s < MIN_SCALE_BITS:
        raise ScaleOutOfBounds(f"scale 2^{s} is below 2^{MIN_SCALE_BITS}: at N={n} the encryption noise "
                               f"(about 2^{noise.fresh_error_bits(n, s) + s:.1f} in scaled units) would swamp "
                               f"the values; raise the scale")
    data = bits[1:-1]
    off = [b for b in data if b != s]
    if p.wide:
        if sum(bits[:-1]) - s < 2:
            raise ScaleOutOfBounds(f"scale 2^{s} leaves no integer bits below the ciphertext modulus "
                                   f"({sum(bits[:-1])} bits): SEAL would refuse to encode ('scale out of bounds')")
    elif off:
        raise ScaleOutOfBounds(
            f"scale 2^{s} does not match the data primes {list(data)} (bits): every multiplication rescales "
            f"by one data prime, so the scale drifts by 2^(scale - prime) per level until SEAL raises 'scale out "
            f"of bounds'; make each middle prime {s} bits")
    if not p.wide and bits[0] <= s:
        raise ScaleOutOfBounds(f"the first prime q0 ({bits[0]} bits) must exceed the scale (2^{s}): a result "
                               f"at the last level holds |value|·2^{s} < q0/2, so no integer part is left")
    if bits[-1] < max(bits[:-1]):
        raise ScaleOutOfBounds(f"the special prime ({bits[-1]} bits, last) must be at least as large as the "
                               f"others ({max(bits[:-1])} bits) or key switching adds large noise")
    if depth is not None and depth > p.depth:
        if p.wide:
            raise DepthExhausted(f"a scale of 2^{s} (above one {MAX_PRIME_BITS}-bit prime) is for sums only: "
                                 f"no multiplication can rescale it; use ckks_params(depth={depth}, ...)")
        raise DepthExhausted(
            f"the computation needs {depth} multiplicative levels but the chain {list(bits)} has {p.depth} "
            f"(one data prime per level); SEAL would fail with 'scale out of bounds' at multiplication "
            f"{p.depth + 1}. Use ckks_params(depth={depth}, ...) or a model of lower depth")
    if size is not None and size > p.slots:
        raise TooManySlots(f"{size} values do not fit one CKKS ciphertext at N={n} ({p.slots} slots = N/2); "
                           f"split the vector into batches of {p.slots} or use N={min(2 * n, 32768)}")
    if max_value is not None and max_value >= p.max_value:
        raise ValueOutOfRange(
            f"values up to {max_value:g} need more than the {bits[0] - s - 1} integer bits q0 leaves "
            f"(|value| < 2^{bits[0] - s - 1} at the last level); CKKS would decrypt garbage without error. "
            f"Scale the inputs down or choose q0 = scale + {math.ceil(math.log2(max_value)) + 2} bits")
    return p


def check_bfv(p: BFVParams, *, depth: int = 0, size: int | None = None, max_value: int | None = None,
              additions: int = 1) -> BFVParams:
    """Refuse BFV parameters that are insecure, cannot batch, or lack noise budget for the planned use."""
    n, bits, t = p.poly_modulus_degree, tuple(p.coeff_mod_bit_sizes), int(p.plain_modulus)
    _check_degree(n)
    _check_total(n, bits, "BFV")
    if not 2 <= t.bit_length() <= MAX_PRIME_BITS:
        raise ValueOutOfRange(f"plain modulus t={t} must have 2..{MAX_PRIME_BITS} bits")
    if t % (2 * n) != 1 or not _is_prime(t):
        raise ValueOutOfRange(f"plain modulus t={t} is not a prime ≡ 1 mod 2N={2 * n}: batching (one value per "
                              f"slot) is impossible (TenSEAL: 'encryption parameters are not valid for "
                              f"batching'); use bfv_params(...) to pick one")
    need = depth * (math.log2(t) + math.log2(n) + 4) + math.log2(max(1, additions)) + 10
    if p.noise_budget_bits < need:
        raise DepthExhausted(f"BFV noise budget about {p.noise_budget_bits:.0f} bits at N={n}, t of "
                             f"{t.bit_length()} bits; {depth} multiplications and {additions} additions need about "
                             f"{need:.0f}: use a larger N or a smaller t")
    if size is not None and size > p.slots:
        raise TooManySlots(f"{size} values do not fit one BFV ciphertext at N={n} ({n} slots = N); split the "
                           f"vector into batches of {n} or use N={min(2 * n, 32768)}")
    if max_value is not None and max_value > p.max_value:
        raise ValueOutOfRange(f"integers up to {max_value} exceed ±(t−1)/2 = {p.max_value} and would wrap "
                              f"modulo t={t}; use a larger plain modulus (plain_bits)")
    return p


def _is_prime(n: int) -> bool:
    """Deterministic Miller–Rabin for n < 3.3·10^24 (bases 2..41): checks public parameters only."""
    if n < 2:
        return False
    small = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41)
    for q in small:
        if n % q == 0:
            return n == q
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for a in small:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


# ------------------------------------------------------------------------------------------ helper
def ckks_params(depth: int, precision_bits: int = 20, size: int = 1, max_value: float = 2.0 ** 10, *,
                poly_modulus_degree: int | None = None) -> CKKSParams:
    """The smallest secure CKKS parameters for `depth` multiplications, results within 2^-precision_bits
    of the exact value (CKKS noise of a depth-`depth` computation on values ≤ 1, see `noise.py`), vectors
    of `size` slots, and results of magnitude below `max_value`."""
    from mpc.he import noise

    if not isinstance(depth, int) or depth < 0:
        raise DepthExhausted(f"depth must be a non-negative integer, got {depth!r}")
    if not 1 <= precision_bits <= 50:
        raise ScaleOutOfBounds(f"precision_bits must be in 1..50, got {precision_bits!r}")
    if size > DEGREES[-1] // 2:
        raise TooManySlots(f"{size} values exceed the largest CKKS ciphertext ({DEGREES[-1] // 2} slots at "
                           f"N=32768); split them into batches")
    int_bits = math.floor(math.log2(max(max_value, 1.0))) + 2
    degrees = DEGREES if poly_modulus_degree is None else (poly_modulus_degree,)
    if poly_modulus_degree is not None:
        _check_degree(poly_modulus_degree)
    tried = []
    for n in degrees:
        if n // 2 < size:
            continue
        scale = max(MIN_SCALE_BITS, math.ceil(precision_bits + noise.fresh_error_bits(n, 0)
                                              + math.log2(depth + 1)))
        q0 = scale + int_bits
        if q0 > MAX_PRIME_BITS:
            raise ValueOutOfRange(
                f"precision 2^-{precision_bits} with values up to {max_value:g} needs q0 = {q0} bits (scale "
                f"{scale} + {int_bits} integer bits) but a prime has at most {MAX_PRIME_BITS}: lower the "
                f"precision or the value range")
        bits = (q0,) + (scale,) * depth + (q0,)
        tried.append((n, sum(bits)))
        if sum(bits) <= MAX_COEFF_BITS_128[n]:
            return check_ckks(CKKSParams(n, bits, scale), depth=depth, size=size, max_value=max_value)
    if not tried:
        raise TooManySlots(f"{size} values do not fit one ciphertext at N={poly_modulus_degree}")
    n, total = tried[-1]
    raise DepthExhausted(
        f"depth {depth} at precision 2^-{precision_bits} needs a {total}-bit modulus at N={n}, above the "
        f"{MAX_COEFF_BITS_128[n]} bits of 128-bit security ({STANDARD}); TenSEAL has no bootstrapping, so "
        f"lower the depth (fewer layers or iterations, lower-degree polynomials) or the precision")


def bfv_params(size: int = 1, plain_bits: int = 40, depth: int = 0, *, additions: int = 1,
               poly_modulus_degree: int | None = None) -> BFVParams:
    """The smallest secure BFV parameters with ≥ `size` slots, a `plain_bits`-bit batching prime t, and
    noise budget for `depth` multiplications after `additions` additions."""
    import tenseal.sealapi as sa

    if not 2 <= plain_bits <= MAX_PRIME_BITS:
        raise ValueOutOfRange(f"plain_bits must be in 2..{MAX_PRIME_BITS}, got {plain_bits!r}")
    if size > DEGREES[-1]:
        raise TooManySlots(f"{size} values exceed the largest BFV ciphertext ({DEGREES[-1]} slots at N=32768)")
    degrees = DEGREES if poly_modulus_degree is None else (poly_modulus_degree,)
    last = None
    for n in degrees:
        if n < size or n < 2048:
            continue
        try:
            t = int(sa.PlainModulus.Batching(n, plain_bits).value())
        except (RuntimeError, ValueError):
            continue  # no prime of that size ≡ 1 mod 2N
        p = BFVParams(n, BFV_DEFAULT_BITS[n], t)
        try:
            return check_bfv(p, depth=depth, size=size, additions=additions)
        except DepthExhausted as exc:
            last = exc
    if last is not None:
        raise last
    raise TooManySlots(f"no BFV degree in {list(degrees)} has {size} slots and a {plain_bits}-bit batching prime")


def ckks_sum_params(size: int, precision_bits: int = 20, max_value: float = 2.0 ** 20, *, addends: int = 100,
                    stat_security: int = 40) -> CKKSParams:
    """CKKS parameters for sums only (aggregation): a scale wide enough that after `addends` fresh
    ciphertexts are added and the key holder floods the result with s = `stat_security` bits
    (`noise.flooding_spec`), the flooding noise stays below 2^-precision_bits."""
    from mpc.he import noise

    if size > DEGREES[-1] // 2:
        raise TooManySlots(f"{size} values exceed the largest CKKS ciphertext ({DEGREES[-1] // 2} slots)")
    int_bits = math.floor(math.log2(max(max_value, 1.0))) + 2
    for n in DEGREES:
        if n // 2 < size or n < 4096:
            continue
        # flooding σ (value units) = √slots·2^(s−1)·E, E = addends·(B_clean + B_rs)/Δ  ≤ 2^-precision
        err_bits = math.log2(addends) + math.log2(noise.b_clean(n) + noise.b_rs(n))
        scale = math.ceil(precision_bits + err_bits + stat_security - 1 + 0.5 * math.log2(n // 2)) + 1
        need = scale + int_bits
        primes = max(2, math.ceil(need / MAX_PRIME_BITS))
        bits = (MAX_PRIME_BITS,) * (primes + 1)
        if sum(bits) <= MAX_COEFF_BITS_128[n] and scale > MAX_PRIME_BITS:
            return check_ckks(CKKSParams(n, bits, scale), size=size, max_value=max_value)
    raise DepthExhausted(f"no secure CKKS degree gives precision 2^-{precision_bits} after flooding at s="
                         f"{stat_security} for {addends} addends; lower the precision or use BFV (exact)")
