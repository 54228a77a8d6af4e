"""The model zoo: logistic regression, MLP, 1-D CNN, GRU, small 2-D CNN.

Sizes follow the MNIST-1D paper's baselines where they apply (MLP 100-100, CNN with 25 channels,
kernel 5, stride 2; GRU with 6 hidden units, bidirectional, reading all time steps).
All are plain ``nn.Module``s that run under ``torch.func.vmap`` (the GRU is an explicit loop for that).
"""

from __future__ import annotations

import torch
import torch.nn as nn

from .layers import ScaledLinear, activation

__all__ = ["Logistic", "MLP", "CNN1d", "GRU", "CNN2d"]


class Logistic(nn.Module):
    def __init__(self, in_features: int, n_classes: int):
        super().__init__()
        self.linear = nn.Linear(in_features, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(1))


class MLP(nn.Module):
    """``depth`` hidden layers of ``width`` units (or hidden sizes ``widths``); ScaledLinear layers when
    ``gaussian_init``."""

    def __init__(self, in_features: int, n_classes: int, width: int = 100, depth: int = 2, act: str = "relu",
                 sigma_w2: float = 2.0, sigma_b2: float = 0.0, parametrization: str = "standard",
                 gaussian_init: bool = False, dropout: float = 0.0, bias: bool = True, widths: tuple[int, ...] = ()):
        super().__init__()
        dims = [in_features] + (list(widths) or [width] * depth) + [n_classes]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(dims[:-1], dims[1:])):
            last = i == len(dims) - 2
            if gaussian_init or parametrization == "ntk":
                # the readout layer keeps σ_w² but gets no activation gain
                layers.append(ScaledLinear(a, b, sigma_w2 if not last else sigma_w2, sigma_b2, parametrization, bias))
            else:
                layers.append(nn.Linear(a, b, bias=bias))
            if not last:
                layers.append(activation(act))
                if dropout > 0:
                    layers.append(nn.Dropout(dropout))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x.flatten(1))


def _conv_out(length: int, kernel: int, stride: int, padding: int) -> int:
    return (length + 2 * padding - kernel) // stride + 1


class CNN1d(nn.Module):
    """``n_layers`` Conv1d(stride 2, padding 1) + activation layers, then a linear readout.

    ``kernels``: one kernel size per layer; empty means 5 for every layer. The MNIST-1D paper's ConvBase is
    ``kernels=(5, 3, 3)`` (receptive field 17 of 40 positions); all-5 kernels see 29 positions."""

    def __init__(self, length: int, n_classes: int, channels: int = 25, act: str = "relu", n_layers: int = 3,
                 kernels: tuple[int, ...] = ()):
        super().__init__()
        kernels = tuple(kernels) or (5,) * n_layers
        if len(kernels) != n_layers or min(kernels) < 1:
            raise ValueError(f"CNN1d: need one kernel size >= 1 per layer ({n_layers} layers), got {kernels}")
        layers: list[nn.Module] = []
        c_in, size = 1, length
        for kernel in kernels:
            layers += [nn.Conv1d(c_in, channels, kernel, stride=2, padding=1), activation(act)]
            c_in, size = channels, _conv_out(size, kernel, 2, 1)
        if size < 1:
            raise ValueError(f"input length {length} is too short for {n_layers} stride-2 convolutions")
        self.features = nn.Sequential(*layers)
        self.readout = nn.Linear(channels * size, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x.reshape(x.shape[0], 1, -1))
        return self.readout(h.flatten(1))


class GRU(nn.Module):
    """A (bi)directional GRU over a 1-D signal, read out from the hidden states of all time steps.

    Written as an explicit loop of Linear layers so that it runs under ``vmap`` (populations).
    """

    def __init__(self, length: int, n_classes: int, hidden: int = 6, bidirectional: bool = True):
        super().__init__()
        self.hidden, self.directions = hidden, 2 if bidirectional else 1
        self.ih = nn.ModuleList(nn.Linear(1, 3 * hidden) for _ in range(self.directions))
        self.hh = nn.ModuleList(nn.Linear(hidden, 3 * hidden) for _ in range(self.directions))
        self.readout = nn.Linear(hidden * length * self.directions, n_classes)

    def _scan(self, x: torch.Tensor, d: int, reverse: bool) -> torch.Tensor:
        batch, steps = x.shape
        gates_x = self.ih[d](x.unsqueeze(-1))  # (B, T, 3H)
        h = x.new_zeros(batch, self.hidden)
        out = []
        order = range(steps - 1, -1, -1) if reverse else range(steps)
        for t in order:
            gx = gates_x[:, t]
            gh = self.hh[d](h)
            r = torch.sigmoid(gx[:, : self.hidden] + gh[:, : self.hidden])
            z = torch.sigmoid(gx[:, self.hidden: 2 * self.hidden] + gh[:, self.hidden: 2 * self.hidden])
            n = torch.tanh(gx[:, 2 * self.hidden:] + r * gh[:, 2 * self.hidden:])
            h = (1 - z) * n + z * h
            out.append(h)
        if reverse:
            out.reverse()
        return torch.stack(out, 1)  # (B, T, H)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(x.shape[0], -1)
        states = [self._scan(x, d, reverse=d == 1) for d in range(self.directions)]
        return self.readout(torch.cat(states, -1).flatten(1))


class CNN2d(nn.Module):
    """conv3x3(c) → act → conv3x3(2c) → act → 2x2 max-pool → linear; for small images such as 8x8 digits."""

    def __init__(self, in_shape: tuple[int, ...], n_classes: int, channels: int = 16, act: str = "relu"):
        super().__init__()
        if len(in_shape) == 2:
            in_shape = (1, *in_shape)
        if len(in_shape) != 3:
            raise ValueError(f"CNN2d needs image inputs (C, H, W), got example shape {in_shape}")
        c, h, w = in_shape
        self.in_shape = (c, h, w)
        self.features = nn.Sequential(
            nn.Conv2d(c, channels, 3, padding=1), activation(act),
            nn.Conv2d(channels, 2 * channels, 3, padding=1), activation(act), nn.MaxPool2d(2))
        self.readout = nn.Linear(2 * channels * (h // 2) * (w // 2), n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x.reshape(x.shape[0], *self.in_shape))
        return self.readout(h.flatten(1))


def n_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


__all__.append("n_params")
