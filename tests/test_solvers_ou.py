"""Oracle tests for whynets.solvers.ou (Mandt, Hoffman & Blei 2017).

* A 2×2 case solved by hand; eigenbasis and scipy Lyapunov solvers agree to 1e-12 (relative);
  residuals of both Lyapunov equations vanish to 1e-12.
* Continuous vs discrete: entrywise in A's eigenbasis the ratio is (a_i + a_j)/(a_i + a_j − η a_i a_j), so
  ‖Σ_d − Σ_c‖/‖Σ_c‖ = c·η·(1 + O(η)); the test checks the slope c in closed form with the O(η) correction
  bounded as derived in the comment.
* Monte-Carlo: 4000 independent chains of the discrete recursion, sample second moments vs the discrete
  solution within 5 standard errors (Var of a Gaussian second moment: (Σ_ii Σ_jj + Σ_ij²)/N).
* (A, B) of least squares vs per-example autograd gradients.
"""

import pytest
import torch

from whynets.solvers.ou import (
    discrete_sgd_stationary_covariance,
    ou_stationary_covariance,
    sgd_linear_regression_noise,
)


def _rotation(d, seed):
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64))
    return q


def _spd_problem(d=3, eigs=(1.0, 2.0, 4.0), seed=0):
    u = _rotation(d, seed)
    a = u @ torch.diag(torch.tensor(eigs, dtype=torch.float64)) @ u.T
    m = torch.randn(d, d, generator=torch.Generator().manual_seed(seed + 1), dtype=torch.float64)
    return a, m @ m.T + 0.1 * torch.eye(d, dtype=torch.float64)


def test_two_by_two_by_hand():
    a = torch.diag(torch.tensor([1.0, 3.0], dtype=torch.float64))
    b = torch.tensor([[2.0, 0.5], [0.5, 1.0]], dtype=torch.float64)
    lr, s = 0.1, 4  # η/S = 0.025
    expected = torch.tensor([[0.025 * 2.0 / 2.0, 0.025 * 0.5 / 4.0],   # Σ_11 = (η/S) B_11/(2a_1) = 0.025
                             [0.025 * 0.5 / 4.0, 0.025 * 1.0 / 6.0]],  # Σ_12 = (η/S) B_12/(a_1 + a_2) = 0.003125
                            dtype=torch.float64)                        # Σ_22 = (η/S) B_22/(2a_2) = 0.0041667
    for method in ("eigh", "lyapunov"):
        assert torch.allclose(ou_stationary_covariance(a, b, lr, s, method=method), expected, rtol=1e-12, atol=0)
    # discrete, by hand: Σ_ij = (η/S) B_ij / (a_i + a_j − η a_i a_j): 2 − 0.1 = 1.9, 4 − 0.3 = 3.7, 6 − 0.9 = 5.1
    expected_d = torch.tensor([[0.025 * 2.0 / 1.9, 0.025 * 0.5 / 3.7], [0.025 * 0.5 / 3.7, 0.025 * 1.0 / 5.1]],
                              dtype=torch.float64)
    for method in ("eigh", "lyapunov"):
        assert torch.allclose(discrete_sgd_stationary_covariance(a, b, lr, s, method=method), expected_d,
                              rtol=1e-12, atol=0)


def test_solvers_agree_and_solve_their_equations():
    a, b = _spd_problem()
    lr, s = 0.05, 8
    cont = {m: ou_stationary_covariance(a, b, lr, s, method=m) for m in ("eigh", "lyapunov")}
    disc = {m: discrete_sgd_stationary_covariance(a, b, lr, s, method=m) for m in ("eigh", "lyapunov")}
    assert torch.allclose(cont["eigh"], cont["lyapunov"], rtol=1e-12, atol=1e-15)
    assert torch.allclose(disc["eigh"], disc["lyapunov"], rtol=1e-12, atol=1e-15)
    q = lr / s * b
    assert torch.allclose(a @ cont["eigh"] + cont["eigh"] @ a, q, rtol=0, atol=1e-12 * float(q.abs().max()))
    m = torch.eye(3, dtype=torch.float64) - lr * a
    resid = disc["eigh"] - m @ disc["eigh"] @ m.T - lr * lr / s * b
    assert float(resid.abs().max()) <= 1e-12 * float(disc["eigh"].abs().max())
    # a non-symmetric drift (stable): only the Lyapunov route applies, AΣ + ΣAᵀ = (η/S)B still holds
    a_ns = a + torch.tensor([[0.0, 0.3, 0.0], [-0.3, 0.0, 0.1], [0.0, -0.1, 0.0]], dtype=torch.float64)
    sig = ou_stationary_covariance(a_ns, b, lr, s)
    assert torch.allclose(a_ns @ sig + sig @ a_ns.T, q, rtol=0, atol=1e-12 * float(q.abs().max()))
    with pytest.raises(ValueError, match="symmetric A"):
        ou_stationary_covariance(a_ns, b, lr, s, method="eigh")


def test_continuous_and_discrete_agree_to_first_order_in_lr():
    eigs = (1.0, 2.0, 4.0)
    a, b = _spd_problem(eigs=eigs, seed=5)
    u = torch.linalg.eigh(a).eigenvectors
    ev = torch.linalg.eigh(a).eigenvalues
    bt = u.T @ b @ u
    s_ = ev[:, None] + ev[None, :]
    p_ = ev[:, None] * ev[None, :]
    # Σ_d − Σ_c = (η/S) B̃ ηp/(s(s − ηp)) entrywise, so rel(η)/η → c = ‖B̃ p/s²‖_F / ‖B̃/s‖_F as η → 0
    slope = float((bt * p_ / s_ ** 2).norm() / (bt / s_).norm())
    a_max = max(eigs)
    for lr in (0.1, 0.05, 0.025, 0.0125, 0.00625):
        cont = ou_stationary_covariance(a, b, lr, 1)
        disc = discrete_sgd_stationary_covariance(a, b, lr, 1)
        rel = float((disc - cont).norm() / cont.norm())
        # each entry of (Σ_d − Σ_c)/η exceeds its limit by the factor s/(s − ηp) ∈ [1, 1/(1 − η·a_max/2)]
        # (p/s ≤ a_max/2), so rel/η lies in [c, c/(1 − η·a_max/2)]: linear in η with an O(η) correction
        assert slope * (1 - 1e-12) <= rel / lr <= slope / (1 - lr * a_max / 2) * (1 + 1e-12)


def test_monte_carlo_chains_reach_the_discrete_covariance():
    a, b = _spd_problem(eigs=(1.0, 2.0, 4.0), seed=2)
    lr, s, chains, steps = 0.25, 2, 4000, 200  # η·λ_max = 1: the OU formula is off by ×2 on the top direction
    sigma_d = discrete_sgd_stationary_covariance(a, b, lr, s)
    sigma_c = ou_stationary_covariance(a, b, lr, s)
    gen = torch.Generator().manual_seed(0)
    noise_chol = torch.linalg.cholesky(b / s)
    w = torch.zeros(chains, 3, dtype=torch.float64)  # every chain starts at w* = 0
    for _ in range(steps):  # transient ∝ ‖I − ηA‖^{2t} = 0.75^{400} ≈ 1e-50: stationary at the end
        xi = torch.randn(chains, 3, generator=gen, dtype=torch.float64) @ noise_chol.T
        w = w - lr * (w @ a + xi)  # A symmetric: (A w)ᵀ = wᵀA
    emp = w.T @ w / chains  # the mean is exactly 0 by symmetry, so the second moment is the covariance
    se = torch.sqrt((torch.diag(sigma_d)[:, None] * torch.diag(sigma_d)[None, :] + sigma_d ** 2) / chains)
    assert bool(((emp - sigma_d).abs() <= 5 * se).all())  # 6 distinct entries at 5 s.e.: false alarm < 1e-5
    assert bool(((emp - sigma_c).abs() > 5 * se).any())  # ... while the OU approximation is rejected


def test_linear_regression_noise_matches_autograd():
    gen = torch.Generator().manual_seed(7)
    x = torch.randn(50, 3, generator=gen, dtype=torch.float64)
    y = x @ torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64) + 0.3 * torch.randn(50, generator=gen,
                                                                                         dtype=torch.float64)
    w_ls = torch.linalg.lstsq(x, y[:, None]).solution[:, 0]
    grads = []
    for i in range(50):  # the per-example loss ½(x_iᵀw − y_i)², differentiated by autograd
        w = w_ls.clone().requires_grad_(True)
        (0.5 * (x[i] @ w - y[i]) ** 2).backward()
        grads.append(w.grad)
    g = torch.stack(grads)
    assert float(g.mean(0).abs().max()) < 1e-12  # the mean gradient vanishes at the least-squares solution
    a, b = sgd_linear_regression_noise(x, y)
    assert torch.allclose(a, x.T @ x / 50, rtol=1e-12, atol=0)
    assert torch.allclose(b, (g - g.mean(0)).T @ (g - g.mean(0)) / 50, rtol=1e-10, atol=1e-14)
    a2, b2 = sgd_linear_regression_noise(x, y, w_ls)
    assert torch.allclose(b2, b, rtol=1e-10, atol=1e-14) and torch.equal(a2, a)


def test_bad_inputs():
    a, b = _spd_problem()
    with pytest.raises(ValueError, match="diverges"):
        discrete_sgd_stationary_covariance(a, b, 0.6, 1)  # η·λ_max = 2.4 > 2
    with pytest.raises(ValueError, match="positive definite"):
        ou_stationary_covariance(-a, b, 0.1, 1)
    with pytest.raises(ValueError, match="semi-definite"):
        ou_stationary_covariance(a, -b, 0.1, 1)
    with pytest.raises(ValueError, match="same shape"):
        ou_stationary_covariance(a, torch.eye(2), 0.1, 1)
    with pytest.raises(ValueError, match="batch_size"):
        ou_stationary_covariance(a, b, 0.1, 0)
    with pytest.raises(ValueError, match="rows"):
        sgd_linear_regression_noise(torch.zeros(5, 2), torch.zeros(4))
