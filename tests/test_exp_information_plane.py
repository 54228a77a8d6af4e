"""information-plane: the smoke run end to end; the probe against closed forms on the 12-bit inputs (an identity
layer carries log2(4096) = 12 bits, a one-bit layer 1 bit); tanh saturation and fixed-range clipping lose the
bits the theory says; the compression measure and the claims' logic on hand-made curves."""

import math

import pytest
import torch

from whynets.data import DataSpec, load
from whynets.engine import Population
from whynets.experiments.information_plane import (EXPERIMENT, InformationPlane, claims, compression,
                                                   hidden_layers)
from whynets.models import ModelSpec, build


def _h(*p):
    return -sum(q * math.log2(q) for q in p if q > 0)


@pytest.fixture(scope="module")
def bits12():
    ds = load(DataSpec(name="bits12"))
    return ds, torch.cat([ds.y, ds.y_test]), torch.cat([ds.x, ds.x_test])


def _net(widths, act, weights):
    """A whynets MLP on 12 inputs with the given hidden layers' weights (zero biases)."""
    net = build(ModelSpec(kind="mlp", widths=widths, activation=act), (12,), 2, torch.Generator().manual_seed(0))
    linears = [m for m in net.net if hasattr(m, "weight")]
    with torch.no_grad():
        for layer, w in zip(linears, weights):
            layer.weight.copy_(w)
            layer.bias.zero_()
    return net


def test_smoke_run_records_claims_and_figures(smoke):
    record = smoke.record("information-plane")
    assert {c["id"] for c in record["claims"]} == {
        "information-plane/tanh-compression", "information-plane/relu-no-compression",
        "information-plane/prediction", "information-plane/estimator-panel"}
    assert next(c for c in record["claims"] if c["id"].endswith("estimator-panel"))["verdict"] == "reported"
    res = record["results"]
    assert set(res["nets"]) == {"tanh", "relu"} and res["layers"] == [10, 7, 5, 4, 3]
    for net in res["nets"].values():
        assert len(net["ixt"]) == 2 and len(net["ixt"][0]) == len(net["steps"])  # [member][step][layer]
        assert all(len(v) == 5 for v in net["ixt"][0]) and all(0 <= i <= 10 for v in net["ity"][0] for i in v)
        assert set(net["panel"]) == {"layer/10", "layer/30", "fixed/10", "fixed/30", "kde"}
        # the smoke data hold 1000 distinct inputs: no layer can carry more than log2(1000) bits
        assert max(i for m in net["ixt"] for v in m for i in v) <= math.log2(1000) + 1e-9
    folder = smoke.folder("information-plane")
    for name in ("information_plane.png", "information_plane_estimators.png"):
        assert (folder / "figures" / name).stat().st_size > 1000


def test_identity_layer_carries_all_twelve_bits(bits12):
    ds, y, _ = bits12
    p = float(y.float().mean())
    pop = Population([_net((12,), "linear", [torch.eye(12)])])
    out = InformationPlane(kde_from_acc=0.0)(pop, 0, ds, [])
    # T = X on 4096 distinct inputs: H(T) = log2 4096 = 12 bits (binning is exact: ±1 land in the end bins), and
    # I(T;Y) = H(T) + H(Y) − H(T, Y) = H(Y) since (T, Y) has 4096 equiprobable values too; sums of p·log p → 1e-9
    assert out["ixt"][0] == pytest.approx([12.0], abs=1e-9)
    assert out["ity"][0] == pytest.approx([_h(p, 1 - p)], abs=1e-9)
    panel = out["panel"][0]
    assert all(panel[f"{r}/{b}"] == pytest.approx(12.0, abs=1e-9) for r in ("layer", "fixed") for b in (10, 30, 100))
    # KDE (noise var 1e-3): distinct ±1 patterns are >= 2 apart, exp(−4/2e-3) underflows, so the bound is log2 n
    assert panel["kde"] == pytest.approx(12.0, abs=1e-9)


def test_one_bit_layer_matches_the_contingency_table(bits12):
    ds, y, x = bits12
    w2 = torch.zeros(1, 12)
    w2[0, 0] = 1.0
    pop = Population([_net((12, 1), "linear", [torch.eye(12), w2])])
    out = InformationPlane(kde_from_acc=0.0)(pop, 0, ds, [])
    # T = x_0: a balanced bit (2048 inputs each), so I(X;T) = H(T) = 1 bit; I(T;Y) from the 2x2 table by hand
    joint = torch.tensor([[float(((x[:, 0] == a) & (y == b)).sum()) / 4096 for b in (0, 1)] for a in (-1, 1)])
    i_ty = _h(*joint.sum(0).tolist()) + _h(*joint.sum(1).tolist()) - _h(*joint.flatten().tolist())
    assert out["ixt"][0] == pytest.approx([12.0, 1.0], abs=1e-9)
    assert out["ity"][0][1] == pytest.approx(i_ty, abs=1e-9)
    # two clusters of 2048 at distance 2: the KDE bound is −log2(1/2 + 1/2·exp(−4/2e-3)) = 1 bit
    assert out["panel"][0]["kde"] == pytest.approx(1.0, abs=1e-9)
    assert hidden_layers(pop.member(0), x[:3])[1][:, 0].tolist() == x[:3, 0].tolist()


def test_saturation_and_clipping_lose_the_predicted_bits(bits12):
    ds, _, _ = bits12
    # one unit reading the sum s = Σ x_i ∈ {−12, −10, …, 12}, s = 2k − 12 with k ~ Binomial(12, 1/2)
    pk = [math.comb(12, k) / 4096 for k in range(13)]
    probe = InformationPlane(panel_bins=(30,), kde_noise_var=0.0)
    tanh = probe(Population([_net((1,), "tanh", [g * torch.ones(1, 12)]) for g in (2**-6, 10.0)]), 0, ds, [])
    # gains that are powers of 2 keep the float32 sums exact (equal s, equal value). Gain 1/64: tanh is ~linear, the
    # 13 values sit ~0.031 apart in 0.012-wide bins: H(k) bits. Gain 10: tanh(20)
    # rounds to ±1 in float32, so only the sign of s survives: {s < 0, s = 0, s > 0}
    p0 = pk[6]
    assert tanh["ixt"][0][0] == pytest.approx(_h(*pk), abs=1e-9)
    assert tanh["ixt"][1][0] == pytest.approx(_h(p0, (1 - p0) / 2, (1 - p0) / 2), abs=1e-9)
    relu = probe(Population([_net((1,), "relu", [g * torch.ones(1, 12)]) for g in (2**-4, 10.0)]), 0, ds, [])
    # ReLU keeps s > 0 (k = 7..12) apart and merges s <= 0: the same H at any gain over the layer's own range ...
    h_relu = _h(sum(pk[:7]), *pk[7:])
    assert relu["ixt"][0][0] == pytest.approx(h_relu, abs=1e-9)
    assert relu["ixt"][1][0] == pytest.approx(h_relu, abs=1e-9)
    # ... but bins over the fixed [-1, 1] clip every value >= 1 into the last bin: gain 10 leaves {s <= 0, s > 0}
    assert relu["panel"][1]["fixed/30"] == pytest.approx(_h(sum(pk[:7]), sum(pk[7:])), abs=1e-9)
    # gain 1/16: values 0, .125, …, .75 < 1, spaced wider than the 2/30 bins: nothing clipped or merged
    assert relu["panel"][0]["fixed/30"] == pytest.approx(h_relu, abs=1e-9)


def test_compression_is_measured_against_the_no_trend_null():
    steps = [0, 1, 2, 4, 8]
    # after the fit (step 2): 7, 8, 6; peak − last = 2, less its shuffled-order expectation peak − mean = 1: 1
    assert compression([5.0, 9.0, 7.0, 8.0, 6.0], steps, 2) == pytest.approx(1.0)  # the 9 before the fit is ignored
    assert compression([1.0, 2.0, 3.0, 4.0, 5.0], steps, 1) == pytest.approx(-1.5)  # rising: negative, not 0
    assert compression([3.0, 3.0, 3.0, 3.0, 3.0], steps, 0) == 0.0  # flat: no compression
    assert compression([5.0, 4.0, None, 3.0, 2.0], steps, 1) == pytest.approx(1.0)  # a missing reading is skipped
    assert compression([5.0, 4.0, 3.0, 2.0, 1.0], steps, None) is None  # never fitted: no compression phase
    # the null: readings with no trend, in every order, compress by 0 on average (peak − last alone would not)
    import itertools
    orders = list(itertools.permutations([0.3, 1.0, 0.1, 0.7]))
    assert sum(compression(list(o), [0, 1, 2, 3], 0) for o in orders) / len(orders) == pytest.approx(0.0, abs=1e-12)
    assert sum(max(o) - o[-1] for o in orders) / len(orders) == pytest.approx(1.0 - 0.525)


def _results(tanh_drops, relu_drops):
    def net(drops):
        k = len(drops)
        return {"compression": {"layer/30": drops, "kde": drops, "layers": [[0.0] * 4 + [d] for d in drops]},
                "ity": [[[1.0] * 5] for _ in range(k)], "steps": [0, 10], "fit_step": [0] * k,
                "zero_frac": [[0.4, 0.5]] * k, "last_max": [[2.0, 6.0]] * k}
    return {"bins": 30, "layers": [10, 7, 5, 4, 3], "nets": {"tanh": net(tanh_drops), "relu": net(relu_drops)}}


def test_claims_decide_on_intervals_with_no_excuse():
    spec = EXPERIMENT.preset("quick")
    ok = {c.id: c for c in claims(_results([3.0, 3.5, 4.0], [0.0, 0.02, 0.01]), spec)}
    assert ok["information-plane/tanh-compression"].status == "PASS"
    assert ok["information-plane/relu-no-compression"].status == "PASS"
    assert ok["information-plane/prediction"].status == "PASS"
    bad = {c.id: c for c in claims(_results([0.1, 0.2, 0.0], [1.0, 1.2, 0.9]), spec)}
    assert bad["information-plane/tanh-compression"].status == "FAIL"
    relu = bad["information-plane/relu-no-compression"]
    assert relu.status == "FAIL" and relu.expected is None  # compression in ReLU refutes Saxe et al.: a failure
