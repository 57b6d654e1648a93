"""Unit and known-answer tests of dp.mechanisms: the native samplers against a pure-Python
reference of the same algorithms on the same PRG words, parameter handling, calibration,
grid mechanisms and the exponential mechanism."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import stats

from dp.errors import DPParameterError
from dp.mechanisms import calibrate, exponential, grid, samplers
from mpc.crypto import PRG

M64 = (1 << 64) - 1


class RefWords:
    """The word stream the native kernel reads: PRG.uint64(chunk) blocks, in order."""

    def __init__(self, key: bytes, chunk: int):
        self.prg, self.chunk, self.buf, self.pos = PRG(key), chunk, [], 0

    def next(self) -> int:
        if self.pos == len(self.buf):
            self.buf, self.pos = [int(v) for v in self.prg.uint64(self.chunk)], 0
        self.pos += 1
        return self.buf[self.pos - 1]


def ref_below(w, n):
    if n >> 64:
        mask = (1 << (n - 1).bit_length()) - 1
        while True:
            hi = w.next()
            lo = w.next()
            x = ((hi << 64) | lo) & mask
            if x < n:
                return x
    m = w.next() * n
    if (m & M64) < n:
        thresh = ((1 << 64) - n) % n
        while (m & M64) < thresh:
            m = w.next() * n
    return m >> 64


def ref_ratio_k(w, r, d, k):
    q, rem = divmod(r, k)
    u = ref_below(w, d)
    if u != q:
        return u < q
    return rem != 0 and ref_below(w, k) < rem


def ref_exp_le1(w, r, d):
    k = 1
    while ref_ratio_k(w, r, d, k):
        k += 1
    return k % 2 == 1


def ref_exp1(w):
    k = 1
    while ref_below(w, k) == 0:
        k += 1
    return k % 2 == 1


def ref_exp(w, n, d):
    for _ in range(n // d):
        if not ref_exp1(w):
            return False
    return ref_exp_le1(w, n % d, d)


def ref_dlap(w, s, t):
    while True:
        u = ref_below(w, t)
        if not ref_exp_le1(w, u, t):
            continue
        v = 0
        while ref_exp1(w):
            v += 1
        y = (u + t * v) // s
        neg = w.next() & 1
        if neg and y == 0:
            continue
        return -y if neg else y


def ref_dgauss(w, a, b, c):
    while True:
        if c >= 1:
            y = ref_dlap(w, b * c, a)
            num, den = (abs(y) - c) ** 2 * b, 2 * a
        else:
            y = ref_dlap(w, 1, 1)
            num, den = (b * abs(y) - a) ** 2, 2 * a * b
        if ref_exp(w, num, den):
            return y


@pytest.mark.parametrize("scale", [0.3, 1.0, 7.25, 1e6])
def test_native_discrete_laplace_equals_reference(scale):
    n, key = 3000, b"ref-dlap-key-001"
    frac = samplers.laplace_parameter(scale)
    got = samplers.discrete_laplace(scale, n, PRG(key))
    w = RefWords(key, samplers._chunk(n))
    want = [ref_dlap(w, frac.denominator, frac.numerator) for _ in range(n)]
    assert got.tolist() == want


@pytest.mark.parametrize("sigma", [0.2, 0.9, 1.0, 3.3, 1234.5, 2.0 ** 29])
def test_native_discrete_gaussian_equals_reference(sigma):
    n, key = 2000, b"ref-dgau-key-001"
    a, b, c = samplers._gaussian_abc(samplers.gaussian_parameter(sigma))
    got = samplers.discrete_gaussian(sigma, n, PRG(key))
    w = RefWords(key, samplers._chunk(n))
    assert got.tolist() == [ref_dgauss(w, a, b, c) for _ in range(n)]


def test_native_bernoulli_exp_equals_reference():
    num = np.array([0, 1, 2, 5, 17, 3, 1 << 40], dtype=np.uint64)
    den, key = 3, b"ref-bern-key-001"
    got = samplers.bernoulli_exp(num, den, PRG(key))
    w = RefWords(key, samplers._chunk(num.size))
    assert got.tolist() == [ref_exp(w, int(v), den) for v in num]


def test_parameters_round_up_and_are_checked():
    for s in (0.05, 0.7, 3.0, 1e3, 2.0 ** 29):
        assert samplers.gaussian_parameter(s) >= Fraction(s) ** 2
        assert float(samplers.gaussian_parameter(s)) == pytest.approx(s * s, rel=1e-9)
    for b in (0.001, 0.3, 2.5, 1e9):
        assert samplers.laplace_parameter(b) >= Fraction(b)
        assert float(samplers.laplace_parameter(b)) - b <= 2.0 ** -20
    for bad in (0.0, -1.0, float("nan"), float("inf"), 2.0 ** 31):
        with pytest.raises(DPParameterError):
            samplers.gaussian_parameter(bad)
        with pytest.raises(DPParameterError):
            samplers.laplace_parameter(bad if bad != 2.0 ** 31 else 2.0 ** 41)
    assert samplers.discrete_gaussian(2.0, (3, 4), PRG()).shape == (3, 4)
    assert samplers.discrete_laplace(2.0, 0, PRG()).size == 0


def test_analytic_gaussian_known_values():
    # Balle & Wang 2018: the exact condition, checked at the returned sigma and just below it.
    for eps, delta, l2 in [(1.0, 1e-5, 1.0), (0.5, 1e-6, 2.0), (4.0, 1e-9, 1.0)]:
        s = calibrate.analytic_gaussian_sigma(eps, delta, l2)
        assert calibrate.analytic_gaussian_delta(s, eps, l2) <= delta
        assert calibrate.analytic_gaussian_delta(s * (1 - 1e-6), eps, l2) > delta
    assert calibrate.analytic_gaussian_sigma(1.0, 1e-5, 1.0) == pytest.approx(3.7306, abs=1e-4)
    # always tighter than the classic sqrt(2 ln(1.25/δ))/ε bound (valid for ε <= 1)
    assert calibrate.analytic_gaussian_sigma(1.0, 1e-5, 1.0) < math.sqrt(2 * math.log(1.25 / 1e-5))


def test_discrete_gaussian_calibration_cks20():
    for eps, delta, l2 in [(1.0, 1e-5, 1.0), (0.3, 1e-6, 3.0), (2.0, 1e-7, 65537.0)]:
        s = calibrate.discrete_gaussian_sigma(eps, delta, l2)
        assert calibrate.discrete_gaussian_delta(s * s, eps, l2) <= delta
        assert calibrate.discrete_gaussian_delta((s * 0.999) ** 2, eps, l2) > delta
        # CKS20: for sigma >> 1 the discrete and continuous calibrations agree closely
        if l2 > 100:
            assert s == pytest.approx(calibrate.analytic_gaussian_sigma(eps, delta, l2), rel=1e-3)


def test_discrete_gaussian_delta_exact_sum_matches_brute_force():
    s2, eps, l2 = 2.25, 1.0, 1.0
    ks = np.arange(-200, 201)
    pmf = samplers.discrete_gaussian_pmf(s2, ks)
    x1, x2 = eps * s2 / l2 - l2 / 2, eps * s2 / l2 + l2 / 2
    want = pmf[ks > x1].sum() - math.exp(eps) * pmf[ks > x2].sum()
    assert calibrate.discrete_gaussian_delta(s2, eps, l2) == pytest.approx(want, rel=1e-9)


def test_grid_specs_and_mechanisms_stay_on_grid():
    lap = grid.laplace_spec(1.0, 0.5, frac_bits=8, dims=1)
    assert lap.sensitivity == 256 + 1 and lap.scale == Fraction(514)
    assert grid.laplace_spec(1.0, 1.0, frac_bits=0).sensitivity == 1
    gau = grid.gaussian_spec(2.0, 1.0, 1e-5, frac_bits=4, dims=4)
    assert gau.sensitivity == 32 + 2
    vals, spec = grid.laplace_mechanism(np.array([1.5, -2.25]), 1.0, 1.0, frac_bits=8, prg=PRG(b"g" * 16))
    assert np.all(vals * 256 == np.rint(vals * 256))
    assert spec.report()["mechanism"] == "discrete_laplace"
    vals, spec = grid.gaussian_mechanism(np.zeros(50_000), 1.0, 1.0, 1e-5, frac_bits=4, prg=PRG(b"h" * 16))
    assert vals.std() == pytest.approx(spec.noise_scale, rel=0.02)
    with pytest.raises(DPParameterError):
        grid.gaussian_mechanism([1.0], 1.0, 1.0, 0.0)
    with pytest.raises(DPParameterError):
        grid.laplace_spec(-1.0, 1.0)


def test_exponential_mechanism_distribution():
    scores = np.array([0.0, 1.0, 2.0, 0.5])
    eps, sens = 1.5, 1.0
    prg = PRG(b"expmech-key-0001")
    n = 20_000
    picks = np.array([exponential.exponential_mechanism(scores, eps, sens, prg=prg) for _ in range(n)])
    w = np.exp(eps * scores / (2 * sens))
    counts = np.bincount(picks, minlength=scores.size)
    assert stats.chisquare(counts, w / w.sum() * n).pvalue > 1e-4
    assert exponential.report_noisy_max([3.0], 1.0, 1.0) == 0
    with pytest.raises(DPParameterError):
        exponential.exponential_mechanism([], 1.0, 1.0)
    with pytest.raises(DPParameterError):
        exponential.exponential_mechanism([1.0, np.nan], 1.0, 1.0)
