"""hessian-spectrum: the smoke run end to end; the exact spectrum and the eigengap rule against closed forms."""

import json

import torch
import torch.nn.functional as F

from whynets.experiments.hessian_spectrum import exact_spectrum, outlier_count
from whynets.measure.hvp import ModelLoss


def test_smoke_run_records_claims_and_figure(smoke):
    record = smoke.record("hessian-spectrum")
    ids = {c["id"] for c in record["claims"]}
    assert {"hessian-spectrum/outliers-about-C", "hessian-spectrum/bulk-near-zero",
            "hessian-spectrum/bulk-grows-with-width", "hessian-spectrum/small-negative"} == ids
    folder = smoke.folder("hessian-spectrum") / "figures"
    assert (folder / "hessian_spectrum.png").stat().st_size > 1000
    assert json.loads((folder / "hessian_spectrum.json").read_text())["bulk_share"]
    for width in record["results"]["sweep"].values():  # the full spectrum of every member, P eigenvalues
        assert all(len(m["spectrum"]) == m["n_params"] for m in width["members"])


def test_softmax_regression_spectrum_is_psd_with_the_shift_invariance_as_null_space():
    """Cross-entropy of a linear model is convex (H ⪰ 0), and adding one vector to every class's weights
    (and one number to every bias) leaves the softmax unchanged: exactly d + 1 zero eigenvalues."""
    g = torch.Generator().manual_seed(0)
    d, C, n = 6, 4, 80
    x, y = torch.randn(n, d, generator=g), torch.randint(0, C, (n,), generator=g)
    model = torch.nn.Linear(d, C).double()
    with torch.no_grad():
        model.weight.copy_(torch.randn(C, d, generator=g, dtype=torch.float64))
    eigs = exact_spectrum(ModelLoss(model, F.cross_entropy, [(x, y)], dtype=torch.float64))
    # oracle: torch.func.hessian of the same loss
    ml = ModelLoss(model, F.cross_entropy, [(x, y)], dtype=torch.float64)
    oracle = torch.linalg.eigvalsh(torch.func.hessian(lambda t: ml.batch_loss(t, 0))(ml.theta)).flip(0)
    assert torch.allclose(eigs, oracle, atol=1e-12)
    scale = float(eigs[0])
    assert float(eigs[-1]) > -1e-12 * scale
    assert int((eigs.abs() < 1e-10 * scale).sum()) == d + 1


def test_eigengap_rule_counts_the_outliers_of_a_planted_spectrum():
    C = 10
    outliers = [50.0 / (1 + 0.1 * k) for k in range(C)]
    bulk = [2.0 * 0.97 ** k for k in range(40)]
    assert outlier_count(outliers + bulk, C) == C
    assert outlier_count([100.0] + bulk, C) == 1
