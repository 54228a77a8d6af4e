"""Oracle tests for whynets.solvers.polynomial.

Tolerances: basis identities (NumPy ``legvander``, Gauss–Legendre quadrature) at 1e-10 absolute
(the recurrence is stable on [-1, 1]; entries are ≤ sqrt(degree)); fits vs NumPy normal-equation /
lstsq solves at 1e-8 relative (κ(Φ) ≤ ~1e3 for the small degrees used, so both sides are accurate to
~1e-12); closed-form LOO vs brute-force refits at 1e-8 relative.
"""

import math

import numpy as np
import pytest
import torch

from whynets.solvers.polynomial import (
    fit_polynomial,
    fit_soft_polynomial,
    legendre_features,
    loo_mse,
    make_regression_data,
    predict_polynomial,
    select_lambda,
    select_order,
)


def _rel(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def test_legendre_matches_numpy_legvander():
    x = torch.linspace(-1, 1, 37, dtype=torch.float64)
    ref = np.polynomial.legendre.legvander(x.numpy(), 12)
    assert np.allclose(legendre_features(x, 12, normalized=False).numpy(), ref, atol=1e-10)


def test_normalized_legendre_is_orthonormal():
    nodes, weights = np.polynomial.legendre.leggauss(80)  # exact for polynomials of degree ≤ 159
    phi = legendre_features(torch.from_numpy(nodes), 60).numpy()
    gram = phi.T @ (weights[:, None] * phi)
    assert np.allclose(gram, np.eye(61), atol=1e-10)


def test_lambda_zero_is_plain_least_squares():
    d = make_regression_data("sine", 25, seed=0)
    coef = fit_soft_polynomial(d["x"], d["y"], 8, lam=0.0, gamma=3.0)
    phi = legendre_features(d["x"], 8).numpy()
    assert _rel(coef, np.linalg.lstsq(phi, d["y"].numpy(), rcond=None)[0]) < 1e-8
    assert torch.allclose(coef, fit_polynomial(d["x"], d["y"], 8))
    # over-parameterized (degree + 1 > n): the minimum-norm interpolant, as NumPy's pinv gives
    wide = fit_polynomial(d["x"], d["y"], 40)
    phi40 = legendre_features(d["x"], 40).numpy()
    assert _rel(wide, np.linalg.pinv(phi40) @ d["y"].numpy()) < 1e-8


@pytest.mark.parametrize("gamma", [1.0, 1.7])
def test_soft_fit_equals_generalized_ridge_normal_equations(gamma):
    d = make_regression_data("cubic", 20, seed=1)
    degree, lam = 10, 0.3
    phi = legendre_features(d["x"], degree).numpy()
    penalty = lam * np.diag(gamma ** np.arange(degree + 1))  # gamma = 1: ordinary ridge
    oracle = np.linalg.solve(phi.T @ phi + penalty, phi.T @ d["y"].numpy())
    assert _rel(fit_soft_polynomial(d["x"], d["y"], degree, lam=lam, gamma=gamma), oracle) < 1e-8


def test_soft_fit_is_stable_for_huge_penalties():
    # γ^50 = 2^50 ≈ 1e15: the change of variables keeps the solve well posed; high orders vanish
    d = make_regression_data("sine", 30, seed=2)
    coef = fit_soft_polynomial(d["x"], d["y"], 50, lam=1e-2, gamma=2.0)
    assert torch.isfinite(coef).all()
    assert float(coef[30:].abs().max()) < 1e-6 * float(coef[:5].abs().max())
    # λ → ∞ shrinks everything to 0
    assert float(fit_soft_polynomial(d["x"], d["y"], 50, lam=1e12).abs().max()) < 1e-9


@pytest.mark.parametrize("lam", [0.0, 1e-3, 0.5])
def test_closed_form_loo_equals_refits(lam):
    d = make_regression_data("sine", 18, seed=3)
    x, y, degree, gamma = d["x"], d["y"], 7, 1.8
    errs = []
    for i in range(len(x)):
        keep = torch.arange(len(x)) != i
        coef = fit_soft_polynomial(x[keep], y[keep], degree, lam=lam, gamma=gamma)
        errs.append(float(predict_polynomial(x[i:i + 1], coef)[0] - y[i]) ** 2)
    assert loo_mse(x, y, degree, lam=lam, gamma=gamma) == pytest.approx(np.mean(errs), rel=1e-8)


def test_loo_is_infinite_for_interpolating_hard_fit():
    d = make_regression_data("cubic", 10, seed=4)
    assert loo_mse(d["x"], d["y"], 9) == math.inf


def test_selection_recovers_order_of_a_cubic():
    # Low-noise cubic: orders < 3 miss the x³ term, whose L² mass dwarfs the noise (LOO ~1e-2 vs
    # ~1e-4); from order 3 on the LOO error sits at the noise level σ² = 1e-4 (measured 8.8e-5 at
    # k = 3, minimum 8.5e-5 at k = 5: LOO does not always pick the smallest adequate order).
    d = make_regression_data("cubic", 40, noise=0.01, seed=5)
    sel = select_order(d["x"], d["y"], range(0, 12))
    loo = dict(sel["table"])
    assert sel["order"] >= 3 and min(loo[0], loo[1], loo[2]) > 50 * loo[3]
    assert loo[3] < 2 * 0.01**2 and loo[3] <= 1.1 * sel["loo"]
    sel = select_lambda(d["x"], d["y"], 30, gamma=2.0)
    coef = fit_soft_polynomial(d["x"], d["y"], 30, lam=sel["lam"], gamma=2.0)
    test_mse = float(((predict_polynomial(d["x_test"], coef) - d["y_test"]) ** 2).mean())
    assert test_mse < 1e-3  # noise variance is 1e-4; the soft fit is near the noise floor


def test_soft_prior_vs_unpenalized_high_order():
    # Wilson's point: the same order-50 model is harmless with the soft prior, wild without it
    # (measured test MSE: soft .005, unpenalized min-norm 3.7e3 on this draw).
    d = make_regression_data("sine", 30, noise=0.1, seed=0)
    sel = select_lambda(d["x"], d["y"], 50, gamma=2.0)
    soft = predict_polynomial(d["x_test"], fit_soft_polynomial(d["x"], d["y"], 50, lam=sel["lam"], gamma=2.0))
    wild = predict_polynomial(d["x_test"], fit_polynomial(d["x"], d["y"], 50))
    soft_mse = float(((soft - d["y_test"]) ** 2).mean())
    assert soft_mse < 0.02 and float(((wild - d["y_test"]) ** 2).mean()) > 100 * soft_mse


def test_data_generator_is_seeded_and_validates():
    a, b = make_regression_data("complex", 12, seed=7), make_regression_data("complex", 12, seed=7)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert float(a["x"].abs().max()) <= 1
    with pytest.raises(ValueError, match="kind"):
        make_regression_data("nope", 3)
    with pytest.raises(ValueError, match=r"\[-1, 1\]"):
        legendre_features(torch.tensor([2.0]), 3)
