"""min-norm: the smoke run end to end, and the closed forms SGD must reach (Zhang et al. 2017, §5)."""

import json

import torch

from whynets.data import Dataset
from whynets.experiments.min_norm import _kernel_fit, _least_squares


def test_smoke_run_records_claims_and_figure(smoke):
    record = smoke.record("min-norm")
    ids = {c["id"] for c in record["claims"]}
    assert {"min-norm/sgd-zero-init", "min-norm/sgd-nonzero-init", "min-norm/kernel-interpolates",
            "min-norm/digits-generalizes", "min-norm/mnist1d-vs-mlp", "min-norm/gabor-helps"} <= ids
    folder = smoke.folder("min-norm") / "figures"
    assert (folder / "min_norm.png").stat().st_size > 1000
    assert json.loads((folder / "min_norm.json").read_text())["kernel_test_error"]
    claims = {c["id"]: c for c in record["claims"]}
    # exact interpolation: every kernel fit has zero training error, by a plain Cholesky solve
    assert claims["min-norm/kernel-interpolates"]["passed"]
    assert all(r["method"] == "cholesky" and r["train_acc"] == 1.0 for r in record["results"]["kernels"].values())


def test_sgd_reaches_the_pseudo_inverse_and_the_projected_init():
    out = _least_squares(n=15, d=40, seed=3, epochs=400, batch_sizes=(1, 5))
    for b in ("batch=1", "batch=5"):
        assert out[b]["zero_to_min_norm"] < 1e-10  # SGD from 0 -> X⁺y
        assert out[b]["w0_to_predicted"] < 1e-10  # SGD from w0 -> X⁺y + (I − X⁺X) w0
        assert out[b]["train_residual"] < 1e-10  # it interpolates
        # from w0, the distance to X⁺y is exactly w0's null-space part: ‖(I − X⁺X) w0‖ / ‖X⁺y‖
        expected = out["null_part_norm"] / out["min_norm"]
        assert abs(out[b]["w0_to_min_norm"] - expected) < 1e-8 * expected


def test_kernel_interpolation_is_exact_and_separated_classes_generalize():
    g = torch.Generator().manual_seed(0)
    centers = torch.tensor([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])
    y = torch.arange(3).repeat(40)
    y_test = torch.arange(3).repeat(20)
    x = centers[y] + 0.5 * torch.randn(120, 2, generator=g)
    x_test = centers[y_test] + 0.5 * torch.randn(60, 2, generator=g)
    ds = Dataset(x, y, x_test, y_test, {"name": "blobs", "n_classes": 3})
    # Laplace: strictly positive definite and well conditioned even in 2-D (an RBF Gram matrix of 2-D points at the
    # median bandwidth is numerically singular; the instrument then adds jitter and `exact` is False)
    row = _kernel_fit(ds, "laplace", "raw", residual_tol=1e-6)
    assert row["exact"] and row["train_acc"] == 1.0 and row["relative_residual"] < 1e-9
    assert row["test_acc"] == 1.0  # well-separated blobs: the interpolant generalizes perfectly
