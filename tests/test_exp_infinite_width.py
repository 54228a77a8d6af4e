"""infinite-width: the smoke run end to end; its numbers against direct recomputations (the engine's own training
and init, exact kernel interpolation, the exact kurtosis formula)."""

import json
import math

import torch
import torch.nn.functional as F

from whynets.data import load
from whynets.engine import population_for, train
from whynets.experiments.infinite_width import EXPERIMENT, _model
from whynets.kernels import kernels
from whynets.kernels.finite_width import excess_kurtosis
from whynets.solvers.kernels import kernel_interpolate, kernel_predict

IDS = {"infinite-width/ntk-converges", "infinite-width/nngp-converges", "infinite-width/lazy-training",
       "infinite-width/trained-net-follows-ntk", "infinite-width/kurtosis-linear", "infinite-width/kurtosis-relu"}


def test_smoke_run_records_claims_and_figure(smoke):
    record = smoke.record("infinite-width")
    assert {c["id"] for c in record["claims"]} == IDS
    res = record["results"]
    spec = EXPERIMENT.preset("smoke")
    assert len(res["kernel_convergence"]) == len(spec.kernel_widths) * len(spec.kernel_seeds)
    assert all(0 < r["ntk_error"] < 2 and 0 < r["nngp_error"] < 2 for r in res["kernel_convergence"])
    assert set(res["trained"]) == {str(w) for w in spec.widths}
    for rows in res["trained"].values():
        assert [r["seed"] for r in rows] == list(spec.seeds)
        assert all(0 < r["weight_change"] < 1 and 0 <= r["disagreement"] <= 1 for r in rows)
    folder = smoke.folder("infinite-width") / "figures"
    assert (folder / "infinite_width.png").stat().st_size > 1000
    assert json.loads((folder / "infinite_width.json").read_text())["widths"] == res["widths"]


def test_weight_change_is_the_engine_training_recomputed(smoke):
    # member 0 of the narrowest width, trained alone by the engine from the engine's seeded init
    res = smoke.record("infinite-width")["results"]
    spec = EXPERIMENT.preset("smoke")
    ds = load(spec.data)
    width = spec.widths[0]
    pop = population_for(_model(spec, width), ds, [spec.seeds[0]])
    w0 = torch.cat([p[0].detach().flatten() for p in pop.params.values()]).double()
    train(pop, ds, spec.train)
    wt = torch.cat([p[0].detach().flatten() for p in pop.params.values()]).double()
    stored = res["trained"][str(width)][0]["weight_change"]
    assert math.isclose(stored, float((wt - w0).norm() / w0.norm()), rel_tol=1e-4)


def test_ntk_accuracy_at_infinite_time_is_exact_kernel_interpolation(smoke):
    res = smoke.record("infinite-width")["results"]
    spec = EXPERIMENT.preset("smoke")
    ds = load(spec.data)
    x = torch.cat([ds.x, ds.x_test]).double()
    n = len(ds.y)
    theta = kernels(x, depth=1, activation=spec.activation, sigma_w2=spec.sigma_w2, sigma_b2=spec.sigma_b2).ntk
    fit = kernel_interpolate(theta[:n, :n], F.one_hot(ds.y, 10).double())
    pred = kernel_predict(theta[n:, :n], fit)
    assert math.isclose(res["kernel_accuracy"]["ntk_acc_inf"], float((pred.argmax(1) == ds.y_test).double().mean()))


def test_kurtosis_cells_carry_the_exact_formula(smoke):
    for r in smoke.record("infinite-width")["results"]["kurtosis"]:
        assert math.isclose(r["exact"], excess_kurtosis(r["depth"], r["width"], r["activation"]))
        assert r["se"] > 0
