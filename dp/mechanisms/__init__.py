"""Mechanisms: exact samplers, calibration, grid Laplace/Gaussian, the exponential mechanism."""

from dp.mechanisms.calibrate import (analytic_gaussian_delta, analytic_gaussian_sigma, discrete_gaussian_delta,
                                     discrete_gaussian_sigma, laplace_scale)
from dp.mechanisms.exponential import exponential_mechanism
from dp.mechanisms.grid import (GAUSSIAN, LAPLACE, NoiseSpec, add_noise, gaussian_mechanism, gaussian_spec,
                                laplace_mechanism, laplace_spec)
from dp.mechanisms.samplers import bernoulli_exp, discrete_gaussian, discrete_laplace

__all__ = [
    "GAUSSIAN", "LAPLACE", "NoiseSpec", "add_noise", "analytic_gaussian_delta", "analytic_gaussian_sigma",
    "bernoulli_exp", "discrete_gaussian", "discrete_gaussian_delta", "discrete_gaussian_sigma",
    "discrete_laplace", "exponential_mechanism", "gaussian_mechanism", "gaussian_spec", "laplace_mechanism",
    "laplace_scale", "laplace_spec",
]
