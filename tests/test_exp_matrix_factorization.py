"""matrix-factorization: the smoke run end to end, the minimum-nuclear-norm solver it compares with, and the
depth-1 fact (GD on W itself never moves the unobserved entries)."""

import json

import torch

from whynets.experiments.matrix_factorization import MatrixFactorizationSpec, _cell
from whynets.solvers.matrix_completion import low_rank_matrix, min_nuclear_norm_completion, nuclear_norm, observation_mask


def test_smoke_run_records_claims_and_figure(smoke):
    record = smoke.record("matrix-factorization")
    ids = {c["id"] for c in record["claims"]}
    assert {"matrix-factorization/shallow-fails", "matrix-factorization/depth2-recovers",
            "matrix-factorization/depth3-recovers", "matrix-factorization/depth2-min-nuclear",
            "matrix-factorization/deeper-lower-rank", "matrix-factorization/deeper-needs-fewer"} <= ids
    folder = smoke.folder("matrix-factorization") / "figures"
    assert (folder / "matrix_factorization.png").stat().st_size > 1000
    assert json.loads((folder / "matrix_factorization.json").read_text())["sweep"]
    # Gunasekar et al.: depth 2 from small init lands on (about) the minimum-nuclear-norm completion
    assert all(abs(r - 1) < 0.05 for r in record["results"]["sweep"]["depth=2"]["nuclear_ratio"])


def test_min_nuclear_norm_solver_is_feasible_and_certified():
    truth = low_rank_matrix(15, 15, 2, seed=4)
    mask = observation_mask(15, 15, 90, seed=5)  # 40% of the entries: not enough to force the truth
    res = min_nuclear_norm_completion(truth, mask)
    z = res["solution"]
    assert torch.allclose(z[mask], truth[mask], atol=1e-12)  # feasible: agrees with every observation
    # weak duality: lower_bound <= optimum <= ‖Z‖_*, and the truth is feasible, so optimum <= ‖M‖_*
    assert res["lower_bound"] <= res["nuclear_norm"] + 1e-9
    assert (res["nuclear_norm"] - res["lower_bound"]) / res["nuclear_norm"] < 1e-5
    assert res["nuclear_norm"] <= nuclear_norm(truth) * (1 + 1e-6)


def test_depth_one_leaves_unobserved_entries_at_their_init():
    spec = MatrixFactorizationSpec(size=20, rank=2, depths=(1,), init_scale=1e-3, steps=200)
    out = _cell(spec, n_obs=200, mask_seed=0)
    assert abs(out["depth=1"]["test_error"] - 1.0) < 1e-3  # W_ij stays ≈ init (1e-3 scale) off Ω
    # and fits the observed entries (GD stops once the loss is <= 1e-10 of its start: relative residual <= 1e-5)
    assert out["depth=1"]["relative_train_residual"] <= 1e-5
