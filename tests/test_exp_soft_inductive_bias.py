"""soft-inductive-bias: the smoke run end to end, and closed-form facts about the fits it compares."""

import json

from whynets.experiments.soft_inductive_bias import SoftInductiveBiasSpec, _one_seed


def test_smoke_run_records_claims_and_figure(smoke):
    record = smoke.record("soft-inductive-bias")
    ids = {c["id"] for c in record["claims"]}
    assert {"soft-inductive-bias/soft-matches-validated-order", "soft-inductive-bias/soft-matches-oracle-order",
            "soft-inductive-bias/unpenalized-overfits-simple", "soft-inductive-bias/low-order-underfits-complex"} <= ids
    folder = smoke.folder("soft-inductive-bias") / "figures"
    assert (folder / "soft_inductive_bias.png").stat().st_size > 1000
    assert json.loads((folder / "soft_inductive_bias.json").read_text())["simple"]["hard_test_by_order"]


def test_hard_fits_of_a_noiseless_cubic_match_the_legendre_projection():
    # x³ − x/2 = (2/5) P₃ + (1/10) P₁: order >= 3 recovers it exactly; order 2 misses (2/5) P₃, whose mean square
    # over U[-1, 1] is (2/5)² · E[P₃²] = (4/25) · (1/7) = 0.022857 (least squares on many points ≈ L² projection)
    spec = SoftInductiveBiasSpec(n_train=4000, noise=0.0, n_test=4000, degree=5, gammas=(2.0,))
    out = _one_seed(spec, "cubic", seed=0, curves=False)
    assert max(out["hard_test"][3:]) < 1e-20
    assert abs(out["hard_test"][2] - 4 / 175) < 0.05 * 4 / 175
    assert out["loo_order"] >= 3


def test_unpenalized_high_order_fit_interpolates_noise():
    # order + 1 > n: the minimum-norm least-squares polynomial passes through every noisy sample
    spec = SoftInductiveBiasSpec(n_train=12, noise=0.3, n_test=100, degree=20, gammas=(2.0,))
    out = _one_seed(spec, "cubic", seed=1, curves=False)
    assert out["unpenalized"]["train"] < 1e-16
    assert out["soft"]["train"] > 1e-4  # the penalized fit does not chase the noise to zero
