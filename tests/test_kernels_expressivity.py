"""Exact linear-piece counts against Telgarsky's 2^L, the k + 1 bound and a dense brute-force scan; trajectory
lengths against the circle's perimeter and the mean-field growth rate √χ₁ per layer."""

import math

import pytest
import torch

from whynets.kernels import chi_1
from whynets.kernels.expressivity import (linear_pieces, random_relu_layers, relu_net, sawtooth_layers,
                                          trajectory_lengths)


def test_sawtooth_has_two_to_the_depth_pieces():
    for depth in range(1, 15):
        assert linear_pieces(sawtooth_layers(depth)) == 2 ** depth
    x = torch.linspace(0, 1, 9, dtype=torch.float64)  # t∘t: 0 at 0, ½, 1; 1 at ¼, ¾
    assert relu_net(sawtooth_layers(2), x).tolist() == [0, 0.5, 1, 0.5, 0, 0.5, 1, 0.5, 0]


def _brute_force_pieces(layers, lo, hi, n=400_001):
    """Slope changes on a dense grid: a lower bound that equals the count when no piece is shorter than 2 cells."""
    x = torch.linspace(lo, hi, n, dtype=torch.float64)
    y = relu_net(layers, x)
    slope = (y[1:] - y[:-1]) / (x[1] - x[0])
    change = (slope[1:] - slope[:-1]).abs() > 1e-6 * slope.abs().max()
    # a kink inside a cell changes the slope over two consecutive cells: count runs of changes
    runs = change[1:] & ~change[:-1]
    return int(runs.sum()) + int(change[0]) + 1


def test_piece_counts_match_a_dense_scan_and_one_hidden_layer_stays_below_k_plus_one():
    g = torch.Generator().manual_seed(0)
    for k in (1, 4, 12):
        for _ in range(20):
            layers = random_relu_layers([k], generator=g)
            p = linear_pieces(layers, (-4.0, 4.0))
            assert p <= k + 1
    for widths in ([6, 6], [5, 5, 5]):
        for _ in range(3):
            layers = random_relu_layers(widths, generator=g)
            assert linear_pieces(layers, (-3.0, 3.0)) == _brute_force_pieces(layers, -3.0, 3.0)
    # a kink that the next layer cancels is not a piece boundary: relu(x) − relu(−x) = x has one piece
    f64 = dict(dtype=torch.float64)
    identity = [(torch.tensor([[1.0], [-1.0]], **f64), torch.zeros(2, **f64)), (torch.tensor([[1.0, -1.0]], **f64), torch.zeros(1, **f64))]
    assert linear_pieces(identity, (-1.0, 1.0)) == 1
    with pytest.raises(ValueError):
        linear_pieces(identity, (1.0, 1.0))


def test_trajectory_length_starts_at_the_circle_and_grows_by_root_chi_1_per_layer():
    lengths = trajectory_lengths("tanh", 8.0, 0.05, depth=10, width=400, input_dim=16, points=2000,
                                 generator=torch.Generator().manual_seed(2))
    r, n = 4.0, 2000
    assert lengths[0] == pytest.approx(2 * n * r * math.sin(math.pi / n), rel=1e-12)  # the inscribed polygon
    # after the length has relaxed to q* (3 layers), log-length grows by ½ ln χ₁ per layer (mean field)
    slope = (math.log(lengths[10]) - math.log(lengths[4])) / 6
    assert slope == pytest.approx(0.5 * math.log(chi_1("tanh", 8.0, 0.05)), rel=0.1)
    shrinking = trajectory_lengths("tanh", 1.0, 0.05, depth=6, width=400, generator=torch.Generator().manual_seed(2))
    assert shrinking[6] < shrinking[2]  # ordered phase: χ₁ < 1, the curve contracts
