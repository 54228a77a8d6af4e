"""convergence: the smoke run end to end; the Gram matrix is the engine's function-space step (r ← r − ηΘr to first
order); the float64 factory is the engine's own MLP; the log-linear fit recovers an exact exponential."""

import math

import torch

from whynets.data import load
from whynets.engine import TrainSpec, population_for, train
from whynets.experiments._dynamics import fit_log_linear
from whynets.experiments.convergence import EXPERIMENT, _model, gram
from whynets.models import ModelSpec

IDS = {"convergence/step-below-one-over-lambda-max", "convergence/linear-rate", "convergence/rate-set-by-lambda-min",
       "convergence/kernel-stays-near-init"}


def test_smoke_run_records_claims_and_figure(smoke):
    record = smoke.record("convergence")
    assert {c["id"] for c in record["claims"]} == IDS
    res = record["results"]
    spec = EXPERIMENT.preset("smoke")
    assert math.isclose(res["lr"], spec.step_fraction / res["analytic"][1])
    for m in res["members"]:
        assert 0 < m["lambda_min"] < m["lambda_max"] and m["eta_lambda_max"] == res["lr"] * m["lambda_max"]
        assert m["loss"][-1] < m["loss"][0]
    assert (smoke.folder("convergence") / "figures" / "convergence.png").stat().st_size > 1000


def test_gram_matrix_is_the_engines_function_space_step():
    spec = EXPERIMENT.preset("smoke")
    ds = load(spec.data)
    model = _model(spec, 40, ds.n_classes)
    pop = population_for(model, ds, [0])
    net = pop.member(0)
    onehot = torch.nn.functional.one_hot(ds.y, ds.n_classes).double()
    r0 = (net(ds.x) - onehot).detach()
    theta = gram(net, ds.x)
    misses = []
    for lr in (1e-3, 2e-3):
        pop = population_for(model, ds, [0])
        train(pop, ds, TrainSpec(optimizer="sgd", momentum=0.0, batch_size=0, lr=lr, steps=1, loss="mse", eval_points=1))
        r1 = (pop.member(0)(ds.x) - onehot).detach()
        predicted = -lr * (theta @ r0.reshape(-1)).view_as(r0)  # rows (i, class) in the order gram() uses
        misses.append(float((r1 - r0 - predicted).norm() / predicted.norm()))
    # the relative miss is the second-order term, O(η): small, and doubling with the step (a wrong Θ misses by ~65%)
    assert misses[0] < 1e-3 and 1.8 < misses[1] / misses[0] < 2.2


def test_float64_factory_is_the_engines_mlp_in_float64():
    spec = EXPERIMENT.preset("smoke")
    ds = load(spec.data)
    ours = population_for(_model(spec, 40, ds.n_classes), ds, [3, 4])
    plain = population_for(ModelSpec(kind="mlp", width=spec.width, depth=spec.depth, activation=spec.activation,
                                     init="gaussian", sigma_w2=spec.sigma_w2, sigma_b2=spec.sigma_b2,
                                     parametrization="ntk"), ds, [3, 4])
    for name, value in plain.params.items():
        mine = ours.params[f"module.{name}"]
        assert mine.dtype == torch.float64 and torch.equal(mine.float(), value)


def test_log_linear_fit_of_an_exact_exponential():
    steps = list(range(0, 200, 10))
    fit = fit_log_linear(steps, [3.0 * (1 - 0.02) ** (2 * s) for s in steps])
    assert math.isclose(fit["slope"], 2 * math.log(0.98), rel_tol=1e-12) and fit["r2"] > 1 - 1e-12
    assert fit_log_linear([0, 1], [1.0, 0.5]) is None
