"""Oracle tests for whynets.solvers.matrix_completion.

Tolerances: generator properties and closed forms at 1e-10 (float64 round-off); the closed-form
factor gradients vs autograd at 1e-10; the ADMM solver at its stopping tolerance (1e-8 relative
residuals, so recovered entries agree to ~1e-6 and the certified duality gap is ≤ 1e-6); the
depth criteria are PHENOMENA's (depth 1 ≥ .9, depth 3 ≤ depth 2, eff. rank at depth 3 ≤ r + 1)
on a smaller 40×40 rank-3 instance that runs in ~3 s.
"""

import math

import pytest
import torch

from whynets.solvers.matrix_completion import (
    completion_by_depth,
    completion_error,
    effective_rank,
    factorized_gd,
    init_factors,
    low_rank_matrix,
    min_nuclear_norm_completion,
    nuclear_norm,
    observation_mask,
)


def test_low_rank_matrix_and_mask():
    m = low_rank_matrix(30, 20, 4, seed=0)
    s = torch.linalg.svdvals(m)
    assert int((s > 1e-10 * s[0]).sum()) == 4
    assert float(m.norm()) == pytest.approx(math.sqrt(30 * 20), rel=1e-12)
    assert torch.equal(m, low_rank_matrix(30, 20, 4, seed=0))
    mask = observation_mask(30, 20, 123, seed=1)
    assert mask.dtype == torch.bool and int(mask.sum()) == 123
    with pytest.raises(ValueError, match="rank"):
        low_rank_matrix(3, 3, 4)


def test_effective_rank_and_nuclear_norm_closed_forms():
    assert effective_rank(torch.eye(7)) == pytest.approx(7.0, rel=1e-12)
    assert effective_rank(torch.outer(torch.arange(1.0, 6.0), torch.ones(4))) == pytest.approx(1.0, rel=1e-12)
    sig = torch.tensor([3.0, 1.0], dtype=torch.float64)
    p = sig / sig.sum()
    assert effective_rank(torch.diag(sig)) == pytest.approx(math.exp(float(-(p * p.log()).sum())), rel=1e-12)
    assert nuclear_norm(torch.diag(torch.tensor([3.0, -2.0, 0.5]))) == pytest.approx(5.5, rel=1e-12)
    assert effective_rank(torch.zeros(3, 3)) == 0.0


def test_one_gd_step_matches_autograd():
    truth = low_rank_matrix(6, 5, 2, seed=2)
    mask = observation_mask(6, 5, 15, seed=3)
    start = init_factors(6, 5, 3, init_scale=0.5, width=4, seed=4)
    lr = 0.01
    res = factorized_gd(truth, mask, 3, factors=start, lr=lr, steps=1, tol=0.0)
    leaves = [f.clone().requires_grad_(True) for f in start]
    prod = leaves[2] @ leaves[1] @ leaves[0]
    (0.5 * ((prod - truth)[mask] ** 2).sum()).backward()
    for got, leaf in zip(res["factors"], leaves):
        assert torch.allclose(got, leaf.detach() - lr * leaf.grad, atol=1e-10)


def test_init_scale_sets_product_entry_magnitude():
    fs = init_factors(100, 100, 3, init_scale=1e-3, seed=5)
    prod = fs[2] @ fs[1] @ fs[0]
    # an entry is a sum of h^(N−1) products of N independent N(0, α^(2/N)/h) factors: Var = α²/h,
    # so ‖W‖_F ≈ α·sqrt(n) (Arora et al.'s check); 10⁴ entries pin the mean square to ~±5%
    rms = float(prod.pow(2).mean().sqrt())
    assert rms == pytest.approx(1e-3 / math.sqrt(100), rel=0.2)


def test_depth_one_leaves_unobserved_entries_at_init():
    truth = low_rank_matrix(20, 20, 2, seed=6)
    mask = observation_mask(20, 20, 150, seed=7)
    start = init_factors(20, 20, 1, init_scale=1e-3, seed=8)
    res = factorized_gd(truth, mask, 1, factors=start)
    assert torch.equal(res["product"][~mask], start[0][~mask])  # zero gradient off Ω, exactly
    assert torch.allclose(res["product"][mask], truth[mask], atol=1e-4)
    assert res["test_error"] == pytest.approx(1.0, abs=1e-2)  # ‖init‖ / ‖M‖ ≈ α = 1e-3


def test_min_nuclear_norm_fully_observed_returns_matrix():
    truth = low_rank_matrix(15, 12, 3, seed=9)
    res = min_nuclear_norm_completion(truth, torch.ones(15, 12, dtype=torch.bool))
    assert res["converged"] and torch.allclose(res["solution"], truth, atol=1e-12)
    assert res["lower_bound"] == pytest.approx(nuclear_norm(truth), rel=1e-6)


def test_min_nuclear_norm_recovers_rank_one():
    truth = low_rank_matrix(30, 30, 1, seed=10)
    mask = observation_mask(30, 30, 450, seed=11)  # half the entries: far above r(2n − r) = 59
    res = min_nuclear_norm_completion(truth, mask)
    assert res["converged"]
    assert completion_error(res["solution"], truth, mask) < 1e-6


def test_min_nuclear_norm_certified_optimal_when_recovery_fails():
    # Too few entries for exact recovery: the solution differs from M and has a strictly smaller
    # nuclear norm; the dual certificate proves it is the minimum (gap ≤ 1e-6 relative).
    truth = low_rank_matrix(40, 40, 3, seed=0)
    mask = observation_mask(40, 40, 500, seed=1)
    res = min_nuclear_norm_completion(truth, mask)
    assert res["converged"] and torch.equal(res["solution"][mask], truth[mask])
    assert res["test_error"] > 0.05
    assert res["lower_bound"] <= res["nuclear_norm"] <= res["lower_bound"] * (1 + 1e-6)
    assert res["nuclear_norm"] < nuclear_norm(truth)  # M itself is feasible, so it cannot be lower


def test_depth_lowers_effective_rank_and_error():
    truth = low_rank_matrix(40, 40, 3, seed=0)
    mask = observation_mask(40, 40, 500, seed=1)
    out = completion_by_depth(truth, mask, (1, 2, 3), init_scale=1e-3, steps=10000, seed=0)
    d1, d2, d3, nuc = out["depth=1"], out["depth=2"], out["depth=3"], out["min-nuclear"]
    # measured: errors 1.00 / .23 / .005, effective ranks 26.5 / 4.3 / 2.99 (truth 2.95)
    assert d1["test_error"] >= 0.9
    assert d3["test_error"] <= d2["test_error"] and d3["test_error"] < 0.05
    assert d3["effective_rank"] <= 3 + 1
    assert d1["effective_rank"] > d2["effective_rank"] > d3["effective_rank"]
    # every interpolating completion has nuclear norm ≥ the certified minimum (up to its residual)
    for d in (d2, d3):
        assert d["nuclear_norm"] >= nuc["lower_bound"] - math.sqrt(2 * d["train_loss"]) * 40
    assert d3["nuclear_norm"] == pytest.approx(out["truth"]["nuclear_norm"], rel=0.01)
