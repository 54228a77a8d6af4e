"""Oracle tests for whynets.measure.powerlaw_fit and whynets.measure.spectra.

Tolerances come from the estimators' sampling errors: the continuous MLE has standard error (alpha-1)/√n_tail
(Clauset, Shalizi & Newman 2009, eq. 3.2); the largest eigenvalue of a Gaussian Wishart matrix fluctuates on the
Tracy-Widom scale of Johnstone (2001); BBP outliers fluctuate by O(N^-1/2). Agreement with the ``powerlaw``
package is exact where both use the closed-form MLE, and at its Nelder-Mead tolerance (1e-4) elsewhere.
"""

import contextlib
import io
import logging
import math
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from whynets.measure.powerlaw_fit import bootstrap_alpha, fit_power_law, power_law_quality
from whynets.measure.spectra import (CONV_NORM, esd, layer_matrices, layer_metrics, marchenko_pastur_density,
                                     marchenko_pastur_edge, model_spectra)


@contextlib.contextmanager
def _quiet():
    """The reference packages warn and print freely; keep the test output clean."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def _pareto(alpha, n, seed, xmin=1.0):
    u = torch.rand(n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return xmin * (1 - u) ** (-1 / (alpha - 1))


def _with_body(alpha, n, seed):
    """Half the samples Pareto(alpha) above 1, half uniform on (0, 1): a body that is no power law."""
    g = torch.Generator().manual_seed(seed + 1000)
    body = torch.rand(n, generator=g, dtype=torch.float64)
    return torch.where(torch.rand(n, generator=g, dtype=torch.float64) < 0.5, body, _pareto(alpha, n, seed))


@pytest.mark.parametrize("alpha", [2.5, 3.5])
def test_mle_recovers_pareto_exponent(alpha):
    # n = 1e4: standard error (alpha-1)/sqrt(n) <= 0.025, so 0.1 is 4 standard errors
    fixed = fit_power_law(_pareto(alpha, 10_000, seed=1), xmin=1.0)
    assert abs(fixed.alpha - alpha) < 0.1 and fixed.n_tail == 10_000
    assert fixed.sigma == pytest.approx((fixed.alpha - 1) / 100, rel=1e-12)
    # KS-chosen xmin above a uniform body: ~5000 tail points, standard error <= 0.035 (0.1 ≈ 3 of them)
    ks = fit_power_law(_with_body(alpha, 10_000, seed=2))
    assert abs(ks.alpha - alpha) < 0.1
    assert ks.xmin >= 0.9 and ks.n_tail >= 2000  # the search does not reach into the uniform body


@pytest.mark.parametrize("case", ["pareto-body", "pareto-3.5", "lognormal", "gaussian-esd", "ties"])
def test_agrees_with_powerlaw_package(case):
    powerlaw = pytest.importorskip("powerlaw")
    rng = np.random.default_rng(7)
    x = {"pareto-body": lambda: _with_body(2.5, 1500, seed=3).numpy(),
         "pareto-3.5": lambda: _pareto(3.5, 800, seed=4).numpy(),
         "lognormal": lambda: rng.lognormal(0, 1, 1500),
         "gaussian-esd": lambda: np.linalg.svd(rng.standard_normal((800, 400)), compute_uv=False) ** 2,
         "ties": lambda: np.round(_pareto(2.5, 1500, seed=5).numpy(), 1)}[case]()
    ours = fit_power_law(x)
    with _quiet():
        ref = powerlaw.Fit(x, verbose=0, parameter_ranges={"alpha": [1, None]})  # the default range caps alpha at 3
    assert ours.xmin == float(ref.xmin)
    assert ours.n_tail == int(ref.n_tail)
    closed_form = 1.5 < ref.alpha <= 3  # powerlaw refits other alphas by Nelder-Mead (tol 1e-4) from the MLE
    tol = 1e-9 if closed_form else 1e-3
    assert ours.alpha == pytest.approx(float(ref.alpha), abs=tol)
    assert ours.D == pytest.approx(float(ref.D), abs=tol)


def test_truncated_fit_and_the_bias_of_ignoring_xmax():
    # Pareto(2.5) truncated to [1, 10], drawn by the inverse CDF; the truncated MLE is consistent, while the
    # untruncated MLE converges to 1 + 1/E[ln x] with E[ln x] = 1/u - L/(e^{uL} - 1), u = 1.5, L = ln 10:
    # alpha -> 2.692 (the bias WeightWatcher issue #103 describes)
    u = torch.rand(10_000, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    x = (1 - u * (1 - 10 ** -1.5)) ** (-1 / 1.5)
    truncated = fit_power_law(x, xmin=1.0, xmax=10.0)
    assert abs(truncated.alpha - 2.5) < 0.1  # 0.1 ≈ 5 standard errors at n = 1e4
    L = math.log(10)
    limit = 1 + 1 / (1 / 1.5 - L / math.expm1(1.5 * L))
    assert fit_power_law(x, xmin=1.0).alpha == pytest.approx(limit, abs=0.05)
    powerlaw = pytest.importorskip("powerlaw")
    with _quiet():  # (powerlaw 2.0's Fit keeps the untruncated closed form for alpha in (1.5, 3] even with an
        # xmax, the #103 bias; its truncated likelihood is maximized only with force_numerical_fit)
        ref = powerlaw.Power_Law(data=x.numpy(), xmin=1.0, xmax=10.0, force_numerical_fit=True, verbose=0,
                                 parameter_ranges={"alpha": [1, None]})
    assert truncated.alpha == pytest.approx(ref.alpha, abs=1e-3)  # their Nelder-Mead tolerance
    assert truncated.D == pytest.approx(ref.D, abs=1e-4)


def test_bootstrap_interval_covers_the_true_exponent():
    # a 95% percentile interval misses with probability ~0.05: P(Binomial(10, 0.95) <= 7) = 1.2%
    covered = 0
    for seed in range(10):
        ci = bootstrap_alpha(_pareto(2.5, 1000, seed=10 + seed), n_boot=100, seed=seed)
        covered += ci.low <= 2.5 <= ci.high
        assert ci.low < ci.high and ci.n_failed == 0
    assert covered >= 8


def test_verdicts():
    # a true power law fails CSN's KS criterion (p <= 0.1) with probability 0.1; this seed is one of the 90%
    assert power_law_quality(_with_body(2.5, 2000, seed=20), seed=0)["verdict"] == "power law"
    rng = np.random.default_rng(21)
    assert power_law_quality(rng.exponential(size=2000), seed=0)["verdict"] != "power law"
    # a lognormal's body above its median curves on a log-log plot: rejected outright (KS p ~ 0)
    x = rng.lognormal(0, 1, 2000)
    q = power_law_quality(x, fit_power_law(x, xmin=float(np.median(x))), seed=0)
    assert q["verdict"] == "not a power law" and q["p_value"] < 0.05
    # too short a tail, and the Marchenko-Pastur edge of a Gaussian layer (a bounded bulk, whose KS-chosen
    # "tail" is a few dozen eigenvalues with a spuriously large alpha, WeightWatcher issue #102's symptom)
    assert power_law_quality(_pareto(2.5, 30, seed=22))["verdict"] == "inconclusive"
    mp = esd(torch.randn(1000, 500, generator=torch.Generator().manual_seed(23), dtype=torch.float64))
    q = power_law_quality(mp, seed=0)
    assert q["verdict"] != "power law" and fit_power_law(mp).alpha > 6


def test_marchenko_pastur_density_moments():
    # E[λ] = σ², E[λ²] = σ⁴(1 + 1/Q); integrated in λ = c - h cos θ, where the integrand is smooth
    sigma2 = 1.7
    for Q in (1.0, 2.0, 4.0):
        lo, hi = marchenko_pastur_edge(sigma2, Q)
        theta = (torch.arange(20000, dtype=torch.float64) + 0.5) * math.pi / 20000
        lam = (lo + hi) / 2 - (hi - lo) / 2 * torch.cos(theta)
        w = marchenko_pastur_density(lam, sigma2, Q) * (hi - lo) / 2 * torch.sin(theta) * math.pi / 20000
        assert float(w.sum()) == pytest.approx(1, abs=1e-6)
        assert float((w * lam).sum()) == pytest.approx(sigma2, rel=1e-6)
        assert float((w * lam ** 2).sum()) == pytest.approx(sigma2 ** 2 * (1 + 1 / Q), rel=1e-6)


@pytest.mark.parametrize("Q", [2, 4])
def test_largest_gaussian_eigenvalue_sits_at_the_mp_edge(Q):
    # Johnstone (2001): λ_max(WᵀW) ≈ μ + s·TW1, μ = (√(N-1) + √M)², s = (√(N-1) + √M)(1/√(N-1) + 1/√M)^{1/3};
    # |TW1| <= 4 outside a 1e-3 tail. In units of X = WᵀW/N the edge is λ+ = (1 + 1/√Q)².
    N = 2000
    M = N // Q
    W = torch.randn(N, M, generator=torch.Generator().manual_seed(Q), dtype=torch.float64)
    lam_max = float(esd(W)[-1]) / N
    _, edge = marchenko_pastur_edge(1.0, Q)
    a, b = math.sqrt(N - 1), math.sqrt(M)
    mu, s = (a + b) ** 2 / N, (a + b) * (1 / a + 1 / b) ** (1 / 3) / N
    assert abs(lam_max - edge) <= 4 * s + abs(mu - edge)
    assert 4 * s / edge < 0.03  # "within a few %"


def test_spikes_against_the_randomized_layer():
    g = torch.Generator().manual_seed(30)
    N, M = 1000, 500
    W = torch.randn(N, M, generator=g, dtype=torch.float64)
    m = layer_metrics(W, seed=1, n_boot=0, n_reps=0)
    assert m["num_spikes"] == 0 and m["num_rand_spikes"] == 0
    # the randomized copy keeps the entries: σ² fitted from its ESD median is 1 (eigenvalue rigidity: the
    # median of 500 bulk eigenvalues moves by ~0.3%)
    assert m["mp_sigma2"] == pytest.approx(1.0, abs=0.02)
    assert m["mp_edge"] / N == pytest.approx(marchenko_pastur_edge(1.0, N / M)[1], rel=0.05)
    # rank-3 signal θ·√N·u vᵀ, θ = 3 above the BBP threshold (M/N)^{1/4}: each outlier of X = WᵀW/N sits at
    # (1 + θ²)(M/N + θ²)/θ² (Benaych-Georges & Nadakuditi 2012), up to O(N^-1/2) fluctuations
    u = torch.linalg.qr(torch.randn(N, 3, generator=g, dtype=torch.float64))[0]
    v = torch.linalg.qr(torch.randn(M, 3, generator=g, dtype=torch.float64))[0]
    spiked = W + 3.0 * math.sqrt(N) * u @ v.T
    m = layer_metrics(spiked, seed=1, n_boot=0, n_reps=0)
    assert m["num_spikes"] == 3
    top = esd(spiked)[-3:] / N
    assert torch.allclose(top, torch.full_like(top, 10 * (M / N + 9) / 9), rtol=0.1)
    assert m["mp_softrank"] == pytest.approx(m["mp_edge"] / float(top[-1] * N), rel=1e-12)


def test_conv_slicing_matches_weightwatcher_convention():
    g = torch.Generator().manual_seed(40)
    conv = nn.Conv2d(16, 32, 3)
    narrow = nn.Conv2d(32, 16, (2, 3))  # out < in: slices are transposed to N >= M
    conv1 = nn.Conv1d(8, 24, 5)
    with torch.no_grad():
        for c in (conv, narrow, conv1):
            c.weight.copy_(torch.randn(c.weight.shape, generator=g))
    net = nn.Sequential(conv, narrow, conv1)
    mats = {lm.name: lm for lm in layer_matrices(net)}
    w = conv.weight.double()
    assert mats["0"].matrices.shape == (9, 32, 16) and mats["0"].kind == "conv2d"
    expected = torch.stack([w[:, :, i, j] for i in range(3) for j in range(3)]) * CONV_NORM
    assert torch.equal(mats["0"].matrices, expected)
    wn = narrow.weight.double()
    assert mats["1"].matrices.shape == (6, 32, 16)
    assert torch.equal(mats["1"].matrices[4], wn[:, :, 1, 1].T * CONV_NORM)
    assert mats["2"].matrices.shape == (5, 24, 8) and mats["2"].rf == 5
    twin = nn.Conv2d(8, 24, (5, 1))
    with torch.no_grad():
        twin.weight.copy_(conv1.weight[..., None])
    assert torch.equal(esd(layer_matrices(twin)[0]), esd(mats["2"]))  # a Conv1d is measured as its Conv2d twin
    with _quiet(), contextlib.redirect_stderr(io.StringIO()):
        ww = pytest.importorskip("weightwatcher")
    logging.getLogger("weightwatcher").setLevel(logging.ERROR)
    with _quiet():
        watcher = ww.WeightWatcher(model=nn.Sequential(conv, nn.Linear(20, 48)))
        details = watcher.analyze(plot=False)
        ww_esd = torch.as_tensor(np.sort(watcher.get_ESD(layer=1)))
    assert details["num_evals"].tolist() == [144, 20]
    ours = esd(mats["0"])  # analyze() applies the √½ conv norm (get_ESD does not): the same 144 eigenvalues
    assert details["lambda_max"][0] == pytest.approx(float(ours[-1]), rel=1e-10)
    assert details["log_norm"][0] == pytest.approx(math.log10(float(ours.sum())), rel=1e-10)
    assert torch.allclose(ww_esd * CONV_NORM ** 2, ours, rtol=1e-10)


class ResMLP(nn.Module):
    """A model whynets has never seen: residual blocks with LayerNorm, and a tiny auxiliary head."""

    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(20, 96)
        self.blocks = nn.ModuleList(nn.Sequential(nn.LayerNorm(96), nn.Linear(96, 96), nn.ReLU()) for _ in range(2))
        self.head = nn.Linear(96, 10)
        self.aux = nn.Linear(96, 4)

    def forward(self, x):
        h = self.inp(x)
        for block in self.blocks:
            h = h + block(h)
        return self.head(h), self.aux(h)


def test_model_spectra_on_an_unseen_model():
    with torch.random.fork_rng():
        torch.manual_seed(0)  # nn.Linear's init reads the global RNG: forked, so the caller's stream is untouched
        net = ResMLP()
    mats = layer_matrices(net)
    assert [lm.name for lm in mats] == ["inp", "blocks.0.1", "blocks.1.1", "head", "aux"]
    assert torch.equal(mats[0].matrices[0], net.inp.weight.double())  # (96, 20): N = 96 >= M = 20 as it is
    assert torch.equal(mats[3].matrices[0], net.head.weight.double().T)  # (10, 96) transposed to N = 96
    layers, summary = model_spectra(net, seed=0, n_boot=20, n_reps=20)
    assert [l["name"] for l in layers] == ["inp", "blocks.0.1", "blocks.1.1", "head"]
    assert summary["skipped"][0][0] == "aux"  # 4 eigenvalues < WeightWatcher's min_evals = 8
    for lay, mod in zip(layers, [net.inp, net.blocks[0][1], net.blocks[1][1], net.head]):
        w = mod.weight.detach().double()
        fro2, spec = float(w.square().sum()), float(torch.linalg.matrix_norm(w, ord=2))
        assert lay["log_norm"] == pytest.approx(math.log10(fro2), abs=1e-12)
        assert lay["log_spectral_norm"] == pytest.approx(2 * math.log10(spec), abs=1e-10)
        assert lay["stable_rank"] == pytest.approx(fro2 / spec ** 2, rel=1e-10)
        assert lay["alpha"] == fit_power_law(esd(w)).alpha
        assert lay["alpha_weighted"] == pytest.approx(lay["alpha"] * lay["log_spectral_norm"], rel=1e-12)
        assert lay["verdict"]["verdict"] in ("power law", "inconclusive", "not a power law")
    assert summary["alpha"] == pytest.approx(sum(l["alpha"] for l in layers) / 4, rel=1e-12)


def test_bad_inputs_raise_actionable_errors():
    with pytest.raises(ValueError, match="distinct"):
        fit_power_law([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="NaN"):
        fit_power_law([1.0, float("nan"), 3.0])
    with pytest.raises(ValueError, match='"ks"'):
        fit_power_law([1.0, 2.0, 3.0, 4.0, 5.0], xmin="auto")
    with pytest.raises(ValueError, match="all zeros"):
        layer_metrics(torch.zeros(16, 8), n_boot=0, n_reps=0)
    with pytest.raises(ValueError, match="no weight matrices"):
        model_spectra(nn.Sequential(nn.ReLU(), nn.LayerNorm(4)))
    with pytest.raises(ValueError, match="Q = N/M"):
        marchenko_pastur_edge(1.0, 0.5)


@pytest.mark.slow
def test_bench_quick_prints_a_speedup_line():
    from whynets.bench.spectra import run
    lines = []
    speedup = run(lines.append, quick=True)
    assert len(lines) > 10 and lines[-1] == f"speedup {speedup:.2f}"
    assert any("powerlaw" in line for line in lines)
    assert sum("whole parameters question" in line for line in lines) == 2  # the two trained models
