"""saddles: the smoke run end to end; the critical-point search on a landscape whose critical points
(and their indices) are known in closed form; PCA whitening."""

import json
import math

import torch

from whynets.data import Dataset
from whynets.experiments.saddles import whitened_pca
from whynets.measure.critical_points import find_critical_point


def test_smoke_run_records_claims_and_figure(smoke):
    record = smoke.record("saddles")
    assert [c["id"] for c in record["claims"]] == ["saddles/index-rises-with-loss"]
    folder = smoke.folder("saddles") / "figures"
    assert (folder / "saddles.png").stat().st_size > 1000
    assert json.loads((folder / "saddles.json").read_text())["index"]
    for p in record["results"]["points"]:
        assert 0.0 <= p["index"] <= 1.0 and p["critical"] == (p["grad_norm"] < 1e-6)


def test_search_finds_every_critical_point_of_a_sum_of_double_wells():
    """F(θ) = Σ (θ_i² − 1)²/4: critical points θ_i ∈ {−1, 0, 1}; a coordinate at 0 is a maximum
    (F'' = −1) and adds 1/4 to F, at ±1 a minimum (F'' = 2). So index = k/n and F = k/4 for k zeros:
    the index rises with the loss, exactly. Newton-type root finding must land on saddles too."""
    n = 8
    objective = lambda t: ((t ** 2 - 1) ** 2).sum() / 4  # noqa: E731
    g = torch.Generator().manual_seed(0)
    for k in range(n + 1):
        target = torch.tensor([0.0] * k + [1.0, -1.0] * n, dtype=torch.float64)[:n]
        start = target + 0.15 * (torch.rand(n, generator=g, dtype=torch.float64) - 0.5)
        res = find_critical_point(objective, start, max_iters=50, tol=1e-10)
        assert res["grad_norm"] < 1e-10
        assert torch.allclose(res["theta"], target, atol=1e-9)
        assert int((res["eigenvalues"] < 0).sum()) == k
        assert math.isclose(float(objective(res["theta"])), k / 4, abs_tol=1e-12)


def test_whitened_pca_has_identity_covariance():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(500, 12, generator=g) @ torch.randn(12, 12, generator=g)
    ds = whitened_pca(Dataset(x, torch.zeros(500, dtype=torch.long), x[:10], torch.zeros(10, dtype=torch.long),
                              {"n_classes": 2}), 5)
    cov = torch.cov(ds.x.double().T)
    assert ds.x.shape == (500, 5)
    assert torch.allclose(cov, torch.eye(5, dtype=torch.float64), atol=1e-5)
