"""Finite-width output kurtosis: real random networks (every weight drawn) against 3[(1 + κ/n)^L − 1]."""

import math

import pytest
import torch

from whynets.kernels import KernelSpecError
from whynets.kernels.finite_width import (excess_kurtosis, excess_kurtosis_leading, kurtosis_from_moments,
                                          sample_output_moments)


def _delta_se(m2: torch.Tensor, m4: torch.Tensor) -> float:
    """Standard error of mean(m4)/mean(m2)² over independent nets (delta method)."""
    a, b = m4.mean(), m2.mean()
    grad = torch.stack([1 / b**2, -2 * a / b**3])
    cov = torch.cov(torch.stack([m4, m2])) / len(m2)
    return float((grad @ cov @ grad).sqrt())


@pytest.mark.parametrize("activation, depth, width", [("linear", 4, 32), ("relu", 2, 32), ("relu", 4, 64),
                                                      ("leaky_relu:0.3", 3, 32), ("abs", 2, 16)])
def test_monte_carlo_kurtosis_matches_the_exact_formula(activation, depth, width):
    m2, m4 = sample_output_moments(depth, width, activation, nets=6000, generator=torch.Generator().manual_seed(7))
    measured = kurtosis_from_moments(m2, m4)
    exact = excess_kurtosis(depth, width, activation)
    assert abs(measured - exact) <= 4.5 * _delta_se(m2, m4), (measured, exact)


def test_known_constants_and_leading_order():
    assert excess_kurtosis_leading(4, 64, "linear") == pytest.approx(6 * 4 / 64)
    assert excess_kurtosis_leading(4, 64, "relu") == pytest.approx(15 * 4 / 64)
    assert excess_kurtosis(3, 50, "linear") == pytest.approx(3 * ((1 + 2 / 50) ** 3 - 1))
    assert excess_kurtosis(1, 10, "abs") == pytest.approx(excess_kurtosis(1, 10, "linear"))  # |u|² = u²
    # the leading order is within 25% of the exact value for L/n <= 1/16 (the criterion of the experiment)
    for act in ("linear", "relu"):
        for width in (16, 32, 64, 128):
            depth = width // 16
            assert abs(excess_kurtosis_leading(depth, width, act) / excess_kurtosis(depth, width, act) - 1) < 0.25
    assert math.isclose(excess_kurtosis(0, 32, "relu"), 0.0)
    with pytest.raises(KernelSpecError, match="piecewise-linear"):
        excess_kurtosis(2, 32, "tanh")


def test_a_gaussian_output_is_rejected():
    # the test above can fail: the same moments of Gaussian samples (no finite-width effect) read ~0, not the formula
    g = torch.Generator().manual_seed(0)
    z = torch.randn(6000, 64, generator=g, dtype=torch.float64)
    m2, m4 = (z * z).mean(1), (z**4).mean(1)
    assert abs(kurtosis_from_moments(m2, m4) - excess_kurtosis(4, 64, "relu")) > 4.5 * _delta_se(m2, m4)
