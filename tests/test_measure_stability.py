"""Oracle tests for whynets.measure.stability (Hardt, Recht & Singer 2016).

* The bounds' constants on cases worked by hand (arithmetic in the comments), exact to 1e-12.
* logistic_constants: the gradient and Hessian bounds are attained (Hessian at w = 0, gradient as the
  margin → −∞), so L and β are the tightest constants, not just valid ones.
* Monte-Carlo: SGD on a tiny logistic regression, 1024 pairs of runs on neighbouring data sets with the
  same index sequence, α = 2/β. Pathwise, every pair obeys δ_t ≤ α·Σ_{s≤t, i_s = r}(‖x_r‖ + ‖x'_r‖) (the
  step is 1-expansive; tested to 1e-12), and the mean divergence stays ≤ (2L/n)Σα at every step (why
  this cannot fail by chance: see the test).
"""

import math

import pytest
import torch

from whynets.measure.stability import (
    convex_divergence_bound,
    convex_stability_bound,
    logistic_constants,
    nonconvex_stability_bound,
    parameter_divergence,
    strongly_convex_divergence_bound,
    strongly_convex_stability_bound,
)


def _close(a, b):
    return torch.allclose(torch.as_tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64),
                          rtol=1e-12, atol=1e-15)


def test_convex_constants_by_hand():
    # L = 2, n = 100, α = (0.1, 0.1, 0.2): 2L²/n = 8/100 = 0.08, cumulative Σα = 0.1, 0.2, 0.4
    assert _close(convex_stability_bound(2.0, 100, [0.1, 0.1, 0.2], smoothness=10.0), [0.008, 0.016, 0.032])
    # divergence: 2L/n = 0.04 → 0.004, 0.008, 0.016; and ε_stab = L·δ
    assert _close(convex_divergence_bound(2.0, 100, [0.1, 0.1, 0.2]), [0.004, 0.008, 0.016])
    with pytest.raises(ValueError, match=r"α_3 = 0.25 exceeds 2/β = 0.2"):  # β = 10 → α_t ≤ 0.2
        convex_stability_bound(2.0, 100, [0.1, 0.1, 0.25], smoothness=10.0)


def test_strongly_convex_constants_by_hand():
    # L = 1, γ = 0.5, n = 10, α = 0.2 = 1/β (β = 5): δ_{t+1} = 0.9 δ_t + 2·0.2·1/10 = 0.9 δ_t + 0.04
    # δ = 0.04, 0.076, 0.1084 = (2L/(γn))(1 − 0.9^t) = 0.4·(0.1, 0.19, 0.271)
    assert _close(strongly_convex_divergence_bound(1.0, 0.5, 10, [0.2] * 3, smoothness=5.0), [0.04, 0.076, 0.1084])
    # L = 3: ε = L·δ = 3·(2L/(γn))(1 − 0.9^t) with 2L²/(γn) = 18/5 = 3.6, approached but never exceeded
    eps = strongly_convex_stability_bound(3.0, 0.5, 10, [0.2] * 400, smoothness=5.0)
    assert float(eps[0]) == pytest.approx(3 * 2 * 0.2 * 3 / 10, rel=1e-12)  # 0.36
    assert float(eps.max()) <= 3.6 * (1 + 1e-12) and float(eps[-1]) == pytest.approx(3.6, rel=1e-12)
    with pytest.raises(ValueError, match="1/β"):
        strongly_convex_divergence_bound(1.0, 0.5, 10, [0.3], smoothness=5.0)


def test_nonconvex_constants_by_hand():
    # L = β = c = 1 (βc = 1), n = 11: (1 + 1)/10 · (2·1·1)^{1/2} · T^{1/2} = 0.2·√2·√T
    got = nonconvex_stability_bound(1.0, 1.0, 11, 1.0, 4)
    assert _close(got, [0.2 * math.sqrt(2) * math.sqrt(t) for t in (1, 2, 3, 4)])
    # L = 1, β = 2, c = 0.5 (βc = 1): 2cL² = 1 → 0.2·√T; L = 1, β = 1, c = 3 (βc = 3), n = 2:
    # (1 + 1/3)/1 · 6^{1/4} · T^{3/4}, at T = 16: (4/3)·6^{0.25}·8
    assert _close(nonconvex_stability_bound(1.0, 2.0, 11, 0.5, 9)[[0, 8]], [0.2, 0.6])
    assert float(nonconvex_stability_bound(1.0, 1.0, 2, 3.0, 16)[-1]) == pytest.approx(4 / 3 * 6 ** 0.25 * 8,
                                                                                      rel=1e-12)
    with pytest.raises(ValueError, match="c/t"):
        nonconvex_stability_bound(1.0, 1.0, 11, 1.0, 3, step_sizes=[1.0, 0.6, 0.2])


def test_logistic_constants_are_attained():
    x = torch.tensor([[1.0, 0.0, 0.0], [0.0, 3.0, 0.0], [1.2, 0.0, 1.6]], dtype=torch.float64)  # norms 1, 3, 2
    lip, beta = logistic_constants(x)
    assert (lip, beta) == (3.0, 9.0 / 4.0)
    row = x[1]
    # Hessian of log(1 + exp(−y wᵀx)) at w = 0 is σ(0)(1 − σ(0)) x xᵀ = x xᵀ/4: top eigenvalue ‖x‖²/4 = β
    hess = torch.autograd.functional.hessian(lambda w: torch.nn.functional.softplus(-(w @ row)),
                                             torch.zeros(3, dtype=torch.float64))
    assert float(torch.linalg.eigvalsh(hess).max()) == pytest.approx(beta, rel=1e-12)
    # gradient −σ(−wᵀx) x → −x as wᵀx → −∞: norm → ‖x‖ = L (at margin −40, σ = 1 − 4e−18)
    w = (-40.0 / 9.0) * row
    w.requires_grad_(True)
    torch.nn.functional.softplus(-(w @ row)).backward()
    assert float(w.grad.norm()) == pytest.approx(lip, rel=1e-12)


def test_parameter_divergence_by_hand():
    a = {"w": torch.tensor([[0.0, 0.0], [1.0, 1.0]]), "b": torch.tensor([[0.0], [2.0]])}
    b = {"w": torch.tensor([[3.0, 0.0], [1.0, 1.0]]), "b": torch.tensor([[4.0], [2.0]])}
    assert _close(parameter_divergence(a, b), [5.0, 0.0])  # √(3² + 4²) = 5; identical pair → 0
    assert _close(parameter_divergence([a["w"], a["b"]], [b["w"], b["b"]]), [5.0, 0.0])
    with pytest.raises(ValueError, match="different keys"):
        parameter_divergence(a, {"w": b["w"]})


def _logistic_grad(w, x, y):
    """∇_w log(1 + exp(−y wᵀx)) = −y σ(−y wᵀx) x, row-wise over a population."""
    return -(y * torch.sigmoid(-y * (w * x).sum(1)))[:, None] * x


def test_sgd_divergence_on_neighbouring_data_stays_below_the_convex_bound():
    n, d, pairs, steps, r = 20, 3, 1024, 300, 7
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(n, d, generator=gen, dtype=torch.float64)
    y = torch.where(x @ torch.tensor([1.0, -1.0, 0.5], dtype=torch.float64) > 0, 1.0, -1.0).double()
    x_alt, y_alt = x.clone(), y.clone()
    x_alt[r] = torch.randn(d, generator=gen, dtype=torch.float64)  # S' = S with example r replaced
    y_alt[r] = -y[r]
    # shrink the replaced pair to ‖x_r‖, ‖x'_r‖ ≤ L/2 (L = the largest norm of the other examples), so each
    # draw of r adds at most α(‖x_r‖ + ‖x'_r‖) ≤ αL to the divergence, half of the theorem's 2αL
    half = 0.5 * float(torch.cat([x[:r], x[r + 1:]]).norm(dim=1).max())
    x[r] *= min(1.0, half / float(x[r].norm()))
    x_alt[r] *= min(1.0, half / float(x_alt[r].norm()))
    lip, beta = logistic_constants(torch.cat([x, x_alt]))  # L, β over every example of S and S'
    assert lip == pytest.approx(2 * half, rel=1e-12)
    alpha = 2.0 / beta  # the largest step Theorem 3.8 allows
    idx = torch.randint(0, n, (pairs, steps), generator=gen)  # the same index sequence for both runs of a pair
    w = torch.zeros(pairs, d, dtype=torch.float64)
    w_alt = w.clone()
    divergence = torch.empty(steps, pairs, dtype=torch.float64)
    for t in range(steps):
        i = idx[:, t]
        w = w - alpha * _logistic_grad(w, x[i], y[i])
        w_alt = w_alt - alpha * _logistic_grad(w_alt, x_alt[i], y_alt[i])
        divergence[t] = parameter_divergence(w, w_alt)
    # pathwise (1-expansive steps): δ_t ≤ α·(‖x_r‖ + ‖x'_r‖)·K_t, K_t = draws of r up to t; δ = 0 before the first
    draws = torch.cumsum(idx == r, 1).T.double()
    pathwise = alpha * float(x[r].norm() + x_alt[r].norm()) * draws
    assert bool((divergence <= pathwise * (1 + 1e-12) + 1e-15).all())
    assert bool((divergence[draws == 0] == 0).all())
    # mean over pairs vs Theorem 3.8's parameter bound (2L/n)Σα. By the pathwise bound the mean is at most
    # αL·mean K_t, and the bound is 2αL·t/n, so a failure needs mean K_t ≥ 2·E K_t: for Binomial(pairs·t, 1/n)
    # Chernoff gives P ≤ (e/4)^{pairs·t/n} ≤ 0.68^{51} ≈ 3e-9 at t = 1, less after.
    bound = convex_divergence_bound(lip, n, torch.full((steps,), alpha, dtype=torch.float64), smoothness=beta)
    mean = divergence.mean(1)
    assert bool((mean <= bound).all())
    assert float((mean / bound).max()) > 0.05  # ... and the bound is not vacuous at this scale
