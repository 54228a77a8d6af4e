"""The demo's model: an over-parameterized MLP for MNIST-1D, as a plain factory (what a user would write), and
the recipe that trains it before it is diagnosed (``whynets diagnose --demo``)."""

from __future__ import annotations

import torch.nn as nn

__all__ = ["mlp", "DEMO_WIDTH"]

DEMO_WIDTH = 256  # 40-256-256-10: 77k parameters for 4000 training signals


def mlp(width: int = DEMO_WIDTH, depth: int = 2, inputs: int = 40, classes: int = 10) -> nn.Module:
    """A ReLU MLP ``inputs``-width-…-width-``classes`` (PyTorch's default initialization)."""
    layers: list[nn.Module] = [nn.Flatten()]
    sizes = [inputs] + [width] * depth
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    layers.append(nn.Linear(sizes[-1], classes))
    return nn.Sequential(*layers)
