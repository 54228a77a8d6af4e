"""bounds: the smoke run end to end, the test-set bound against scipy's beta quantile, the per-example stochastic
error count against its binomial law, and random-label nets at chance with vacuous certificates."""

import json
import math

import pytest
import torch
from scipy import stats
from torch import nn

from whynets.experiments.bounds import vacuous
from whynets.measure.pac_bayes import stochastic_errors
from whynets.measure.bounds import test_set_bound


def test_smoke_run_records_claims_and_figure(smoke):
    record = smoke.record("bounds")
    ids = {c["id"] for c in record["claims"]}
    assert {"bounds/pac-bayes-nonvacuous", "bounds/compression-nonvacuous", "bounds/random-labels-vacuous",
            "bounds/test-set-tightest-true", "bounds/reference-vacuous-true",
            "bounds/test-set-tightest-random", "bounds/reference-vacuous-random"} <= ids
    folder = smoke.folder("bounds") / "figures"
    assert (folder / "bounds.png").stat().st_size > 1000
    assert set(json.loads((folder / "bounds.json").read_text())) == {"true", "random"}
    res = record["results"]
    for labels in ("true", "random"):
        certified = res["labels"][labels]["certified"]
        for name in ("pac_bayes", "compression"):
            rows = certified[name]
            assert [r["seed"] for r in rows] == res["seeds"]
            for r in rows:
                per_width = [res["labels"][labels]["widths"][str(w)][name]["members"][res["seeds"].index(r["seed"])]
                             for w in res["widths"]]
                assert r["bound"] == min(m["bound"] for m in per_width)  # the best width, each at δ/len(widths)
                assert 0 < r["bound"] <= 1  # kl / binomial inversions live in [0, 1]
    # every PAC-Bayes member was certified at δ/k, δ'/k for the k widths of the grid (the union bound)
    k = len(res["widths"])
    spec = record["spec"]
    for labels in ("true", "random"):
        for w in res["widths"]:
            for m in res["labels"][labels]["widths"][str(w)]["pac_bayes"]["members"]:
                assert m["delta"] == pytest.approx(spec["delta"] / k)
                assert m["delta_mc"] == pytest.approx(spec["delta_mc"] / k)
    # no claim of bounds declares an expected finding: a vacuous bound on true labels is a failure
    assert not any(c.get("expected") or c.get("expected_failure") for c in record["claims"])


def test_random_label_nets_are_at_chance_and_their_bounds_vacuous(smoke):
    res = smoke.record("bounds")["results"]["labels"]["random"]
    for w, cells in res["widths"].items():
        for m in cells["reference"]["members"]:
            # labels independent of the inputs: the net's error on clean test labels is 1/2 up to binomial noise
            # (4 SDs of k/n at n = 200 test examples: 4·sqrt(.25/200) = 0.14) and the chance agreement of a
            # label-independent function with the true labels (measured <= 0.04 in the quick run, n = 5000)
            assert abs(m["test_errors"] / m["n_test"] - 0.5) <= 4 * math.sqrt(0.25 / m["n_test"]) + 0.01
    for name in ("pac_bayes", "compression"):
        for r in res["certified"][name]:
            assert r["bound"] >= 0.5  # no better than a coin: vacuous for a binary task
            errors = r["snn_test_errors"] if name == "pac_bayes" else r["test_errors"]
            assert r["bound"] >= stats.beta.ppf(0.025, errors, r["n_test"] - errors + 1)  # it holds (CP lower end)


@pytest.mark.parametrize("k,n,delta", [(0, 100, 0.05), (7, 200, 0.025), (1234, 5000, 0.01), (50, 50, 0.05)])
def test_test_set_bound_is_the_beta_quantile(k, n, delta):
    # Langford 2005 Thm 3.3: the largest p with P[Bin(n, p) <= k] >= δ is the one-sided Clopper-Pearson limit
    # Beta(1 − δ; k + 1, n − k) (= 1 at k = n); both are float64 solves: agreement to ~1e-9
    expected = 1.0 if k == n else stats.beta.ppf(1 - delta, k + 1, n - k)
    assert test_set_bound(k, n, delta) == pytest.approx(expected, abs=1e-9)


def test_stochastic_errors_draw_a_fresh_net_per_example():
    # f(x) = w·x with w ~ N(μ, σ²), every x = 1 and label 1 (two logits: [0, w]): an example is wrong iff w < 0,
    # probability Φ(−μ/σ). Fresh draws per example make the count Binomial(n, p); ONE shared draw for the chunk
    # (chunk = n here) would give 0 or n. Tolerance: 4 binomial SDs.
    net = nn.Linear(1, 2, bias=False)
    mean = {"weight": torch.tensor([[0.0], [0.5]])}
    std = {"weight": torch.tensor([[0.0], [1.0]])}
    n = 20000
    x, y = torch.ones(n, 1), torch.ones(n, dtype=torch.long)
    p = stats.norm.cdf(-0.5)
    k = stochastic_errors(net, mean, std, x, y, seed=3, chunk=n)
    assert abs(k - n * p) <= 4 * math.sqrt(n * p * (1 - p))
    # with zero variance it is the deterministic net's error count
    assert stochastic_errors(net, mean, {"weight": torch.zeros(2, 1)}, x, y, seed=0) == 0


def test_vacuous_bounds_print_their_value_unclipped():
    assert vacuous(0.4321) == "0.432"
    assert vacuous(1352.0) == "vacuous (1352)"
    assert vacuous(1.0) == "1.000"
