"""depth-vs-width: the smoke run end to end (exact sawtooth counts in the record, trajectories from the circle's
perimeter, equal parameter counts); the compositional target and the log-length fit against hand-computed values."""

import math

import pytest
import torch

from whynets.experiments.depth_vs_width import log_fit, tree_target


def test_smoke_run_records_claims_and_figures(smoke):
    record = smoke.record("depth-vs-width")
    assert {c["id"] for c in record["claims"]} == {
        "depth-vs-width/sawtooth-pieces", "depth-vs-width/shallow-bound", "depth-vs-width/random-deep-pieces",
        "depth-vs-width/trajectory-exponential", "depth-vs-width/trajectory-faster-with-sigma",
        "depth-vs-width/trajectory-mean-field", "depth-vs-width/compositional"}
    res = record["results"]
    # the smoke preset's sawtooth depths 1, 2, 3, 6: exact counts 2^L, decided as a fact
    assert res["pieces"]["sawtooth"] == {"1": 2, "2": 4, "3": 8, "6": 64}
    assert next(c for c in record["claims"] if c["id"].endswith("sawtooth-pieces"))["verdict"] == "pass"
    assert all(max(v) <= int(k) + 1 for k, v in res["pieces"]["shallow"].items())
    for v in res["trajectories"].values():
        r, n = 4.0, 400  # input_dim 16: radius 4; 400 points on the circle
        assert all(run[0] == pytest.approx(2 * n * r * math.sin(math.pi / n)) for run in v["lengths"])
    tree = res["tree"]
    assert abs(tree["params"]["deep"] - tree["params"]["shallow"]) <= 0.02 * tree["params"]["deep"]
    assert len(tree["test_mse"]["deep"]) == len(tree["test_mse"]["shallow"]) == 2
    assert (smoke.folder("depth-vs-width") / "figures" / "depth_vs_width.png").stat().st_size > 1000


def test_tree_target_composes_the_two_input_function():
    x = torch.zeros(1, 8)
    assert float(tree_target(x)) == 0.0  # h(0, 0) = tanh(0) at every node
    x = torch.tensor([[1.0, 1.0, 0, 0, 0, 0, 0, 0]])
    h11 = math.tanh(2 * 1 * 1 + 1 - 1)  # h(1, 1)
    h21 = math.tanh(h11)  # h(h11, 0) = tanh(h11)
    assert float(tree_target(x)) == pytest.approx(math.tanh(h21), rel=1e-6)  # h(h21, 0)


def test_log_fit_recovers_an_exact_exponential():
    lengths = [5.0 * math.exp(0.3 * i) for i in range(10)]
    slope, r2 = log_fit(lengths, 2)
    assert slope == pytest.approx(0.3, abs=1e-12) and r2 == pytest.approx(1.0, abs=1e-12)
    slope, r2 = log_fit([1.0, 2.0, 1.0, 2.0, 1.0, 2.0], 0)
    assert abs(slope) < 0.1 and r2 < 0.2
