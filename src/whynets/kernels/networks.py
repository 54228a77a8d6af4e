"""The finite network an analytic kernel describes, at any width: the Monte-Carlo oracle of every kernel.

``finite_network(arch, input_shape, width, out, generator)`` builds the ``nn.Module`` whose NNGP and NTK tend to
``kernels(..., same arguments)`` as ``width`` → ∞ (layers as in ``architecture.py``; weights N(0, 1) scaled in the
forward pass for the NTK parametrization, N(0, σ²/fan_in) for the standard one), initialized from ``generator`` only.

    >>> import torch
    >>> from whynets.kernels import architecture, finite_network
    >>> net = finite_network(architecture(depth=2, activation="erf"), (40,), width=512, out=1,
    ...                      generator=torch.Generator().manual_seed(0))
    >>> net(torch.randn(3, 40)).shape
    torch.Size([3, 1])
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from whynets.models.layers import ScaledLinear

from .activations import Activation
from .architecture import Architecture

__all__ = ["finite_network", "ScaledConv1d", "ActivationModule"]


class ActivationModule(nn.Module):
    """An ``Activation`` as a module: piecewise-linear a·relu(u) − b·relu(−u), erf, or its callable."""

    def __init__(self, activation: Activation):
        super().__init__()
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        act = self.activation
        if act.kind == "piecewise":
            a, b = act.slopes
            return a * F.relu(x) - b * F.relu(-x)
        if act.kind == "erf":
            return torch.erf(x)
        return act.fn(x)

    def extra_repr(self) -> str:
        return self.activation.name


class ScaledConv1d(nn.Module):
    """Conv1d (stride 1, zero 'same' padding, odd kernel) with ``ScaledLinear``'s two parametrizations."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, sigma_w2: float, sigma_b2: float,
                 parametrization: str = "ntk"):
        super().__init__()
        self.fan_in = c_in * kernel_size
        self.sigma_w2, self.sigma_b2, self.parametrization = sigma_w2, sigma_b2, parametrization
        self.padding = kernel_size // 2
        self.weight = nn.Parameter(torch.empty(c_out, c_in, kernel_size))
        self.bias = nn.Parameter(torch.empty(c_out))
        ntk = parametrization == "ntk"
        self.w_mult = math.sqrt(sigma_w2 / self.fan_in) if ntk else 1.0
        self.b_mult = math.sqrt(sigma_b2) if ntk else 1.0

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        with torch.no_grad():
            ntk = self.parametrization == "ntk"
            self.weight.normal_(0.0, 1.0 if ntk else math.sqrt(self.sigma_w2 / self.fan_in), generator=generator)
            self.bias.normal_(0.0, 1.0 if ntk else math.sqrt(self.sigma_b2), generator=generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv1d(x, self.weight * self.w_mult, self.bias * self.b_mult, padding=self.padding)


class _GlobalAverage(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(-1)


class _Channels(nn.Module):
    """(n, P) -> (n, 1, P); (n, C, P) unchanged."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, None, :] if x.ndim == 2 else x


def finite_network(arch: Architecture, input_shape: tuple[int, ...], width: int | tuple[int, ...], out: int = 1,
                   generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32) -> nn.Module:
    """The network ``arch`` describes with hidden widths ``width`` (one or per layer) and ``out`` outputs (CPU)."""
    widths = (int(width),) * arch.depth if isinstance(width, int) else tuple(int(w) for w in width)
    if len(widths) != arch.depth:
        raise ValueError(f"finite_network: give one width or {arch.depth} widths, got {widths}")
    sw, sb, par = arch.sigma_w2, arch.sigma_b2, arch.parametrization
    layers: list[nn.Module] = []
    if arch.kind == "fc":
        fan_in = math.prod(input_shape)
        layers.append(nn.Flatten())
        for layer, w in enumerate(widths):
            layers += [ScaledLinear(fan_in, w, sw[layer], sb[layer], par), ActivationModule(arch.activation)]
            fan_in = w
    else:
        channels = input_shape[0] if len(input_shape) == 2 else 1
        positions = input_shape[-1]
        layers.append(_Channels())
        for layer, w in enumerate(widths):
            layers += [ScaledConv1d(channels, w, arch.kernel_size, sw[layer], sb[layer], par),
                       ActivationModule(arch.activation)]
            channels = w
        layers += [_GlobalAverage()] if arch.pooling == "gap" else [nn.Flatten()]
        fan_in = channels if arch.pooling == "gap" else channels * positions
    layers.append(ScaledLinear(fan_in, out, sw[-1], sb[-1], par))
    net = nn.Sequential(*layers)
    for m in net.modules():
        if isinstance(m, (ScaledLinear, ScaledConv1d)):
            m.reset_parameters(generator)
    return net.to(dtype)
