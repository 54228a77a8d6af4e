"""Oracle tests for whynets.solvers.kernels.

Tolerances: interpolation residuals at 1e-8 relative (Cholesky is backward stable; residual ≈
eps·κ(K)·… and the kernels here have κ ≤ ~1e7, so ~1e-9 at worst); closed forms (log det of the
Kac–Murdock–Szegő matrix, NumPy correlation) at 1e-9; the digits error bound (2%) is the issue's,
PHENOMENA reports 0.6–1.3% for exact RBF interpolation.
"""

import math

import numpy as np
import pytest
import torch

from whynets.solvers.kernels import (
    accuracy,
    gabor_features_1d,
    gabor_features_2d,
    gabor_filters_1d,
    gabor_filters_2d,
    kernel_interpolate,
    kernel_predict,
    laplace_kernel,
    median_bandwidth,
    pairwise_sq_distances,
    rbf_kernel,
)


def test_kernels_match_definitions():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(7, 3, generator=g, dtype=torch.float64), torch.randn(5, 3, generator=g, dtype=torch.float64)
    dist = torch.cdist(a, b)
    assert torch.allclose(pairwise_sq_distances(a, b), dist**2, atol=1e-12)
    assert torch.allclose(rbf_kernel(a, b, 1.7), torch.exp(-dist**2 / (2 * 1.7**2)), atol=1e-12)
    assert torch.allclose(laplace_kernel(a, b, 0.9), torch.exp(-dist / 0.9), atol=1e-7)


def test_median_bandwidth_is_median_distance():
    x = torch.tensor([[0.0], [1.0], [3.0], [7.0]])
    # distances 1, 3, 7, 2, 6, 4 -> median of six values = (3 + 4) / 2 (midpoint, not lower median)
    assert median_bandwidth(x) == pytest.approx(3.5)


def test_laplace_kernel_pd_with_known_determinant():
    # Equispaced 1-D points: K_ij = ρ^|i-j| (Kac–Murdock–Szegő), det K = (1 − ρ²)^(n−1), PD for ρ < 1.
    n, h, bw = 300, 1e-3, 1.0
    x = (torch.arange(n, dtype=torch.float64) * h)[:, None]
    k = laplace_kernel(x, x, bw)
    rho = math.exp(-h / bw)
    chol, info = torch.linalg.cholesky_ex(k)
    assert int(info) == 0
    logdet = 2 * float(chol.diagonal().log().sum())
    assert logdet == pytest.approx((n - 1) * math.log(1 - rho**2), rel=1e-9)
    # eigenvalues inside the KMS bounds [(1−ρ)/(1+ρ), (1+ρ)/(1−ρ)]
    ev = torch.linalg.eigvalsh(k)
    assert float(ev.min()) >= (1 - rho) / (1 + rho) * (1 - 1e-6)


def test_laplace_pd_for_distinct_random_points():
    x = torch.randn(200, 5, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    k = laplace_kernel(x, x, median_bandwidth(x))
    assert float(torch.linalg.eigvalsh(k).min()) > 0


def test_exact_interpolation_fits_training_labels():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(150, 10, generator=g, dtype=torch.float64)
    y = torch.randint(0, 4, (150,), generator=g)  # random labels: interpolation fits them anyway
    for kernel in (rbf_kernel, laplace_kernel):
        k = kernel(x, x, median_bandwidth(x))
        fit = kernel_interpolate(k, y, num_classes=4)
        assert fit.method == "cholesky" and fit.jitter == 0.0
        onehot = torch.nn.functional.one_hot(y, 4).double()
        assert fit.relative_residual < 1e-8
        assert torch.allclose(k @ fit.alpha, onehot, atol=1e-8)
        assert accuracy(kernel_predict(k, fit), y) == 1.0


def test_singular_kernel_uses_jitter_then_lstsq():
    ones = torch.ones(5, 5, dtype=torch.float64)  # rank 1: Cholesky breaks down on the 2nd pivot
    fit = kernel_interpolate(ones, torch.ones(5, dtype=torch.float64))
    assert fit.method == "cholesky+jitter" and fit.jitter == pytest.approx(1e-12)
    assert fit.relative_residual < 1e-10  # consistent system: the tiny ridge costs ~1e-12
    neg = -torch.eye(3, dtype=torch.float64)  # not PSD at all: Cholesky never works
    fit = kernel_interpolate(neg, torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))
    assert fit.method == "lstsq"
    assert torch.allclose(fit.alpha[:, 0], torch.tensor([-1.0, -2.0, -3.0], dtype=torch.float64))


def test_digits_exact_rbf_interpolation_generalizes():
    datasets = pytest.importorskip("sklearn.datasets")
    from sklearn.model_selection import train_test_split

    d = datasets.load_digits()
    xtr, xte, ytr, yte = train_test_split(d.data / 16.0, d.target, test_size=0.25, random_state=0,
                                          stratify=d.target)
    xtr, xte, ytr, yte = map(torch.tensor, (xtr, xte, ytr, yte))
    bw = median_bandwidth(xtr)
    fit = kernel_interpolate(rbf_kernel(xtr, xtr, bw), ytr, num_classes=10)
    assert fit.method == "cholesky" and fit.relative_residual < 1e-8
    test_err = 1 - accuracy(kernel_predict(rbf_kernel(xte, xtr, bw), fit), yte)
    assert test_err <= 0.02  # measured 1.3% on this split
    # the same with 2-D Gabor features (Zhang et al.: Gabor preprocessing helps)
    ftr, fte = gabor_features_2d(xtr, image_shape=(8, 8)), gabor_features_2d(xte, image_shape=(8, 8))
    bw = median_bandwidth(ftr)
    fit = kernel_interpolate(rbf_kernel(ftr, ftr, bw), ytr, num_classes=10)
    assert 1 - accuracy(kernel_predict(rbf_kernel(fte, ftr, bw), fit), yte) <= 0.02  # measured 0.0%


def test_gabor_1d_is_correlation_with_the_filters():
    x = torch.randn(3, 40, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    bank = gabor_filters_1d(size=9, frequencies=(0.1, 0.25))
    feats = gabor_features_1d(x, bank, include_input=False).reshape(3, 2, 40)
    for i in range(3):
        for f in range(2):
            re = np.correlate(np.pad(x[i].numpy(), 4), bank[2 * f].numpy(), mode="valid")
            im = np.correlate(np.pad(x[i].numpy(), 4), bank[2 * f + 1].numpy(), mode="valid")
            assert np.allclose(feats[i, f].numpy(), np.hypot(re, im), atol=1e-9)
    # the cos parts have zero DC response: a constant signal gives zero in the interior
    const = gabor_features_1d(torch.ones(1, 40), bank, include_input=False).reshape(2, 40)
    assert float(const[:, 8:-8].abs().max()) < 1e-12


def test_gabor_1d_frequency_selectivity():
    freqs = (0.05, 0.1, 0.2, 0.3)
    bank = gabor_filters_1d(size=25, frequencies=freqs, sigma=5.0)
    t = torch.arange(200, dtype=torch.float64)
    for j, f in enumerate(freqs):
        x = torch.cos(2 * math.pi * f * t)[None]
        resp = gabor_features_1d(x, bank, include_input=False).reshape(len(freqs), 200)[:, 20:-20]
        assert int(resp.mean(1).argmax()) == j
        # The modulus of the matched complex filter's response is nearly constant (demodulation).
        # Its ripple comes from the mirror frequency −f (relative size ~exp(−(4πfσ)²/2)) and the
        # cos part's DC correction (~exp(−(2πfσ)²)): < 1% once 2πfσ ≥ π, i.e. f ≥ 0.1 here.
        if f >= 0.1:
            assert float(resp[j].std() / resp[j].mean()) < 0.01


def test_gabor_2d_rotation_equivariance():
    # rotating the image by 90° maps orientation k to k + O/2 (mod O) for O = 4 orientations
    img = torch.randn(1, 8, 8, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    bank = gabor_filters_2d(size=5, frequencies=(0.25,), orientations=4)
    f0 = gabor_features_2d(img, bank, include_input=False).reshape(4, 8, 8)
    f1 = gabor_features_2d(torch.rot90(img, 1, (1, 2)), bank, include_input=False).reshape(4, 8, 8)
    for k in range(4):
        assert torch.allclose(f1[(k + 2) % 4], torch.rot90(f0[k], 1, (0, 1)), atol=1e-10) or \
            torch.allclose(f1[k], torch.rot90(f0[(k + 2) % 4], 1, (0, 1)), atol=1e-10)
