"""Oracles for the subspace compression bound (measure/subspace.py): the projection is what the docstring says (seeded,
sparse, unit columns in expectation); the code decodes to exactly the net whose errors the bound counted; the code
length is the sum of its parts with the symbols arithmetic-coded; the bound is the Occam bound of that length; on a
learnable task it certifies below guessing and on random labels it does not."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn as nn
from torch.func import functional_call

from whynets.measure.coding import arithmetic_decode, arithmetic_encode, compression_bound
from whynets.measure.subspace import SparseProjection, decode_subspace, subspace_compress


def _net(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 32), nn.ReLU(), nn.Linear(32, 3))


def _task(n: int, seed: int = 0, random_labels: bool = False):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(6, 3, generator=g)
    x = torch.randn(n + 400, 6, generator=g)
    y = (x @ w).argmax(1)
    if random_labels:
        y = torch.randint(3, (n + 400,), generator=g)
    return x[:n], y[:n], x[n:], y[n:]


def test_projection_is_seeded_sparse_and_unit_norm_in_expectation():
    net = _net()
    a, b, c = SparseProjection(net, 64, seed=3), SparseProjection(net, 64, seed=3), SparseProjection(net, 64, seed=4)
    assert torch.equal(a.columns, b.columns) and torch.equal(a.coef, b.coef) and not torch.equal(a.columns, c.columns)
    dense = torch.zeros(a.n_params, 64)
    dense.scatter_add_(1, a.columns, a.coef)
    assert (dense != 0).sum(1).max() <= 4  # at most nnz entries per row
    norms = dense.pow(2).sum(0)
    assert abs(float(norms.mean()) - 1.0) < 0.1  # E‖P e_j‖² = 1
    z = torch.randn(64)
    w = torch.cat([v.flatten() for v in a.weights(z).values()])
    assert torch.allclose(w, a.w0 + dense @ z, atol=1e-5)  # w₀ + P·z, in the module's parameter order
    # each layer moves on its own scale: the rows' scale is the RMS of that tensor at w₀
    rms = [float(p.detach().pow(2).mean().sqrt()) for p in net.parameters()]
    sizes = [p.numel() for p in net.parameters()]
    mags = torch.split(a.coef.abs(), sizes)
    for m, r in zip(mags, rms):
        assert torch.allclose(m, m[0, 0].expand_as(m))  # one magnitude per tensor
        assert float(m[0, 0]) / r == pytest.approx(float(mags[0][0, 0]) / rms[0], rel=1e-5)  # ∝ that tensor's RMS


def test_the_code_decodes_to_the_certified_net_and_the_bound_is_its_occam_bound():
    x, y, xt, yt = _task(600)
    net = _net()
    best, rows = subspace_compress(net, x, y, dims=(16, 48), levels=(4, 8), steps=300, lr=0.05, batch_size=64,
                                   x_test=xt, y_test=yt)
    assert len(rows) == 4 and best is min(rows, key=lambda r: r.bound)
    for r, searched in zip(rows, (4, 8, 4, 8)):
        assert r.levels <= searched
        # the decoder: the architecture and w₀ (the untouched init module), the dimension and the seed, the code
        weights = decode_subspace(net, r.dim, r.codebook, r.symbols, seed=0)
        with torch.no_grad():
            errors = int((functional_call(net, weights, (x,)).argmax(1) != y).sum())
            test = float((functional_call(net, weights, (xt,)).argmax(1) != yt).double().mean())
        assert errors == r.train_errors and abs(test - r.test_error) < 1e-12
        # the symbols survive the arithmetic coder under the transmitted counts, in the bits counted
        data, n_bits = arithmetic_encode(r.symbols, np.asarray(r.counts, dtype=np.int64))
        assert n_bits == r.bits_symbols and sum(r.counts) == r.dim
        assert np.array_equal(arithmetic_decode(data, n_bits, np.asarray(r.counts, dtype=np.int64), r.dim),
                              r.symbols.numpy())
        assert r.bits_codebook == math.ceil(math.log2(searched + 1)) + 32 * r.levels  # count, then float32 centroids
        assert r.bits_counts == (r.levels - 1) * math.ceil(math.log2(r.dim + 1))
        assert r.bits == r.bits_codebook + r.bits_counts + r.bits_symbols
        assert r.extra_bits == pytest.approx(2.0)  # log2(2 dims × 2 codebook sizes)
        assert r.bound == pytest.approx(compression_bound(r.train_errors, len(y), r.bits, 0.05, extra_bits=2.0))


def test_certifies_a_learnable_task_below_guessing_and_not_random_labels():
    x, y, xt, yt = _task(2000, seed=1)
    best, _ = subspace_compress(_net(1), x, y, dims=(24,), levels=(4,), steps=600, lr=0.05, batch_size=100,
                                x_test=xt, y_test=yt)
    guess = 1 - float(torch.bincount(y).max()) / len(y)
    assert best.bound < guess - 0.2 and best.test_error <= best.bound
    x, y, xt, yt = _task(2000, seed=1, random_labels=True)
    noise, _ = subspace_compress(_net(1), x, y, dims=(24,), levels=(4,), steps=600, lr=0.05, batch_size=100)
    assert noise.bound > 1 - float(torch.bincount(y).max()) / len(y)  # no better than guessing


def test_bad_arguments_are_refused():
    x, y, _, _ = _task(50)
    with pytest.raises(ValueError, match="levels"):
        subspace_compress(_net(), x, y, dims=(8,), levels=(1,), steps=10)
    with pytest.raises(ValueError, match="dim"):
        SparseProjection(_net(), 0)
