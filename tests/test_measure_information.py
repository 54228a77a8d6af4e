"""Oracle tests for whynets.measure.information.

* binned_mi: discrete cases computed by hand (exact to 1e-12: sums of a few p·log2 p).
* kde_mi: the two pairwise-distance bounds sandwich a Monte-Carlo estimate of the true I(X;T) of the
  mixture channel (tolerance: 5 standard errors of the MC mean); for T ~ N(0, σ_t²I) as n → ∞ they converge
  to closed forms derived below, and bracket the Gaussian-channel value (d/2)·log(1 + σ_t²/σ_n²).
* knn_mi: equals a brute-force KD-tree reference to 1e-12, and over seeds its mean matches the Gaussian
  closed forms within a Student-t interval plus the estimator's measured bias (see _KSG_BIAS).
"""

import math

import numpy as np
import pytest
import torch
from scipy.spatial import cKDTree
from scipy.special import digamma
from scipy.stats import t as student_t

from whynets.measure.information import binned_mi, discrete_entropy, kde_mi, knn_mi

LN2 = math.log(2.0)


def _h(*p):
    return -sum(q * math.log2(q) for q in p if q > 0)


# ---------------------------------------------------------------- binning
def test_binned_identity_layer_gives_log_n_and_label_entropy():
    t = torch.arange(16.0)[:, None]  # 16 distinct inputs, bins=16 over [0, 15] keeps them apart
    y = torch.tensor([0] * 8 + [1] * 4 + [2] * 4)
    ixt, ity = binned_mi(t, None, y, bins=16)
    assert ixt == pytest.approx(4.0, abs=1e-12)  # log2 16
    assert ity == pytest.approx(_h(0.5, 0.25, 0.25), abs=1e-12)  # H(Y) = 1.5 bits
    assert binned_mi(torch.full((16, 3), 0.7), None, y, bins=30) == (0.0, 0.0)  # constant layer


def test_binned_hand_case_layer_range_vs_fixed_range():
    # one ReLU-like unit over 8 inputs; labels split the inputs in halves
    t = torch.tensor([0.0, 0.1, 0.2, 0.3, 2.0, 3.0, 4.0, 5.0])
    y = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    # layer range [0, 5], 2 bins of width 2.5: bin 0 = {0, .1, .2, .3, 2}, bin 1 = {3, 4, 5}
    h_t = _h(5 / 8, 3 / 8)  # = 0.954434
    h_t_given_y = 0.5 * 0.0 + 0.5 * _h(1 / 4, 3 / 4)  # y=0 → all bin 0; y=1 → {2}:bin 0, {3,4,5}:bin 1
    ixt, ity = binned_mi(t, None, y, bins=2)
    assert ixt == pytest.approx(h_t, abs=1e-12)
    assert ity == pytest.approx(h_t - h_t_given_y, abs=1e-12)  # 0.954434 − 0.405639 = 0.548795
    # the IDNNs range (−1, 1): bins [−1, 0) and [0, 1], everything ≥ 0 lands in bin 1 → no information
    assert binned_mi(t, None, y, bins=2, range=(-1.0, 1.0)) == (0.0, 0.0)


def test_binned_patterns_and_example_ids():
    # two units, 4 inputs, 4 distinct bin patterns → 2 bits; labels = first unit → I(T;Y) = 1 bit
    t = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = torch.tensor([0, 0, 1, 1])
    assert binned_mi(t, None, y, bins=2) == pytest.approx((2.0, 1.0), abs=1e-12)
    # every example repeated 3 times under its id: X is still uniform over 4 examples, nothing changes
    ids = torch.arange(4).repeat(3)
    assert binned_mi(t.repeat(3, 1), ids, y.repeat(3), bins=2) == pytest.approx((2.0, 1.0), abs=1e-12)
    # a stochastic layer: each of 2 ids maps to both patterns equally → H(T) = 1, H(T|X) = 1, I(X;T) = 0
    ixt, _ = binned_mi(torch.tensor([0.0, 1.0, 0.0, 1.0]), torch.tensor([0, 0, 1, 1]), torch.zeros(4), bins=2)
    assert ixt == pytest.approx(0.0, abs=1e-12)
    # one-hot labels are symbols too
    assert binned_mi(t, None, torch.nn.functional.one_hot(y), bins=2) == pytest.approx((2.0, 1.0), abs=1e-12)
    assert discrete_entropy(torch.tensor([3, 3, 7, 9])) == pytest.approx(_h(0.5, 0.25, 0.25), abs=1e-12)


def test_binned_bad_inputs():
    with pytest.raises(ValueError, match="rows"):
        binned_mi(torch.zeros(5, 2), None, torch.zeros(4), bins=3)
    with pytest.raises(ValueError, match="hi > lo"):
        binned_mi(torch.zeros(5, 2), None, torch.zeros(5), bins=3, range=(1.0, -1.0))
    with pytest.raises(ValueError, match="NaN"):
        binned_mi(torch.tensor([[float("nan")]]), None, torch.zeros(1), bins=3)


# ---------------------------------------------------------------- KDE bounds
def _mc_true_ixt(h, var, draws, gen):
    """I(X;T) in nats for X uniform on the rows of h, T = h_X + N(0, var·I): the mean over t = h_i + ε of
    log N(t; h_i) − log (1/n) Σ_j N(t; h_j). Returns (mean, standard error)."""
    n, d = h.shape
    eps = torch.randn(draws, n, d, generator=gen, dtype=torch.float64) * math.sqrt(var)
    t = (h[None] + eps).reshape(-1, d)
    log_own = -(eps.reshape(-1, d) ** 2).sum(1) / (2 * var)
    log_mix = torch.logsumexp(-torch.cdist(t, h) ** 2 / (2 * var), dim=1) - math.log(n)
    vals = log_own - log_mix
    return float(vals.mean()), float(vals.std() / math.sqrt(vals.numel()))


def test_kde_bounds_sandwich_the_true_mixture_information():
    gen = torch.Generator().manual_seed(0)
    h = torch.randn(200, 2, generator=gen, dtype=torch.float64)
    var = 0.05  # components overlap partly: the bounds are apart, the truth in between
    truth, se = _mc_true_ixt(h, var, draws=50, gen=gen)
    upper, _ = kde_mi(h, torch.zeros(200), var)
    lower, _ = kde_mi(h, torch.zeros(200), var, bound="lower")
    assert lower * LN2 - 5 * se <= truth <= upper * LN2 + 5 * se  # 5 s.e.: a false alarm is < 1e-6
    assert upper - lower > 0.3  # not a vacuous sandwich


def test_kde_separated_components_give_log_n_and_label_entropy():
    # 16 points on a grid of spacing 1 with noise σ² = 1e-4: pairwise terms are exp(−1/2e−4) = 0 in float64,
    # so both bounds equal log2 16 exactly; two far-apart classes (3/4, 1/4) give I(T;Y) = H(Y)
    grid = torch.stack(torch.meshgrid(torch.arange(4.0), torch.arange(4.0), indexing="ij"), -1).reshape(16, 2)
    y = (torch.arange(16) < 12).long()
    for bound in ("upper", "lower"):
        ixt, ity = kde_mi(grid, y, 1e-4, bound=bound)
        assert ixt == pytest.approx(4.0, abs=1e-9)
        assert ity == pytest.approx(_h(0.75, 0.25), abs=1e-9)
    # the same but classes only separated far away from each other, points within a class coincide:
    pts = torch.cat([torch.zeros(6, 2), torch.full((2, 2), 50.0)])
    ixt, ity = kde_mi(pts, torch.tensor([0] * 6 + [1] * 2), 0.1)
    assert ixt == pytest.approx(_h(0.75, 0.25), abs=1e-9) and ity == pytest.approx(_h(0.75, 0.25), abs=1e-9)


def test_kde_gaussian_limits_and_gaussian_channel():
    # T = h + N(0, σ_n²I), h ~ N(0, σ_t²I) in d dims, r = σ_t²/σ_n². As n → ∞, (1/n)Σ_j exp(−‖h_i − h_j‖²/s)
    # → (πs)^{d/2} p_{N(0, σ_t² + s/2)}(h_i), hence (nats)
    #   upper (s = 2σ_n²) → (d/2)·log(1 + r) + (d/2)·r/(1 + r)
    #   lower (s = 8σ_n²) → (d/2)·log(1 + r/4) + (d/2)·(r/4)/(1 + r/4)
    # and the Gaussian channel's I = (d/2)·log(1 + r) lies between them.
    d, var_t, var_n, n, seeds = 2, 1.0, 0.25, 2000, 8
    r = var_t / var_n
    gauss = d / 2 * math.log1p(r)
    upper_lim = gauss + d / 2 * r / (1 + r)
    lower_lim = d / 2 * math.log1p(r / 4) + d / 2 * (r / 4) / (1 + r / 4)
    ups, lows = [], []
    for seed in range(seeds):
        h = torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * math.sqrt(var_t)
        ups.append(kde_mi(h, torch.zeros(n), var_n)[0] * LN2)
        lows.append(kde_mi(h, torch.zeros(n), var_n, bound="lower")[0] * LN2)
    t_q = student_t.ppf(0.9995, seeds - 1)  # two-sided 1e-3 per check
    # finite-n bias: −log of an average of n kernels is off by ≈ [E(Var k / g²)/2 − E(1/g) + 1]/n; for these σ's
    # E(1/g) = 25 and E(Var k/g²)/2 ≈ 4.3 (Gaussian integrals), so |bias| ≲ 30/n
    bias = 30.0 / n
    for vals, lim in ((ups, upper_lim), (lows, lower_lim)):
        v = torch.tensor(vals)
        assert abs(float(v.mean()) - lim) <= t_q * float(v.std()) / math.sqrt(seeds) + bias
    assert float(torch.tensor(lows).max()) < gauss < float(torch.tensor(ups).min())  # the KDE bound ≥ the truth


def test_kde_bad_inputs():
    with pytest.raises(ValueError, match="noise_var"):
        kde_mi(torch.zeros(4, 2), torch.zeros(4), 0.0)
    with pytest.raises(ValueError, match="bound"):
        kde_mi(torch.zeros(4, 2), torch.zeros(4), 1.0, bound="middle")


# ---------------------------------------------------------------- KSG
def _ksg_reference(a, b, k):
    """Kraskov et al. (2004) algorithm 1, point by point with KD-trees (max-norm), in bits."""
    z = np.hstack([a, b])
    n = len(z)
    eps = cKDTree(z).query(z, k + 1, p=np.inf)[0][:, -1]
    ta, tb = cKDTree(a), cKDTree(b)
    n_a = [len(ta.query_ball_point(a[i], np.nextafter(eps[i], 0), p=np.inf)) - 1 for i in range(n)]
    n_b = [len(tb.query_ball_point(b[i], np.nextafter(eps[i], 0), p=np.inf)) - 1 for i in range(n)]
    return (digamma(k) + digamma(n) - np.mean(digamma(np.add(n_a, 1)) + digamma(np.add(n_b, 1)))) / LN2


def test_knn_matches_brute_force_reference():
    gen = torch.Generator().manual_seed(3)
    a = torch.randn(300, 2, generator=gen, dtype=torch.float64)
    b = a[:, :1] + 0.5 * torch.randn(300, 1, generator=gen, dtype=torch.float64)
    for k in (1, 3, 6):
        assert knn_mi(a, b, k) == pytest.approx(_ksg_reference(a.numpy(), b.numpy(), k), abs=1e-12)


# KSG's bias at n = 2000, k = 3 (bits), measured over 40 other seeds (1000–1039) as mean − truth ± s.e.:
# ρ=0: −0.003 ± 0.004, ρ=0.5: −0.002 ± 0.004, ρ=0.9: +0.008 ± 0.006, the 2+2-dim case: +0.005 ± 0.005. It grows
# with the dependence (the k-NN box is stretched along the correlated direction; Kraskov et al. 2004, Sec. IV).
# Allowance = |measured bias| + 3 s.e., rounded up.
_KSG_BIAS = {0.0: 0.015, 0.5: 0.015, 0.9: 0.03, "mv": 0.02}


@pytest.mark.parametrize("rho", [0.0, 0.5, 0.9])
def test_knn_bivariate_gaussian(rho):
    n, seeds = 2000, 6
    vals = []
    for seed in range(seeds):
        z = torch.randn(n, 2, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        vals.append(knn_mi(z[:, :1], rho * z[:, :1] + math.sqrt(1 - rho * rho) * z[:, 1:], k=3))
    v = torch.tensor(vals)
    truth = -0.5 * math.log2(1 - rho * rho)
    t_q = student_t.ppf(0.9995, seeds - 1)  # mean ± t·s/√m: two-sided 1e-3 if the bias were 0
    assert abs(float(v.mean()) - truth) <= t_q * float(v.std()) / math.sqrt(seeds) + _KSG_BIAS[rho]


def _mv_cov():
    m = torch.tensor([[1.0, 0.3, 0.6, 0.2], [0.0, 1.0, -0.4, 0.5], [0.0, 0.0, 1.0, 0.1], [0.0, 0.0, 0.0, 1.0]])
    return (m @ m.T).double()  # a fixed positive-definite 4×4 covariance


def test_knn_multivariate_gaussian():
    cov = _mv_cov()
    truth = 0.5 * math.log2(float(torch.det(cov[:2, :2]) * torch.det(cov[2:, 2:]) / torch.det(cov)))
    chol = torch.linalg.cholesky(cov)
    n, seeds = 2000, 6
    vals = []
    for seed in range(seeds):
        z = torch.randn(n, 4, generator=torch.Generator().manual_seed(100 + seed), dtype=torch.float64) @ chol.T
        vals.append(knn_mi(z[:, :2], z[:, 2:], k=3))
    v = torch.tensor(vals)
    t_q = student_t.ppf(0.9995, seeds - 1)
    assert truth > 0.3  # a non-trivial dependence
    assert abs(float(v.mean()) - truth) <= t_q * float(v.std()) / math.sqrt(seeds) + _KSG_BIAS["mv"]


def test_knn_bad_inputs():
    with pytest.raises(ValueError, match="paired"):
        knn_mi(torch.zeros(5, 1), torch.zeros(4, 1))
    with pytest.raises(ValueError, match="k must"):
        knn_mi(torch.zeros(5, 1), torch.zeros(5, 1), k=5)
