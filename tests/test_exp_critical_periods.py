"""critical-periods: the smoke run end to end; what the blur keeps and removes; the Fisher of a linear model."""

import json

import torch

from whynets.data import Dataset
from whynets.data.corruptions import apply_transform, blur
from whynets.experiments.critical_periods import steps_per_epoch
from whynets.engine import TrainSpec
from whynets.measure.fisher import fisher_trace
from whynets.models import ModelSpec, build


def test_smoke_run_records_claims_and_figure(smoke):
    record = smoke.record("critical-periods")
    ids = {c["id"] for c in record["claims"]}
    assert ids == {"critical-periods/blur-late-damage", "critical-periods/damage-grows-with-k",
                   "critical-periods/flip-no-damage", "critical-periods/fisher-rises-then-falls"}
    res = record["results"]
    assert set(res["test_acc"]) == {"clean", "blur@2", "blur@4", "flip@4"}
    assert res["fisher"]["epoch"] == [0, 2, 4, 6]  # every fisher_every = 2 epochs of the 6-epoch clean run
    folder = smoke.folder("critical-periods")
    assert (folder / "figures" / "critical_periods.png").stat().st_size > 1000
    assert json.loads((folder / "figures" / "critical_periods.json").read_text())["fisher"]["mean"]
    cells = smoke.out / "critical-periods" / "cells"
    assert not list(cells.glob("*/checkpoint.safetensors"))  # checkpoints are cleaned up with the cell
    # the deficit is one chain of phases; each clean child continues a phase of it (lineage in cells.json)
    lineage = {c["cell"]: c["parent"] for c in json.loads((folder / "cells.json").read_text())}
    chain = [k for k in lineage if "until_epoch" in k]
    assert len(chain) == 3 and lineage[chain[0]] is None  # blur until 2, then 4; flip until 4
    assert any(lineage[k] == chain[0] for k in chain[1:])  # blur 0 -> 2 -> 4: the second continues the first


def test_blur_keeps_linear_trends_and_removes_the_finest_detail():
    i = torch.arange(40, dtype=torch.float64)
    ramp = blur((2 * i - 7).unsqueeze(0), 4)[0]
    # block means of a line sit at the block centres; linear upsampling through them returns the line exactly
    assert torch.allclose(ramp[2:-2], (2 * i - 7)[2:-2], atol=1e-12)
    zigzag = (-1.0) ** i
    assert blur(zigzag.unsqueeze(0), 4).abs().max() < 1e-12  # every block of 4 averages to 0
    assert torch.equal(blur(zigzag.unsqueeze(0), 1)[0], zigzag)  # factor 1 is the identity
    g = torch.Generator().manual_seed(0)
    zeros = torch.zeros(6, dtype=torch.long)
    ds = Dataset(torch.randn(6, 40, generator=g), zeros, torch.randn(3, 40, generator=g), zeros[:3], {"n_classes": 2})
    flipped = apply_transform(apply_transform(ds, "flip"), "flip")
    assert torch.equal(flipped.x, ds.x) and torch.equal(flipped.x_test, ds.x_test)
    assert not torch.equal(apply_transform(ds, "flip").x, ds.x)
    assert steps_per_epoch(6, TrainSpec(batch_size=4)) == 2 and steps_per_epoch(6, TrainSpec(batch_size=0)) == 1


def test_fisher_trace_of_softmax_regression_matches_its_closed_form():
    # for logits W x + b: E_{c~p} ||(e_c - p)(x, 1)||^2 = (||x||^2 + 1)(1 - ||p||^2); at W = b = 0, p is uniform
    net = build(ModelSpec(kind="logistic"), (40,), 10, torch.Generator().manual_seed(0))
    x = torch.randn(32, 40, generator=torch.Generator().manual_seed(1))
    y = torch.zeros(32, dtype=torch.long)
    with torch.no_grad():
        p = net(x).softmax(1)
    expected = ((x.pow(2).sum(1) + 1) * (1 - p.pow(2).sum(1))).mean()
    assert abs(fisher_trace(net, [(x, y)], kind="exact").estimate - float(expected)) < 1e-4 * float(expected)
    with torch.no_grad():
        net.linear.weight.zero_(), net.linear.bias.zero_()
    assert abs(fisher_trace(net, [(x, y)], kind="exact").estimate - float(0.9 * (x.pow(2).sum(1) + 1).mean())) < 1e-3
