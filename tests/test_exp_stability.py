"""stability: the smoke run end to end, the softmax constants by hand, the proof's first step exactly, and a pair
with identical data that never diverges (Hardt, Recht & Singer 2016, Thm 3.8)."""

import json
import math

import pytest
import torch
import torch.nn.functional as F

from whynets.data import Dataset
from whynets.engine import TrainSpec, population_for, train
from whynets.experiments.stability import LOGISTIC, neighbouring_rows
from whynets.measure.stability import softmax_constants
from whynets.probes import PairDivergence
from whynets.measure.stability import convex_divergence_bound


def test_smoke_run_records_claims_and_figure(smoke):
    record = smoke.record("stability")
    claims = {c["id"]: c for c in record["claims"]}
    assert set(claims) == {"stability/convex-divergence-bound", "stability/convex-loss-stability",
                           "stability/mlp-divergence-grows", "stability/mlp-divergence-tracks-gap"}
    folder = smoke.folder("stability") / "figures"
    assert (folder / "stability.png").stat().st_size > 1000
    assert json.loads((folder / "stability.json").read_text())["convex"]["bound"]
    cv = record["results"]["convex"]
    pairs = record["results"]["pairs"]
    assert all(len(v) == pairs for v in cv["divergence"]) and cv["steps"][0] == 0
    assert all(v == 0.0 for v in cv["divergence"][0])  # both sides of a pair start from the same init
    assert cv["lr"] <= cv["lr_limit"] and len(cv["alphas"]) == record["spec"]["convex_train"]["steps"]
    # Thm 3.8's bound holds for every pair at every step (not only on average): the divergence can only grow by
    # 2αL/b in a step whose batch holds the differing example, and shrinks otherwise
    assert all(d <= b for row, b in zip(cv["divergence"], cv["bound"]) for d in row)
    assert claims["stability/convex-divergence-bound"]["verdict"] == "pass"
    # the MLP conditions (n 50, 100 at lr .05; lr .1 at n 100) at one step count; the base one is the time-course run
    conds = {(c["n"], c["lr"]): c for c in record["results"]["mlp_conditions"]}
    assert set(conds) == {(50, 0.05), (100, 0.05), (100, 0.1)}
    assert conds[100, 0.05]["divergence"] == record["results"]["mlp"]["divergence"][-1][:4]
    assert all(c["steps"] == record["spec"]["mlp_train"]["steps"] and len(c["gap"]) == 4 for c in conds.values())


def test_softmax_constants_by_hand_and_attained():
    x = torch.tensor([[3.0, 4.0], [1.0, 0.0]])  # x̃ = (3, 4, 1) has the largest norm, √26
    lip, beta, radius = softmax_constants(x)
    assert radius == pytest.approx(math.sqrt(26)) and lip == pytest.approx(math.sqrt(52))
    assert beta == pytest.approx(13.0)
    # the proof's bound after t steps of α = .01 on n = 10 examples: (2L/n)·Σα = (2√52/10)·(.01, .02, .03)
    bound = convex_divergence_bound(lip, 10, [0.01] * 3, smoothness=beta)
    assert torch.allclose(bound, torch.tensor([0.01, 0.02, 0.03], dtype=torch.float64) * 2 * math.sqrt(52) / 10)
    xt = torch.tensor([3.0, 4.0], dtype=torch.float64)

    def loss(params: torch.Tensor, label: int) -> torch.Tensor:  # 3 classes: W (3, 2) and b (3,)
        w, b = params[:6].view(3, 2), params[6:]
        return F.cross_entropy((w @ xt + b)[None], torch.tensor([label]))

    # gradient norm ‖p − e_y‖‖x̃‖ → √2‖x̃‖ = L as p → the one-hot of a wrong class (bias 50 on class 1, label 0)
    wrong = torch.zeros(9, dtype=torch.float64)
    wrong[7] = 50.0
    grad = torch.autograd.functional.jacobian(lambda p: loss(p, 0), wrong)
    assert lip * (1 - 1e-9) <= float(grad.norm()) * (1 + 1e-12) <= lip * (1 + 1e-9)
    # Hessian (diag p − ppᵀ) ⊗ x̃x̃ᵀ: at p = (½, ½, 0) its top eigenvalue is ½‖x̃‖² = β exactly
    half = torch.zeros(9, dtype=torch.float64)
    half[8] = -60.0
    top = float(torch.linalg.eigvalsh(torch.autograd.functional.hessian(lambda p: loss(p, 0), half)).max())
    assert top == pytest.approx(beta, rel=1e-9)
    # and no random point exceeds either constant
    g = torch.Generator().manual_seed(0)
    for _ in range(20):
        p = 3 * torch.randn(9, generator=g, dtype=torch.float64)
        assert float(torch.autograd.functional.jacobian(lambda q: loss(q, 1), p).norm()) <= lip
        assert float(torch.linalg.eigvalsh(torch.autograd.functional.hessian(lambda q: loss(q, 1), p)).max()) <= beta


def _blobs(n: int, extra: int) -> Dataset:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n + extra + 40, 5, generator=g)
    y = torch.randint(3, (n + extra + 40,), generator=g)
    return Dataset(x[:n + extra], y[:n + extra], x[n + extra:], y[n + extra:], {"name": "blobs", "n_classes": 3})


def test_one_full_batch_step_moves_a_pair_apart_by_the_proofs_amount():
    """Same init, full batch of n: after one step w − w' = −(α/n)(∇ℓ(z_j) − ∇ℓ(z'_j)) exactly (the proof's
    first step), which is at most (2L/n)α."""
    n, extra, alpha = 8, 4, 0.05
    ds = _blobs(n, extra)
    rows, swaps = neighbouring_rows(n, extra, [7])
    assert (rows[0] == torch.arange(n)).all() and (rows[1] != rows[0]).sum() == 1
    (j, e), = swaps
    assert rows[1, j] == e and n <= e < n + extra
    pop = population_for(LOGISTIC, ds, [7, 7])
    result = train(pop, ds, TrainSpec(optimizer="sgd", lr=alpha, momentum=0.0, batch_size=0, steps=1, eval_points=2),
                   measure=lambda p, step: PairDivergence()(p, step, ds, []), member_rows=rows)
    model = population_for(LOGISTIC, ds, [7]).member(0)  # the shared initialization

    def grad(i: int) -> torch.Tensor:
        model.zero_grad()
        F.cross_entropy(model(ds.x[i:i + 1]), ds.y[i:i + 1]).backward()
        return torch.cat([model.linear.weight.grad.flatten(), model.linear.bias.grad]).double()

    expected = alpha / n * float((grad(j) - grad(e)).norm())
    measured = result.history[-1]["divergence"]
    assert measured[0] == measured[1] == pytest.approx(expected, rel=1e-4)  # float32 training
    lip, _, _ = softmax_constants(ds.x)
    assert expected <= float(convex_divergence_bound(lip, n, [alpha])[0])


def test_a_pair_with_identical_data_never_diverges():
    n, extra = 30, 5
    ds = _blobs(n, extra)
    rows, _ = neighbouring_rows(n, extra, [3])
    rows = torch.cat([torch.arange(n).repeat(2, 1), rows])  # pair 0: identical data; pair 1: neighbours
    pop = population_for(LOGISTIC, ds, [3, 3, 3, 3])
    result = train(pop, ds, TrainSpec(optimizer="sgd", lr=0.1, momentum=0.0, batch_size=10, steps=30, eval_points=4),
                   measure=lambda p, step: PairDivergence()(p, step, ds, []), member_rows=rows)
    assert all(r["divergence"][0] == 0.0 and r["loss_change"][0] == 0.0 for r in result.history)
    assert result.history[-1]["divergence"][2] > 0  # the neighbouring pair did move apart (3 epochs)
