"""recommendations: the smoke run end to end, and oracles for the code path it shares with diagnose —

* the critical scales of a wide random tanh stack (``stack_of`` + ``critical_scales``) reach the mean-field critical
  σ_w² of ``kernels.meanfield``, and the rescaled net's measured layer-to-layer χ is mean field's χ₁ = 1;
* on an exact quadratic (a linear model under squared error) λ_max by Lanczos through the engine's loss equals the top
  eigenvalue of 2XᵀX/n, and the step sweep's onset brackets 2/λ_max from above: (1, 1.25];
* ``propagation_phase`` on hand-written signals; ``apply_scales``; the widths at a budget match ``deepest_perturbative``.
"""

import json
import math

import pytest
import torch

from whynets.data import DataSpec, load
from whynets.engine import TrainSpec, population_for, train
from whynets.experiments._recommendations_cells import _lambda_max, params_of, width_for_budget
from whynets.experiments._recommendations_nets import plain_mlp
from whynets.experiments.recommendations import EXPERIMENT
from whynets.kernels.meanfield import chi_1, critical_sigma_w2
from whynets.measure.propagation import layer_signals, stack_of
from whynets.measure.recommendations import (STEP_FACTORS, apply_scales, critical_scales, deepest_perturbative,
                                             onset_bracket, onset_verdict, propagation_phase)
from whynets.models import ModelSpec

IDS = {"recommendations/recommended-init-is-critical", "recommendations/recommended-init-trains",
       "recommendations/off-critical-init-untrainable", "recommendations/lr-sharpness-steady",
       "recommendations/lr-onset", "recommendations/lr-sharpness-steady-cross-entropy",
       "recommendations/shape-best-third"}


def test_smoke_run_records_claims_and_figures(smoke):
    record = smoke.record("recommendations")
    assert {c["id"] for c in record["claims"]} == IDS
    spec = EXPERIMENT.preset("smoke")
    res = record["results"]
    assert set(res["init"]) == set(spec.init_starts)
    for start, v in res["init"].items():
        for arm in ("start", "recommended"):
            assert len(v["arms"][arm]["train_acc"]) == len(spec.init_seeds)
        # the recommendation is mean field's critical point at the stack's own σ_b² (kernels.meanfield)
        assert v["critical_sigma_w2"] == pytest.approx(critical_sigma_w2("tanh", v["sigma_b2"]), rel=1e-9)
        lo, hi = v["scale_range"]  # per-layer √(crit/σ_l²) spans the factor at the layers' mean σ²
        assert lo - 1e-12 <= math.sqrt(v["critical_sigma_w2"] / v["sigma_w2_hidden"]) <= hi + 1e-12
        assert v["layers_rescaled"] == spec.init_depth  # every hidden layer, not the readout
    assert abs(math.log(res["init"]["torch"]["start_phase"]["chi_mean"])) > 0.3  # PyTorch's default: ordered
    assert set(res["lr"]) == {f"{a}/mse" for a in spec.lr_archs} | {f"{a}/ce" for a in spec.ce_archs}
    for entry in res["lr"].values():
        for s in entry["seeds"]:
            assert [float(f) for f in s["curves"]] == list(STEP_FACTORS)
            assert all(len(c) == spec.lr_steps + 1 for c in s["curves"].values())  # steps 0..lr_steps, phases joined
            assert s["lambda_max"] > 0 and s["lambda_after"] > 0
    shape = res["shape"]
    count = params_of((40,), 10)
    assert (shape["recommended"]["depth"], shape["recommended"]["width"]) == \
        deepest_perturbative(count, "relu", spec.shape_budget, spec.shape_max_depth)
    assert all(c["params"] >= spec.shape_budget > count(c["depth"], c["width"] - 1) for c in shape["cells"])
    assert (smoke.folder("recommendations") / "figures" / "recommendations.png").stat().st_size > 1000


def _mean_field_chi(stack, sig) -> float:
    """Mean field layer by layer at the measured lengths, χ_l = σ_w² E[φ'(√q_{l−1} z)²], as propagation_phase
    averages it (geometric mean over the hidden layers)."""
    hidden = range(1, len(stack) - 1)
    chis = [chi_1("tanh", stack[i].sigma_w2, stack[i].sigma_b2, q=sig["q"][i - 1]) for i in hidden]
    return math.exp(sum(map(math.log, chis)) / len(chis))


def test_critical_scales_of_a_wide_tanh_stack_reach_mean_field_criticality():
    """A width-512 Gaussian tanh stack at σ_w² = 3 (chaotic): the recommendation's σ_w² is Schoenholz's 1.76 at
    σ_b² = 0.05; before and after rescaling the measured χ is mean field's at the measured lengths, and once the
    length has settled at q* (the last layers) the rescaled net's χ is 1."""
    with torch.random.fork_rng():
        torch.manual_seed(3)
        net = plain_mlp(in_features=40, n_classes=10, width=512, depth=16, init="gaussian", sigma_w2=3.0, sigma_b2=0.05)
    x = torch.randn(32, 40, generator=torch.Generator().manual_seed(0))
    stack, why = stack_of(net, x)
    assert stack is not None, why
    crit = critical_scales(stack)
    assert crit["sigma_b2"] == pytest.approx(0.05, rel=0.1)
    assert crit["critical_sigma_w2"] == pytest.approx(critical_sigma_w2("tanh", crit["sigma_b2"]), rel=1e-9)
    assert crit["critical_sigma_w2"] == pytest.approx(1.76, abs=0.03)
    sig = layer_signals(net, x, probes=4, seed=0)
    before = propagation_phase(sig)
    assert before["phase"] == "chaotic"
    assert before["chi_mean"] == pytest.approx(_mean_field_chi(stack, sig), rel=0.03)
    apply_scales(net, crit["scales"])
    sig = layer_signals(net, x, probes=4, seed=0)
    after = propagation_phase(sig)
    assert after["phase"] == "critical"
    assert after["chi_mean"] == pytest.approx(_mean_field_chi(stack_of(net, x)[0], sig), rel=0.03)
    assert sum(sig["chi"][-6:-1]) / 5 == pytest.approx(1.0, abs=0.03)


def test_onset_on_an_exact_quadratic_brackets_two_over_lambda():
    """A linear model under the engine's squared error is a quadratic: Lanczos through the engine's loss gives the top
    eigenvalue of 2XᵀX/n, and gradient descent's loss keeps falling up to 2/λ_max and rises just above it."""
    ds = load(DataSpec(n_train=200, n_test=20))
    model = ModelSpec(kind="logistic")
    lam = _lambda_max(population_for(model, ds, [0]).member(0), "mse", ds)
    x = torch.cat([ds.x.flatten(1).double(), torch.ones(len(ds.x), 1, dtype=torch.float64)], 1)
    assert lam == pytest.approx(float(torch.linalg.eigvalsh(2 * x.T @ x / len(x))[-1]), rel=1e-6)
    curves = {}
    for f in STEP_FACTORS:
        gd = TrainSpec(optimizer="sgd", momentum=0.0, lr=f * 2 / lam, batch_size=0, steps=5, eval_every=1, loss="mse")
        curves[f] = [row["train_loss"][0] for row in train(population_for(model, ds, [0]), ds, gd).to_dict()["history"]]
    bracket = onset_bracket(curves)
    assert bracket == (1.0, 1.25)
    assert onset_verdict(bracket) == "pass"


def test_propagation_phase_reads_signals_as_diagnose_does():
    layers = ["0", "2", "4", "6"]  # first layer and readout left out: χ̄ over layers 1..2
    sig = {"layers": layers, "chi": [5.0, 0.5, 0.5, 9.0],
           "chi_per_probe": [[5.0, 0.49, 0.51, 9.0], [5.0, 0.51, 0.49, 9.0], [5.0, 0.5, 0.5, 9.0]]}
    ph = propagation_phase(sig)
    assert ph["chi_mean"] == pytest.approx(0.5) and ph["depth"] == 4
    assert ph["depth_scale"] == pytest.approx(1 / math.log(2)) and ph["phase"] == "ordered"
    flat = dict(sig, chi=[5.0, 1.001, 0.999, 9.0], chi_per_probe=[[5.0, 1.001, 0.999, 9.0]] * 3)
    assert propagation_phase(flat)["phase"] == "critical"  # ξ >= L


def test_apply_scales_multiplies_named_parameters_and_refuses_unknown_ones():
    net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Tanh(), torch.nn.Linear(2, 1))
    w = net[0].weight.detach().clone()
    apply_scales(net, {"0.weight": 2.0})
    assert torch.equal(net[0].weight, 2 * w)
    with pytest.raises(KeyError):
        apply_scales(net, {"5.weight": 2.0})


def test_width_for_budget_is_the_rules_width():
    count = params_of((40,), 10)
    depth, width = deepest_perturbative(count, "relu", 15210)
    assert (depth, width) == (3, 75)  # the MNIST-1D paper's 100-100 MLP budget: 3 × 75, kurtosis 0.64
    assert width_for_budget(count, depth, 15210) == width and width_for_budget(count, 2, 15210) == 100


def test_factory_args_round_trip_the_scales():
    """The recommended arm's model spec carries the scales as JSON: the factory rebuilds the same rescaled net."""
    with torch.random.fork_rng():
        torch.manual_seed(5)
        a = plain_mlp(in_features=4, n_classes=2, width=3, depth=2, scales=json.dumps({"1.weight": 1.5}))
    with torch.random.fork_rng():
        torch.manual_seed(5)
        b = plain_mlp(in_features=4, n_classes=2, width=3, depth=2)
    assert torch.equal(a[1].weight, 1.5 * b[1].weight) and torch.equal(a[3].weight, b[3].weight)
