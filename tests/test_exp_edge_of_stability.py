"""edge-of-stability: the smoke run end to end; the Sharpness reading against the exact λ_max of a quadratic (a linear
model on squared error), and the 2/λ_max threshold on it: full-batch GD converges just below and diverges just above;
the crossing and median read from hand-made rows."""

import json
import math

import torch

from whynets.data import DataSpec, load
from whynets.engine import TrainSpec, population_for, train
from whynets.experiments._dynamics import Sharpness, sharpness
from whynets.experiments.edge_of_stability import EXPERIMENT, _member
from whynets.models import ModelSpec

IDS = {"edge-of-stability/progressive-sharpening", "edge-of-stability/hovers-at-2-over-eta",
       "edge-of-stability/loss-keeps-falling", "edge-of-stability/catapult-spike", "edge-of-stability/catapult-flatter",
       "edge-of-stability/catapult-converges"}


def test_smoke_run_records_claims_and_figure(smoke):
    record = smoke.record("edge-of-stability")
    assert {c["id"] for c in record["claims"]} == IDS
    res, spec = record["results"], EXPERIMENT.preset("smoke")
    assert sorted(float(k) for k in res["edge"]) == sorted(spec.limits)
    for r in res["edge"].values():
        assert all(v is not None and v > 0 for row in r["curve"]["sharpness"] for v in row)
    cat = res["catapult"]
    assert len(cat["lambda0"]) == len(spec.catapult_seeds) and all(v > 0 for v in cat["lambda0"])
    for factor, r in cat["runs"].items():
        for m, l0 in zip(r["members"], cat["lambda0"]):
            assert math.isclose(m["lr"], float(factor) / l0)
    folder = smoke.folder("edge-of-stability") / "figures"
    assert (folder / "edge_of_stability.png").stat().st_size > 1000
    assert set(json.loads((folder / "edge_of_stability.json").read_text())) == {"edge", "catapult"}


def _quadratic():
    """Logistic regression (f = Wx + b) on squared error: L = (1/n) Σ‖Wx + b − onehot‖² is a quadratic whose Hessian is
    (2/n) [X 1]ᵀ[X 1] ⊗ I_C, so λ_max = (2/n) λ_max([X 1]ᵀ[X 1])."""
    ds = load(DataSpec(n_train=200, n_test=20))
    design = torch.cat([ds.x.double(), torch.ones(len(ds.x), 1, dtype=torch.float64)], 1)
    return ds, float(torch.linalg.eigvalsh(design.T @ design)[-1]) * 2 / len(ds.x)


def test_sharpness_is_the_exact_top_eigenvalue_of_a_quadratic():
    ds, exact = _quadratic()
    pop = population_for(ModelSpec(kind="logistic"), ds, [0, 1])
    for k in range(2):  # the Hessian of a quadratic does not depend on the weights
        assert math.isclose(sharpness(pop.member(k), ds, "mse", "float64", 1e-8), exact, rel_tol=1e-6)
    readings = Sharpness(loss="mse", tol=1e-4)(pop, 0, ds, [])["sharpness"]
    assert all(math.isclose(v, exact, rel_tol=1e-3) for v in readings)


def test_gradient_descent_on_a_quadratic_is_stable_exactly_below_two_over_lambda_max():
    ds, exact = _quadratic()
    finals = {}
    for factor in (1.9, 2.1):
        pop = population_for(ModelSpec(kind="logistic"), ds, [0])
        res = train(pop, ds, TrainSpec(optimizer="sgd", momentum=0.0, batch_size=0, lr=factor / exact, steps=400,
                                       loss="mse", eval_points=2))
        finals[factor] = (res.history[0]["train_loss"][0], res.final["train_loss"][0], res.diverged[0])
    start, end, diverged = finals[1.9]
    assert not diverged and end < start
    start, end, diverged = finals[2.1]
    assert diverged or not math.isfinite(end) or end > 1e3 * start


def test_edge_reading_from_rows():
    rows = [{"step": s, "sharpness": [v], "train_loss": [loss]}
            for s, v, loss in ((0, 5.0, 1.0), (10, 15.0, 0.8), (20, 21.0, 0.6), (30, 19.0, 0.7), (40, 20.5, 0.3),
                               (50, 20.2, 0.12))]
    m = _member(rows, 0, 20.0, False)
    assert m["edge_step"] == 20 and m["lambda0"] == 5.0
    assert math.isclose(m["median_ratio"], 20.35 / 20.0)  # median of 21, 19, 20.5, 20.2
    assert math.isclose(m["loss_ratio"], 0.12 / 0.6)
    assert _member(rows, 0, 30.0, False)["edge_step"] is None
    assert _member(rows, 0, 20.0, True)["median_ratio"] is None
