"""signal-propagation: the smoke run end to end; its mean-field numbers are the instrument's, its heat map covers the
grid with the claim cells' seeds; the Monte-Carlo net sits at q* at a width where mean field is exact enough."""

import pytest

from whynets.experiments.signal_propagation import EXPERIMENT
from whynets.kernels import critical_sigma_w2, mean_field


def test_smoke_run_records_claims_and_figures(smoke):
    record = smoke.record("signal-propagation")
    assert {c["id"] for c in record["claims"]} == {
        "signal-propagation/critical-point", "signal-propagation/mean-field-fixed-points",
        "signal-propagation/trainable-at-criticality", "signal-propagation/untrainable-off-critical",
        "signal-propagation/shallow-trainable", "signal-propagation/six-xi-c", "signal-propagation/dynamical-isometry",
        "signal-propagation/isometry-needs-small-q"}
    res = record["results"]
    spec = EXPERIMENT.preset("smoke")
    assert res["critical_sigma_w2"] == pytest.approx(critical_sigma_w2("tanh", 0.05), abs=1e-12)
    assert next(c for c in record["claims"] if c["id"].endswith("critical-point"))["verdict"] == "pass"
    assert res["theory"]["8.0"]["xi_c"] == pytest.approx(mean_field("tanh", 8.0, 0.05).xi_c, rel=1e-9)
    assert set(res["cells"]) == {f"{s}/{d}" for s in spec.heat_sigma_w2 for d in spec.heat_depths}
    assert len(res["cells"]["1.76/6"]["train_acc"]) == len(spec.seeds)  # a claim cell: every seed
    assert all(0 <= a <= 1 for c in res["cells"].values() for a in c["train_acc"])
    for v in res["jacobian"].values():
        assert len(v["orthogonal"]["log_s_std"]) == spec.jac_samples
    assert (smoke.folder("signal-propagation") / "figures" / "signal_propagation.png").stat().st_size > 1000
