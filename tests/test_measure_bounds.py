"""Oracle tests for whynets.measure.bounds and whynets.measure.pac_bayes.

Tolerances: kl inverses vs a plain float64 bisection written here, 1e-9 absolute (both reach ~1e-15);
binomial tail inversion vs scipy's Clopper-Pearson beta quantile, 1e-9 relative (the beta quantile is
itself an iterative solve to ~1e-12); the Gaussian KL vs a Monte-Carlo estimate within 5 standard
errors of that estimate; a coverage simulation within a binomial 5-sigma band. The PAC-Bayes and
reference bounds are asserted against the true test error (a 20000-example estimate, standard error
< 0.004) and against chance (0.5 for two balanced or random classes: any valid bound is at least the
true error, which is 0.5 for any classifier on random labels).
"""

import itertools
import math

import numpy as np
import pytest
import torch
from scipy.stats import beta
from torch import nn

from whynets.measure.bounds import (
    _augmented,
    classification_margins,
    confidence_cost,
    gaussian_kl,
    kl_bernoulli,
    kl_inverse_lower,
    kl_inverse_upper,
    monte_carlo_risk_bound,
    pac_bayes_kl_bound,
    pac_bayes_mcallester_bound,
    path_norm_bound,
    spectral_margin_bound,
    test_set_bound,
    union_bound_delta,
    vc_bound,
)
from whynets.measure.pac_bayes import optimize_pac_bayes


def _kl(q, p):
    out = 0.0
    if q > 0:
        out += q * math.log(q / p) if p > 0 else math.inf
    if q < 1:
        out += (1 - q) * math.log((1 - q) / (1 - p)) if p < 1 else math.inf
    return out


def _bisect(q, c, lo, hi, upper):
    """Reference kl inversion: 200 plain bisection steps on kl(q‖p) − c (c = 0: p = q by definition;
    bisecting there would stop where round-off makes kl(q‖p) ≈ 1e-17 indistinguishable from 0)."""
    if c == 0:
        return q
    for _ in range(200):
        mid = (lo + hi) / 2
        if (_kl(q, mid) <= c) == upper:
            lo = mid
        else:
            hi = mid
    return lo if upper else hi


@pytest.mark.parametrize("q,c", list(itertools.product([0.0, 1e-6, 0.01, 0.3, 0.5, 0.99, 1.0],
                                                    [0.0, 1e-8, 0.01, 0.5, 5.0, 50.0])))
def test_kl_inverses_match_reference_bisection(q, c):
    up, low = kl_inverse_upper(q, c), kl_inverse_lower(q, c)
    assert up == pytest.approx(_bisect(q, c, q, 1.0, True), abs=1e-9)
    assert low == pytest.approx(_bisect(q, c, 0.0, q, False), abs=1e-9)
    assert low <= q <= up
    if c == 0:
        assert up == low == q
    if 0 < q < 1 and up < 1 - 1e-9:  # an interior solution sits on the constraint
        assert kl_bernoulli(q, up) == pytest.approx(c, rel=1e-6, abs=1e-12)


def test_kl_closed_forms_at_the_edges():
    assert kl_inverse_upper(0.0, 0.7) == pytest.approx(1 - math.exp(-0.7), rel=1e-15)
    assert kl_inverse_lower(1.0, 0.7) == pytest.approx(math.exp(-0.7), rel=1e-15)
    assert kl_inverse_upper(1.0, 3.0) == 1.0 and kl_inverse_lower(0.0, 3.0) == 0.0
    assert kl_bernoulli(0.3, 0.3) == 0.0 and kl_bernoulli(0.5, 1.0) == math.inf
    with pytest.raises(ValueError, match="probability"):
        kl_inverse_upper(1.5, 0.1)
    with pytest.raises(ValueError, match=">= 0"):
        kl_inverse_upper(0.5, -1.0)


@pytest.mark.parametrize("k,n,delta", [(0, 10, 0.05), (0, 1000, 0.01), (3, 50, 0.05), (17, 200, 0.1),
                                       (250, 1000, 0.025), (999, 1000, 0.05), (40, 20000, 1e-6)])
def test_test_set_bound_is_clopper_pearson(k, n, delta):
    # P[Bin(n, p) ≤ k] = 1 − I_p(k+1, n−k) = δ  ⇔  p = Beta⁻¹(1 − δ; k+1, n−k)
    assert test_set_bound(k, n, delta) == pytest.approx(beta.ppf(1 - delta, k + 1, n - k), rel=1e-9)
    if k == 0:
        assert test_set_bound(k, n, delta) == pytest.approx(1 - delta ** (1 / n), rel=1e-9)
    assert test_set_bound(n, n, delta) == 1.0


def test_pac_bayes_forms_and_helpers():
    q, kl, n, d = 0.03, 500.0, 10000, 0.025
    budget = (kl + math.log(2 * math.sqrt(n) / d)) / n
    assert pac_bayes_kl_bound(q, kl, n, d) == pytest.approx(kl_inverse_upper(q, budget), rel=1e-15)
    # Pinsker, kl(q‖p) ≥ 2(p − q)², makes the square-root form the looser of the two
    assert pac_bayes_kl_bound(q, kl, n, d) < pac_bayes_mcallester_bound(q, kl, n, d) == pytest.approx(
        q + math.sqrt(budget / 2), rel=1e-15)
    assert monte_carlo_risk_bound(0.0, 100, 0.01) == pytest.approx(1 - (0.01 / 2) ** (1 / 100), rel=1e-12)
    assert union_bound_delta(0.05, 10) == pytest.approx(0.005)
    assert confidence_cost(0.05, 3) == pytest.approx(math.log(20) + 3 * math.log(2))


def test_monte_carlo_bound_covers_the_mean_at_rate_delta():
    # m Bernoulli(p) draws, 4000 trials: the bound misses p in at most a δ'/2 fraction (one-sided; ln(2/δ')
    # is the two-sided price), up to a 5-sigma binomial band
    rng = np.random.default_rng(0)
    p, m, delta, trials = 0.2, 50, 0.2, 4000
    misses = sum(monte_carlo_risk_bound(float(e), m, delta) < p for e in rng.binomial(m, p, trials) / m)
    assert misses / trials <= delta / 2 + 5 * math.sqrt(delta / 2 * (1 - delta / 2) / trials)


def test_gaussian_kl_matches_monte_carlo():
    g = torch.Generator().manual_seed(0)
    d, N = 5, 200000
    mu_q, logvar_q = torch.randn(d, generator=g, dtype=torch.float64), torch.randn(d, generator=g, dtype=torch.float64)
    mu_p = torch.randn(d, generator=g, dtype=torch.float64)
    var_p = torch.rand(d, generator=g, dtype=torch.float64) + 0.5
    z = mu_q + (logvar_q / 2).exp() * torch.randn(N, d, generator=g, dtype=torch.float64)
    q = torch.distributions.Normal(mu_q, (logvar_q / 2).exp()).log_prob(z).sum(1)
    p = torch.distributions.Normal(mu_p, var_p.sqrt()).log_prob(z).sum(1)
    ratio = q - p
    exact = float(gaussian_kl(mu_q, logvar_q, mu_p, var_p))
    assert abs(exact - float(ratio.mean())) < 5 * float(ratio.std()) / math.sqrt(N)
    assert float(gaussian_kl(mu_q, logvar_q, mu_q, logvar_q.exp())) == pytest.approx(0.0, abs=1e-12)
    # a scalar prior variance broadcasts
    zeros, twos = torch.zeros(d, dtype=torch.float64), torch.full((d,), 2.0, dtype=torch.float64)
    assert float(gaussian_kl(mu_q, logvar_q, 0.0, 2.0)) == pytest.approx(float(gaussian_kl(mu_q, logvar_q, zeros, twos)))


# ---------------------------------------------------------------------------------------------- toys

def _toy(n, seed, random_labels=False):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=g)
    y = torch.randint(0, 2, (n,), generator=g) if random_labels else (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    return x, y


def _trained(x, y, width=16, epochs=30, seed=0):
    g = torch.Generator().manual_seed(seed)
    net = nn.Sequential(nn.Linear(2, width), nn.ReLU(), nn.Linear(width, 2))
    with torch.no_grad():  # explicit generator, never the global RNG
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p.shape[-1]) if p.ndim > 1 else torch.zeros(p.shape))
    init = {k: v.detach().clone() for k, v in net.named_parameters()}
    opt = torch.optim.Adam(net.parameters(), 1e-2)
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=g)
        for i in range(0, len(x), 64):
            idx = perm[i:i + 64]
            loss = nn.functional.cross_entropy(net(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net, init


@pytest.fixture(scope="module")
def separable():
    x, y = _toy(2000, 0)
    xt, yt = _toy(20000, 1)
    net, init = _trained(x, y)
    return net, init, x, y, xt, yt


def test_pac_bayes_bound_is_nonvacuous_valid_and_consistent(separable):
    net, init, x, y, xt, yt = separable
    r = optimize_pac_bayes(net, None, x, y, init, n_iters=300, seed=0, x_test=xt, y_test=yt)
    assert r.stochastic_test_error <= r.bound < 0.5  # valid w.p. ≥ 1 − δ − δ' = 0.965, and far below chance
    assert r.mc_error <= r.mc_bound <= r.bound <= r.mcallester_bound
    # the certificate is the stated formula of its own parts
    j = r.prior_index
    assert r.prior_variance == pytest.approx(1.0 * math.exp(-j / 100))
    kl = sum(float(gaussian_kl(r.posterior_mean[k].double(), 2 * r.posterior_std[k].double().log(), init[k].double(),
                               r.prior_variance)) for k in init)
    # posterior_std is float32: ln s is off by ≤ 6e-8 per parameter (82 here), each moving the KL by ≤ 1e-7
    assert r.kl == pytest.approx(kl, abs=82 * 1e-7)
    assert r.mc_samples == 20 * (2000 // 100) and r.n == 2000
    assert r.mc_bound == pytest.approx(monte_carlo_risk_bound(r.mc_error, r.mc_samples, 0.01), rel=1e-12)
    assert r.bound == pytest.approx(pac_bayes_kl_bound(r.mc_bound, r.kl, r.n, 6 * 0.025 / (math.pi ** 2 * j ** 2)))


def test_pac_bayes_bound_is_vacuous_on_random_labels():
    x, y = _toy(1000, 2, random_labels=True)
    net, init = _trained(x, y, width=32, epochs=20)
    r = optimize_pac_bayes(net, None, x, y, init, n_iters=200, seed=0, mc_passes=5)
    assert r.bound >= 0.5  # the true error of every classifier on random labels is 0.5


def test_reference_bounds_exceed_true_error_and_move_the_right_way(separable):
    net, _, x, y, xt, yt = separable
    with torch.no_grad():
        margins = classification_margins(net(x), y)
        test_error = float((net(xt).argmax(1) != yt).double().mean())
        train_error = float((net(x).argmax(1) != y).double().mean())
    bounds = [vc_bound(net, train_error, len(x)), spectral_margin_bound(net, x, margins),
              path_norm_bound(net, x, margins), path_norm_bound(net, x, margins, p=2.0)]
    for b in bounds:
        assert b.value >= test_error and b.value == pytest.approx(b.empirical + b.gap)
    big_n = 10 ** 6  # n above the VC dimension, where Sauer's lemma (not 2^2n) sets the growth function
    assert vc_bound(net, train_error, big_n).value < bounds[0].value  # more data
    assert vc_bound(net, train_error, big_n, delta=0.2).value < vc_bound(net, train_error, big_n).value
    wider, _ = _trained(x, y, width=64, epochs=1)
    assert vc_bound(wider, train_error, big_n).value > vc_bound(net, train_error, big_n).value  # more parameters
    big = nn.Sequential(*[nn.Linear(m.in_features, m.out_features) if isinstance(m, nn.Linear) else m for m in net])
    big.load_state_dict({k: 3 * v for k, v in net.state_dict().items()})  # larger norms, same margins passed
    assert spectral_margin_bound(big, x, margins).value > bounds[1].value
    assert path_norm_bound(big, x, margins).value > bounds[2].value


def test_path_norm_bound_is_invariant_to_relu_rescaling(separable):
    net, _, x, y, _, _ = separable
    with torch.no_grad():
        margins = classification_margins(net(x), y)
        c = torch.linspace(0.5, 4.0, net[0].out_features)
        scaled = nn.Sequential(nn.Linear(2, len(c)), nn.ReLU(), nn.Linear(len(c), 2))
        scaled.load_state_dict(net.state_dict())
        scaled[0].weight.mul_(c[:, None]), scaled[0].bias.mul_(c), scaled[2].weight.div_(c[None, :])
        assert torch.allclose(scaled(x), net(x), atol=1e-4)
    assert path_norm_bound(scaled, x, margins).value == pytest.approx(path_norm_bound(net, x, margins).value, rel=1e-5)


def test_vc_dimension_formula_and_bias_folding_by_hand():
    net = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1))
    # W = 9 + 4 = 13, L = 2, L̄ = (9 + 13)/13, R = 1·3 + 2·1 = 5, p = 2 pieces
    vc = 2 + 22 * math.log2(4 * math.e * 2 * 5 * math.log2(2 * math.e * 2 * 5))
    assert vc_bound(net, 0.0, 10 ** 6).details["vc_dim"] == pytest.approx(vc, rel=1e-12)
    x = torch.randn(7, 2, generator=torch.Generator().manual_seed(0))
    mats, aug = _augmented(net)
    h = torch.cat([x, torch.ones(7, 1)], 1).double()
    for i, a in enumerate(mats):
        h = h @ a.T
        h = h.relu() if i < len(mats) - 1 else h
    assert aug and torch.allclose(h.float(), net(x).detach(), atol=1e-6)
    logits = torch.tensor([[2.0, 0.5, 1.0], [0.0, 3.0, -1.0]])
    assert classification_margins(logits, torch.tensor([0, 0])).tolist() == [1.0, -3.0]
    assert classification_margins(torch.tensor([[2.0], [-1.0]]), torch.tensor([0, 0])).tolist() == [-2.0, 1.0]
