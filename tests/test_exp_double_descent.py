"""double-descent: the smoke run end to end, the interpolation threshold of min-norm random features,
and the curve statistics the claims read."""

import json

import pytest

from whynets.experiments._double_descent_panels import bump, first_below, loglog_slope, rise_peak

IDS = {"rf-peak-at-n", "rf-peak-height", "rf-second-descent", "rf-below-first-minimum", "rf-ridge-removes-peak",
       "mw-peak-at-interpolation", "mw-wide-beats-peak", "mw-ensemble-removes-peak", "mw-noise-enlarges-peak",
       "mw-clean-keeps-falling",
       "mw-path-norm-not-params", "epoch-wise-shape"}


@pytest.fixture(scope="module")
def dd(smoke):
    return smoke.record("double-descent"), smoke.out


def test_smoke_run_records_claims_and_four_figures(dd):
    record, out = dd
    assert {c["id"] for c in record["claims"]} == {f"double-descent/{i}" for i in IDS}
    folder = out / "double-descent" / record["spec_hash"] / "figures"
    for name in ("random_features", "model_wise", "ensemble", "epoch_wise"):
        assert (folder / f"double_descent_{name}.png").stat().st_size > 1000
        assert json.loads((folder / f"double_descent_{name}.json").read_text())
    mw = record["results"]["model_wise"]
    assert mw["params"] == [40 * h + h + h * h + h + 10 * h + 10 for h in mw["widths"]]  # 40-h-h-10 with biases


def test_padding_stays_exactly_zero_in_the_sweep(dd):
    # zero incoming/outgoing weights and biases get exactly zero gradients (ReLU(0) = 0), so SGD never moves them
    for level in dd[0]["results"]["model_wise"]["noise"].values():
        assert level["padding_max"] == 0.0


def test_min_norm_random_features_interpolate_from_n_on_and_peak_at_n(dd):
    rf = dd[0]["results"]["random_features"]
    n, grid, curve = rf["n"], rf["grid"], rf["ridgeless"]["mean"]
    for g, mse in zip(grid, curve["train_mse"]):
        # below n the least-squares fit leaves a residual; from N = n on, N >= n generic features interpolate
        assert (mse < 1e-12) if g >= n else (mse > 0.05)
    # the min-norm solution's norm and the test risk blow up where Φ is square (smallest singular value → 0)
    assert grid[curve["test_mse"].index(max(curve["test_mse"]))] == n
    assert grid[curve["weight_norm"].index(max(curve["weight_norm"]))] == n
    ridge = rf["ridge"]["mean"]["test_mse"]
    assert max(ridge) < 0.1 * max(curve["test_mse"])  # the ridge caps the norm, and the peak with it


def test_curve_statistics():
    # rise above the running minimum: the first descent's bottom (.45) to the peak (.54)
    assert rise_peak([0.7, 0.5, 0.45, 0.5, 0.54, 0.48, 0.45]) == (4, pytest.approx(0.09))
    assert rise_peak([0.9, 0.8, 0.7]) == (None, 0.0)
    assert first_below([0.3, 0.02, 0.0], 0.01) == 2 and first_below([0.3], 0.01) is None
    b = bump([0.9, 0.5, 0.43, 0.47, 0.46, 0.40])
    assert (b["before"], b["at"], b["after"]) == (2, 3, 5) and b["up"] == pytest.approx(0.04)
    assert bump([0.9, 0.5, 0.43, 0.46, 0.47])["size"] == 0.0  # overfitting without a second descent
    assert loglog_slope([1, 10, 100], [3, 30, 300]) == pytest.approx(1.0)


def test_escalation_extends_only_the_seed_fields_of_the_open_claims():
    from whynets.experiments import get
    from whynets.robustness import more_seeds

    exp = get("double-descent")
    spec = exp.preset("quick")
    # a model-wise claim open at its cap (2 seeds): nothing to escalate, the ensemble's members are not added
    fields = exp.seed_fields_for(["double-descent/mw-peak-at-interpolation"])
    assert fields == ("seeds",) and more_seeds(spec, fields, exp.max_seeds) is None
    # the ensemble claim open: only its members double (6 -> 12, the per-field cap), the sweeps stay
    more = more_seeds(spec, exp.seed_fields_for(["double-descent/mw-ensemble-removes-peak"]), exp.max_seeds)
    assert len(more.ensemble_seeds) == 12 and more.seeds == spec.seeds and more.rf_seeds == spec.rf_seeds
    assert more_seeds(more, ("ensemble_seeds",), exp.max_seeds) is None  # at the cap
    # an experiment without a scope: every seed field, one cap for all
    mimic = get("mimic")
    assert mimic.seed_fields_for(["mimic/anything"]) == mimic.seed_fields
