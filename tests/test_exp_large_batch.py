"""large-batch: the smoke run end to end; full-batch GD cannot end sharper than its stability limit 2/η."""

import json

import torch
import torch.nn.functional as F

import whynets as wn
from whynets.engine import TrainSpec, population_for, train
from whynets.experiments.large_batch import _first_crossing
from whynets.measure.lanczos import hessian_eigenpairs


def test_smoke_run_records_claims_and_figure(smoke):
    record = smoke.record("large-batch")
    ids = {c["id"] for c in record["claims"]}
    assert {"large-batch/sharper-lambda-max", "large-batch/sharper-epsilon", "large-batch/tests-worse"} == ids
    folder = smoke.folder("large-batch") / "figures"
    assert (folder / "large_batch.png").stat().st_size > 1000
    assert json.loads((folder / "large_batch.json").read_text())["SB"]["curve"]
    for regime in record["results"]["regimes"].values():  # measured where the loss first fell below the target
        for point in regime["at_target"]:
            assert point is not None and point["train_loss"] <= 2.2 + 1e-3


def test_full_batch_gd_ends_below_its_stability_limit():
    """GD with step η is unstable along any Hessian direction with λ > 2/η, so a run that converges
    (the mechanism that caps large-batch sharpness at the edge of stability) ends with λ_max <= 2/η."""
    ds = wn.data.load(wn.data.DataSpec(n_train=200, n_test=50))
    for lr in (0.2, 0.4):
        pop = population_for(wn.models.ModelSpec(width=32, depth=2), ds, [0, 1])
        res = train(pop, ds, TrainSpec(optimizer="sgd", lr=lr, momentum=0.0, batch_size=0, steps=300, eval_points=2))
        assert max(res.final["train_loss"]) < 0.5
        for k in range(pop.size):
            top = hessian_eigenpairs(pop.member(k), F.cross_entropy, [(ds.x, ds.y)], k=1, dtype=torch.float64)
            assert float(top.eigenvalues[0]) <= 2 / lr * 1.05


def test_first_crossing_reads_the_first_measured_row():
    rows = [{"step": 0, "lambda_max": [None, None], "eps_sharpness": [None, None], "matched_loss": [None, None],
             "test_acc": [0.1, 0.1], "train_acc": [0.1, 0.1]},
            {"step": 5, "lambda_max": [3.0, None], "eps_sharpness": [1.0, None], "matched_loss": [0.09, None],
             "test_acc": [0.6, 0.5], "train_acc": [0.9, 0.8]},
            {"step": 9, "lambda_max": [7.0, 4.0], "eps_sharpness": [2.0, 1.5], "matched_loss": [0.05, 0.08],
             "test_acc": [0.7, 0.55], "train_acc": [0.95, 0.9]}]
    assert _first_crossing(rows, 0)["step"] == 5 and _first_crossing(rows, 0)["lambda_max"] == 3.0
    assert _first_crossing(rows, 1)["step"] == 9 and abs(_first_crossing(rows, 1)["test_acc"] - 55.0) < 1e-9
