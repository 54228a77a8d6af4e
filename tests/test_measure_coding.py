"""Oracle tests for whynets.measure.coding.

Tolerances: the integer coder (48-bit state, frequencies f totalling T) ends with an interval of width w
within a factor (1 ± T/(f_min·2^46))^n of 2^48·Π p, and it emits between −log₂(w/2^48) and 2 more bits
(every renormalization doubles an interval no wider than a half, and it stops once wider than a
quarter), so ideal − slack ≤ bits ≤ ideal + 2 + slack with slack = 1.45·n·T/(f_min·2^46). The ideal
length of 10⁵ i.i.d. symbols is n·H within 5 standard deviations of the sum of −log₂ p. k-means is checked by its fixed-point conditions (exact), and the
bounds against the closed forms they are defined by (1e-12 relative).
"""

import math

import numpy as np
import pytest
import torch
from torch import nn

from whynets.measure.bounds import kl_inverse_upper, test_set_bound
from whynets.measure.coding import (
    _frequencies,
    arithmetic_code_length,
    arithmetic_decode,
    arithmetic_encode,
    choice_bits,
    compress_model,
    compression_bound,
    ideal_code_length,
    quantize,
)


def _within(n_bits, symbols, model):
    f = np.asarray(_frequencies(model), dtype=np.float64)
    slack = 1.45 * len(np.ravel(symbols)) * f.sum() / (f[f > 0].min() * 2.0 ** 46)
    ideal = ideal_code_length(symbols, model)
    return ideal - slack <= n_bits <= ideal + 2 + slack


@pytest.mark.parametrize("alphabet,n,seed", [(2, 1, 0), (3, 7, 1), (5, 1000, 2), (40, 5000, 3), (1, 50, 4)])
def test_decode_inverts_encode(alphabet, n, seed):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(alphabet, 0.3))
    x = rng.choice(alphabet, n, p=p)
    counts = np.bincount(x, minlength=alphabet)
    for model in (counts, p):
        if model is p and (p == 0).any():
            continue
        data, n_bits = arithmetic_encode(x, model)
        assert np.array_equal(arithmetic_decode(data, n_bits, model, n), x)
        assert _within(n_bits, x, model)


def test_code_length_of_iid_symbols_is_n_times_entropy():
    rng = np.random.default_rng(0)
    p = np.array([0.5, 0.2, 0.15, 0.1, 0.04, 0.01])
    n = 100_000
    x = rng.choice(len(p), n, p=p)
    info = -np.log2(p)
    H, sd = float((p * info).sum()), float(np.sqrt((p * info ** 2).sum() - (p * info).sum() ** 2))
    bits = arithmetic_code_length(x, p)
    ideal = ideal_code_length(x, p)
    assert abs(ideal - n * H) < 5 * sd * math.sqrt(n)  # the CLT on Σ −log₂ p(x_i)
    assert _within(bits, x, p)
    assert abs(bits - n * H) < 0.01 * n * H
    data, n_bits = arithmetic_encode(x, p)
    assert n_bits == bits and np.array_equal(arithmetic_decode(data, n_bits, p, n), x)


def test_coder_rejects_symbols_it_cannot_code():
    with pytest.raises(ValueError, match="zero frequency"):
        arithmetic_encode([0, 2], [3, 1, 0])
    with pytest.raises(ValueError, match="sum to 1"):
        arithmetic_encode([0], [0.5, 0.2])


def test_quantize_is_a_kmeans_fixed_point_and_exact_on_few_values():
    g = torch.Generator().manual_seed(0)
    w = torch.cat([c + 0.01 * torch.randn(300, generator=g) for c in (-2.0, 0.0, 0.5, 3.0)])
    symbols, codebook = quantize(w, 4, seed=0)
    assert torch.equal(codebook, codebook.sort().values) and len(codebook) == 4
    for s in range(4):  # Lloyd's conditions: each centroid is its cell's mean, each weight at its nearest centroid
        assert float(codebook[s]) == pytest.approx(float(w[symbols == s].double().mean()), abs=1e-6)
    assert torch.equal(symbols, (w[:, None] - codebook[None, :]).abs().argmin(1))
    assert torch.equal(quantize(w, 4, seed=0)[0], symbols)  # seeded: reproducible
    few = torch.tensor([0.25, -1.0, 0.25, 2.0, -1.0])
    s, cb = quantize(few, 8)
    assert torch.equal(cb[s], few)


def _mlp():
    g = torch.Generator().manual_seed(1)
    net = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    return net


@pytest.mark.parametrize("pruned", [False, True])
def test_compress_model_code_decodes_to_the_quantized_state(pruned):
    net = _mlp()
    masks = None
    if pruned:
        masks = {"0.weight": net[0].weight.abs() > 0.2, "2.weight": net[2].weight.abs() > 0.1}
    c = compress_model(net, 6, masks=masks, seed=0)
    N = sum(p.numel() for p in net.parameters())
    alphabet = 6 + int(pruned)
    assert c.n_weights == N and c.levels == 6 and len(c.counts) == alphabet and sum(c.counts) == N
    assert c.bits_codebook == 32 * 6 and c.bits_counts == (alphabet - 1) * math.ceil(math.log2(N + 1))
    assert c.bits == c.bits_codebook + c.bits_counts + c.bits_symbols
    assert _within(c.bits_symbols, c.symbols, np.asarray(c.counts))
    data, n_bits = arithmetic_encode(c.symbols, np.asarray(c.counts))
    decoded = torch.as_tensor(arithmetic_decode(data, n_bits, np.asarray(c.counts), N))
    table = torch.cat([torch.zeros(int(pruned)), c.codebook])  # symbol 0 = exact zero when pruning
    flat = torch.cat([c.state_dict[k].flatten() for k, _ in net.named_parameters()])
    assert n_bits == c.bits_symbols and torch.equal(table[decoded], flat)
    if pruned:
        assert c.counts[0] == sum(int((~m).sum()) for m in masks.values())
        assert bool((c.state_dict["0.weight"][~masks["0.weight"]] == 0).all())


def test_compression_bound_closed_forms_and_order():
    n, k, bits, delta = 5000, 40, 2000.0, 0.05
    kl_form = compression_bound(k, n, bits, delta, extra_bits=3)
    assert kl_form == pytest.approx(kl_inverse_upper(k / n, ((bits + 3) * math.log(2) + math.log(1 / delta)) / n),
                                    rel=1e-12)
    # Chernoff: P[Bin(n, p) ≤ k] ≤ exp(−n·kl(k/n‖p)), so the binomial inversion is the tighter one
    assert compression_bound(k, n, bits, delta, 3, method="binomial") <= kl_form
    assert compression_bound(k, n, 0, delta, method="binomial") == pytest.approx(test_set_bound(k, n, delta), rel=1e-12)
    assert compression_bound(k, n, 2 * bits, delta) > kl_form  # more bits, weaker bound
    assert choice_bits(8, 2, 2) == pytest.approx(5.0)
