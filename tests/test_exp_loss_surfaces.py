"""loss-surfaces: the smoke run end to end; early stopping; a convex model has a single minimum (zero spread)."""

import json

import torch

from whynets.data import Dataset
from whynets.engine import TrainSpec, population_for, train
from whynets.data.corruptions import hold_out
from whynets.experiments.loss_surfaces import early_stopped
from whynets.models import ModelSpec


def test_smoke_run_records_claims_and_figure(smoke):
    record = smoke.record("loss-surfaces")
    assert {c["id"] for c in record["claims"]} == {"loss-surfaces/spread-shrinks", "loss-surfaces/band-is-lower"}
    folder = smoke.folder("loss-surfaces") / "figures"
    assert (folder / "loss_surfaces.png").stat().st_size > 1000
    data = json.loads((folder / "loss_surfaces.json").read_text())
    assert set(data["test_loss"]) == {"4", "32"} and all(len(v) == 3 for v in data["test_loss"].values())


def test_early_stopping_reads_each_member_at_its_lowest_validation_loss():
    history = [{"step": 0, "val_loss": [3.0, 2.0], "test_loss": [3.1, 2.1]},
               {"step": 10, "val_loss": [1.0, 2.5], "test_loss": [1.1, 2.6]},
               {"step": 20, "val_loss": [1.0, 2.0], "test_loss": [1.2, 2.2]}]
    values, steps = early_stopped(history)
    assert values == [1.1, 2.1] and steps == [10, 0]  # ties go to the earlier measurement


def test_convex_model_has_one_minimum_so_the_spread_vanishes():
    # multinomial logistic regression with an L2 penalty is strictly convex: full-batch GD from any seed reaches
    # the same minimum, so the spread of test losses over seeds (the "band" of the paper) is zero
    g = torch.Generator().manual_seed(0)
    x, x_test = torch.randn(120, 5, generator=g), torch.randn(60, 5, generator=g)
    w = torch.randn(5, 3, generator=g)
    y, y_test = (x @ w + torch.randn(120, 3, generator=g)).argmax(1), (x_test @ w).argmax(1)
    ds = hold_out(Dataset(torch.cat([x, x[:10]]), torch.cat([y, y[:10]]), x_test, y_test,
                          {"name": "toy", "n_classes": 3}), 10)
    assert len(ds.y) == 120 and torch.equal(ds.x_val, x[:10])
    spec = TrainSpec(optimizer="sgd", lr=0.5, momentum=0.9, batch_size=0, steps=300, weight_decay=1e-2, eval_points=2)
    convex = train(population_for(ModelSpec(kind="logistic"), ds, range(6)), ds, spec).final["test_loss"]
    mlp = ModelSpec(kind="mlp", width=3, depth=1)
    nonconvex = train(population_for(mlp, ds, range(6)), ds, spec).final["test_loss"]
    assert torch.tensor(convex).std() < 1e-5
    assert torch.tensor(nonconvex).std() > 100 * torch.tensor(convex).std()
