"""GP posterior and NTK gradient-flow prediction: against direct linear algebra, the matrix exponential, a
Monte-Carlo ensemble of linearized networks, and a trained wide network."""

import math

import pytest
import torch

import whynets.kernels as K


def _data(n=15, m=6, d=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n + m, d, generator=g, dtype=torch.float64)
    y = torch.sin(2 * x[:n, :1]) + 0.3 * x[:n, 1:2]
    return x, y, n


def test_gp_posterior_is_the_textbook_formula():
    x, y, n = _data()
    k = K.nngp(x, depth=2, activation="erf", sigma_b2=0.1)
    kxx, ksx, kss = k[:n, :n], k[n:, :n], k[n:, n:]
    post = K.gp_posterior(kxx, ksx, y, kss, noise=0.05)
    a = torch.linalg.inv(kxx + 0.05 * torch.eye(n, dtype=torch.float64))
    assert torch.allclose(post.mean, ksx @ a @ y, atol=1e-10)
    assert torch.allclose(post.variance, kss - ksx @ a @ ksx.T, atol=1e-10)
    diag = K.gp_posterior(kxx, ksx, y, kss.diagonal(), noise=0.05)
    assert torch.allclose(diag.variance, post.variance.diagonal(), atol=1e-12)
    # noiseless on the training points themselves: interpolation, zero variance
    train = K.gp_posterior(kxx, kxx, y, kxx.diagonal())
    assert torch.allclose(train.mean, y, atol=1e-6) and float(train.variance.abs().max()) < 1e-6


def test_ntk_flow_matches_the_matrix_exponential_at_every_time():
    x, y, n = _data()
    th = K.ntk(x, depth=3, activation="relu", sigma_b2=0.1)
    txx, tsx = th[:n, :n], th[n:, :n]
    f0x = 0.1 * torch.arange(n, dtype=torch.float64)[:, None]
    f0s = -0.2 * torch.ones(x.shape[0] - n, 1, dtype=torch.float64)
    for t in (0.0, 0.01, 0.3, 5.0):
        expm = torch.linalg.matrix_exp(-txx * t)
        eye = torch.eye(n, dtype=torch.float64)
        want = f0s + tsx @ torch.linalg.solve(txx, (eye - expm) @ (y - f0x))
        got = K.ntk_predict(txx, tsx, y, t, f0_train=f0x, f0_test=f0s).mean
        assert torch.allclose(got, want, atol=1e-8), t
    assert torch.equal(K.ntk_predict(txx, tsx, y, 0.0).mean, torch.zeros(x.shape[0] - n, 1, dtype=torch.float64))
    inf = K.ntk_predict(txx, tsx, y, math.inf).mean
    assert torch.allclose(inf, tsx @ torch.linalg.solve(txx, y), atol=1e-8)
    assert torch.allclose(K.ntk_predict(txx, tsx, y, 1e6).mean, inf, atol=1e-6)
    # gradient descent with step s for k steps: f_k − Y = (I − sΘ)^k (f_0 − Y) on the training points
    s, k = 0.01, 37
    gd = K.ntk_predict(txx, txx, y, s * k, gd_step=s, f0_train=f0x, f0_test=f0x).mean
    want = y + torch.linalg.matrix_power(torch.eye(n, dtype=torch.float64) - s * txx, k) @ (f0x - y)
    assert torch.allclose(gd, want, atol=1e-8)
    # at t = ∞ the training points are interpolated
    assert torch.allclose(K.ntk_predict(txx, txx, y, math.inf).mean, y, atol=1e-7)


def test_ntk_variance_is_the_ensemble_of_linearized_networks():
    # Lee et al. 2019 Eq. 16 is the covariance over f0 ~ GP(0, K) of f0(x) + T(Y − f0(X)); sample that ensemble
    x, y, n = _data(n=8, m=3)
    k = K.kernels(x, depth=2, activation="erf", sigma_w2=2.0, sigma_b2=0.1)
    t = 0.7
    pred = K.ntk_predict(k.ntk[:n, :n], k.ntk[n:, :n], y, t, k_train=k.nngp[:n, :n], k_test_train=k.nngp[n:, :n],
                         k_test=k.nngp[n:, n:])
    chol = torch.linalg.cholesky(k.nngp + 1e-12 * torch.eye(len(x), dtype=torch.float64))
    draws = 200_000
    f0 = (chol @ torch.randn(len(x), draws, generator=torch.Generator().manual_seed(0), dtype=torch.float64)).T
    flow = K.ntk_predict(k.ntk[:n, :n], k.ntk[n:, :n], y, t)
    weights = flow.mean  # mean part; the linear map T acting on f0 is recovered from a second call per draw below
    tmat = K.ntk_predict(k.ntk[:n, :n], k.ntk[n:, :n], torch.eye(n, dtype=torch.float64), t).mean  # T = Θ*Θ⁻¹(I−e)
    samples = f0[:, n:] + (y.T - f0[:, :n]) @ tmat.T
    assert torch.allclose(weights[:, 0], tmat @ y[:, 0], atol=1e-12)
    mc_mean, mc_cov = samples.mean(0), torch.cov(samples.T)
    se = (mc_cov.diagonal() / draws).sqrt()
    assert bool(((mc_mean - pred.mean[:, 0]).abs() <= 5 * se).all())
    assert torch.allclose(mc_cov, pred.variance, rtol=0.02, atol=0.02 * float(pred.variance.diagonal().max()))
    # t = 0: the prior; Θ = K (only the readout trained) at t = ∞: the noiseless GP posterior
    assert torch.allclose(K.ntk_predict(k.ntk[:n, :n], k.ntk[n:, :n], y, 0.0, k_train=k.nngp[:n, :n],
                                        k_test_train=k.nngp[n:, :n], k_test=k.nngp[n:, n:]).variance, k.nngp[n:, n:])
    gp = K.gp_posterior(k.nngp[:n, :n], k.nngp[n:, :n], y, k.nngp[n:, n:])
    readout = K.ntk_predict(k.nngp[:n, :n], k.nngp[n:, :n], y, math.inf, k_train=k.nngp[:n, :n],
                            k_test_train=k.nngp[n:, :n], k_test=k.nngp[n:, n:])
    assert torch.allclose(readout.mean, gp.mean, atol=1e-8)
    assert torch.allclose(readout.variance, gp.variance, atol=1e-8)


def test_flow_predicts_a_trained_wide_network():
    # a width-4096 ReLU net (NTK parametrization) trained by full-batch gradient descent on ½Σ(f − y)²: its test
    # outputs follow f0 + Θ*Θ⁻¹(I − e^{−Θt})(Y − f0(X)) with the analytic Θ, t = η·steps; the deviation is O(1/√width)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(16, 5, generator=g)
    x = x / x.norm(dim=1, keepdim=True) * math.sqrt(5)
    y = torch.sin(x[:12, :1] * 2)
    kw = dict(depth=1, activation="relu", sigma_w2=2.0, sigma_b2=0.1)
    theta = K.ntk(x.double(), **kw)
    lr, steps = 0.05, 300
    errors = {}
    for width in (256, 4096):
        net = K.finite_network(K.architecture(**kw), (5,), width, out=1, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            f0 = net(x).double()
        for _ in range(steps):
            loss = 0.5 * ((net(x[:12]) - y) ** 2).sum()
            grads = torch.autograd.grad(loss, list(net.parameters()))
            with torch.no_grad():
                for p, gr in zip(net.parameters(), grads):
                    p -= lr * gr
        with torch.no_grad():
            trained = net(x[12:]).double()
        pred = K.ntk_predict(theta[:12, :12], theta[12:, :12], y.double(), lr * steps, f0_train=f0[:12],
                             f0_test=f0[12:]).mean
        moved = (trained - f0[12:]).norm()
        errors[width] = float((trained - pred).norm() / moved)
    assert errors[4096] < 0.05, errors  # the linearized prediction explains >95% of how far the outputs moved
    assert errors[4096] < errors[256] / 2, errors  # and gets better with width (~1/√width: ÷4 expected)


def test_inference_errors_are_one_line():
    k = torch.eye(3, dtype=torch.float64)
    with pytest.raises(K.KernelSpecError, match="3 rows"):
        K.gp_posterior(k, k, torch.zeros(4))
    with pytest.raises(K.KernelSpecError, match="square"):
        K.ntk_predict(torch.zeros(3, 2), k, torch.zeros(3))
    with pytest.raises(K.KernelSpecError, match="t must be"):
        K.ntk_predict(k, k, torch.zeros(3), -1.0)
