"""Model factories of the ``recommendations`` experiment — modules built the way a user builds them (``nn.Linear`` /
``nn.Conv1d`` layers, no whynets layer types), so that the recommendation code path measures them as it measures a
user's model (``ModelSpec(kind="factory", factory="whynets.experiments._recommendations_nets:<name>")``):

* ``plain_mlp``: Flatten → (Linear → activation) × depth → Linear, initialized as PyTorch does (uniform ±1/√fan_in,
  weights and biases) or Gaussian (W ~ N(0, σ_w²/fan_in), b ~ N(0, σ_b²)), then each named parameter multiplied by
  its factor in ``scales`` (a JSON object, ``measure.recommendations.apply_scales``): the recommended initialization
  is the starting one rescaled, exactly what ``diagnose`` tells a user to do;
* ``residual_cnn``: a 1-D residual CNN without normalization — a stem convolution, ``blocks`` residual blocks
  h ← h + conv(φ(conv(φ(h)))) at full length, then φ and a linear readout; PyTorch's initialization.

A factory is called inside ``torch.random.fork_rng`` seeded with the member's seed (``models.factory``); the weights
are drawn from an explicit ``torch.Generator`` seeded from that seed, never from the global RNG's state.
"""

from __future__ import annotations

import json
import math

import torch
import torch.nn as nn

from whynets.measure.recommendations import apply_scales
from whynets.models import activation, init_module

__all__ = ["plain_mlp", "residual_cnn", "FACTORY"]

FACTORY = "whynets.experiments._recommendations_nets"


def _generator() -> torch.Generator:
    return torch.Generator().manual_seed(torch.initial_seed())  # the member's seed (set by call_factory)


def plain_mlp(in_features: int, n_classes: int, width: int, depth: int, act: str = "tanh", init: str = "torch",
              sigma_w2: float = 1.0, sigma_b2: float = 0.0, scales: str = "{}") -> nn.Module:
    """``depth`` hidden layers of ``width`` units; ``init``: torch | gaussian (σ_w², σ_b²; the readout too)."""
    dims = [in_features] + [width] * depth + [n_classes]
    layers: list[nn.Module] = [nn.Flatten()]
    for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
        layers.append(nn.Linear(a, b, device="meta"))
        if i < depth:
            layers.append(activation(act))
    net = nn.Sequential(*layers).to_empty(device="cpu")
    g = _generator()
    if init == "torch":
        init_module(net, g)
    elif init == "gaussian":
        with torch.no_grad():
            for m in net.modules():
                if isinstance(m, nn.Linear):
                    m.weight.copy_(torch.randn(m.weight.shape, generator=g) * math.sqrt(sigma_w2 / m.in_features))
                    m.bias.copy_(torch.randn(m.bias.shape, generator=g) * math.sqrt(sigma_b2))
    else:
        raise ValueError(f"plain_mlp: init must be 'torch' or 'gaussian', got {init!r}")
    return apply_scales(net, json.loads(scales))


class _Block(nn.Module):
    def __init__(self, channels: int, act: str):
        super().__init__()
        self.body = nn.Sequential(activation(act), nn.Conv1d(channels, channels, 3, padding=1), activation(act),
                                  nn.Conv1d(channels, channels, 3, padding=1))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.body(h)


class ResidualCNN(nn.Module):
    def __init__(self, length: int, n_classes: int, channels: int, blocks: int, act: str):
        super().__init__()
        self.stem = nn.Conv1d(1, channels, 5, padding=2)
        self.blocks = nn.Sequential(*[_Block(channels, act) for _ in range(blocks)])
        self.act = activation(act)
        self.readout = nn.Linear(channels * length, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(self.stem(x.reshape(x.shape[0], 1, -1)))
        return self.readout(self.act(h).flatten(1))


def residual_cnn(length: int, n_classes: int, channels: int = 16, blocks: int = 3, act: str = "relu") -> nn.Module:
    """A residual 1-D CNN on signals of ``length`` samples, PyTorch's initialization."""
    with torch.device("meta"):
        net = ResidualCNN(length, n_classes, channels, blocks, act)
    return init_module(net.to_empty(device="cpu"), _generator())
