"""Oracle tests for whynets.measure.norms.

Tolerances: path norms vs explicit enumeration of every path at 1e-10 relative (a few hundred
float64 products and sums); invariances and closed forms at 1e-10 relative; the Lipschitz bound
is an inequality (with 1e-12 slack for round-off).
"""

import itertools
import math

import pytest
import torch
from torch import nn

from whynets.measure.norms import (
    frobenius_norm_product,
    frobenius_norms,
    linear_layers,
    parameter_count,
    path_norm,
    spectral_norm_product,
    spectral_norms,
)


def _tiny_mlp(seed=0, widths=(3, 4, 3, 2)):
    g = torch.Generator().manual_seed(seed)
    mods = []
    for i, (a, b) in enumerate(zip(widths, widths[1:])):
        lin = torch.nn.utils.skip_init(nn.Linear, a, b, dtype=torch.float64)
        with torch.no_grad():  # explicit generator; skip_init leaves the global RNG untouched
            lin.weight.copy_(torch.randn(b, a, generator=g, dtype=torch.float64) / math.sqrt(a))
            lin.bias.copy_(torch.randn(b, generator=g, dtype=torch.float64))
        mods.append(lin)
        if i < len(widths) - 2:
            mods.append(nn.ReLU())
    return nn.Sequential(*mods)


def _enumerate_paths(layers, p, include_bias):
    """(Σ over every path of Π |w|^p)^(1/p), by brute force. A path starts at an input unit, or
    (with biases) at the bias unit of some layer `start`, and then visits one unit per layer."""
    sizes = [layers[0][0].shape[1]] + [w.shape[0] for w, _ in layers]
    total = 0.0
    for units in itertools.product(*[range(s) for s in sizes]):  # input unit, then one per layer
        prod = 1.0
        for l, (w, _) in enumerate(layers):
            prod *= abs(float(w[units[l + 1], units[l]])) ** p
        total += prod
    if include_bias:
        for start, (_, b_start) in enumerate(layers):
            for units in itertools.product(*[range(s) for s in sizes[start + 1:]]):
                prod = abs(float(b_start[units[0]])) ** p  # edge from layer start's bias unit
                for k in range(1, len(units)):
                    prod *= abs(float(layers[start + k][0][units[k], units[k - 1]])) ** p
                total += prod
    return total ** (1.0 / p)


@pytest.mark.parametrize("p", [1.0, 2.0])
@pytest.mark.parametrize("include_bias", [True, False])
def test_path_norm_equals_explicit_enumeration(p, include_bias):
    net = _tiny_mlp()
    layers = linear_layers(net)
    assert path_norm(net, p, include_bias=include_bias) == pytest.approx(
        _enumerate_paths(layers, p, include_bias), rel=1e-10)


def test_single_layer_closed_forms():
    w = torch.randn(5, 7, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    # without bias the ℓ2 path norm of one layer is ‖W‖_F and the ℓ1 path norm is Σ|w|
    assert path_norm([w], 2) == pytest.approx(float(w.norm()), rel=1e-12)
    assert path_norm([w], 1) == pytest.approx(float(w.abs().sum()), rel=1e-12)
    assert spectral_norms([w])[0] == pytest.approx(math.sqrt(float(torch.linalg.eigvalsh(w.T @ w).max())), rel=1e-10)
    assert frobenius_norms([w])[0] == pytest.approx(float(w.norm()), rel=1e-12)


def test_path_norm_invariant_to_relu_rescaling_but_frobenius_is_not():
    net = _tiny_mlp(seed=2)
    x = torch.randn(16, 3, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    before = (net(x), path_norm(net, 2), path_norm(net, 1), frobenius_norm_product(net))
    c = torch.tensor([3.0, 0.2, 5.0, 1.5], dtype=torch.float64)
    with torch.no_grad():  # unit i of hidden layer 1: input weights and bias × c_i, output weights / c_i
        net[0].weight.mul_(c[:, None])
        net[0].bias.mul_(c)
        net[2].weight.div_(c[None, :])
    assert torch.allclose(net(x), before[0], atol=1e-12)
    assert path_norm(net, 2) == pytest.approx(before[1], rel=1e-10)
    assert path_norm(net, 1) == pytest.approx(before[2], rel=1e-10)
    assert abs(frobenius_norm_product(net) - before[3]) > 1e-3 * before[3]


def test_spectral_product_bounds_lipschitz_constant():
    net = _tiny_mlp(seed=4, widths=(6, 20, 20, 3))
    g = torch.Generator().manual_seed(5)
    x, y = torch.randn(200, 6, generator=g, dtype=torch.float64), torch.randn(200, 6, generator=g, dtype=torch.float64)
    with torch.no_grad():
        ratio = (net(x) - net(y)).norm(dim=1) / (x - y).norm(dim=1)
    bound = spectral_norm_product(net)
    assert float(ratio.max()) <= bound * (1 + 1e-12)
    assert bound == pytest.approx(math.prod(spectral_norms(net)), rel=1e-12)


def test_parameter_count_and_layer_lists():
    net = _tiny_mlp()
    assert parameter_count(net) == sum(p.numel() for p in net.parameters()) == 3 * 4 + 4 + 4 * 3 + 3 + 3 * 2 + 2
    pairs = [(m.weight, m.bias) for m in net if isinstance(m, nn.Linear)]
    assert parameter_count(pairs) == parameter_count(net)
    assert path_norm(pairs) == pytest.approx(path_norm(net), rel=1e-12)
    net[0].weight.requires_grad_(False)
    assert parameter_count(net, trainable_only=True) == parameter_count(net) - 12


def test_bad_inputs_raise_actionable_errors():
    with pytest.raises(ValueError, match="Conv1d"):
        path_norm(nn.Sequential(nn.Conv1d(1, 2, 3), nn.Flatten(), nn.Linear(4, 1)))
    with pytest.raises(ValueError, match="chain"):
        path_norm([torch.ones(3, 4), torch.ones(2, 5)])
    with pytest.raises(ValueError, match="no Linear"):
        path_norm(nn.ReLU())
