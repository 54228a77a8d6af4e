"""Building blocks: a Linear layer with explicit initialization scale and parametrization, activations,
and seeded initialization of whole modules.

Standard parametrization: W ~ N(0, σ_w²/fan_in), b ~ N(0, σ_b²), used as is.
NTK parametrization (Jacot et al. 2018): W, b ~ N(0, 1), and the layer computes
(σ_w/√fan_in)·W x + σ_b·b, so the function at init is the same but gradients scale differently.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = ["ScaledLinear", "ACTIVATIONS", "activation", "init_module"]


class ScaledLinear(nn.Module):
    def __init__(self, fan_in: int, fan_out: int, sigma_w2: float = 2.0, sigma_b2: float = 0.0,
                 parametrization: str = "standard", bias: bool = True):
        super().__init__()
        if parametrization not in ("standard", "ntk"):
            raise ValueError(f"parametrization must be 'standard' or 'ntk', got {parametrization!r}")
        self.fan_in, self.fan_out = fan_in, fan_out
        self.sigma_w2, self.sigma_b2, self.parametrization = sigma_w2, sigma_b2, parametrization
        self.weight = nn.Parameter(torch.empty(fan_out, fan_in))
        self.bias = nn.Parameter(torch.empty(fan_out)) if bias else None
        ntk = parametrization == "ntk"
        self.w_mult = math.sqrt(sigma_w2 / fan_in) if ntk else 1.0
        self.b_mult = math.sqrt(sigma_b2) if ntk else 1.0

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        with torch.no_grad():
            w_std = 1.0 if self.parametrization == "ntk" else math.sqrt(self.sigma_w2 / self.fan_in)
            b_std = 1.0 if self.parametrization == "ntk" else math.sqrt(self.sigma_b2)
            self.weight.copy_(torch.randn(self.weight.shape, generator=generator) * w_std)
            if self.bias is not None:
                self.bias.copy_(torch.randn(self.bias.shape, generator=generator) * b_std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self.weight * self.w_mult if self.w_mult != 1.0 else self.weight
        b = None
        if self.bias is not None:
            b = self.bias * self.b_mult if self.b_mult != 1.0 else self.bias
        return F.linear(x, w, b)

    def extra_repr(self) -> str:
        return f"{self.fan_in}->{self.fan_out}, σ_w²={self.sigma_w2}, σ_b²={self.sigma_b2}, {self.parametrization}"


ACTIVATIONS = {
    "relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU, "sigmoid": nn.Sigmoid,
    "linear": nn.Identity, "erf": None, "softplus": nn.Softplus,
}


class Erf(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.erf(x)


def activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}")
    return Erf() if name == "erf" else ACTIVATIONS[name]()


@torch.no_grad()
def init_module(module: nn.Module, generator: torch.Generator) -> nn.Module:
    """Initialize every parameter from ``generator`` (CPU), never the global RNG.

    ScaledLinear uses its own σ-scaled Gaussian; Linear/Conv use PyTorch's default distribution
    (uniform on ±1/√fan_in for weights and biases); normalization layers start at (1, 0).
    """
    for m in module.modules():
        if isinstance(m, ScaledLinear):
            m.reset_parameters(generator)
        elif isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d)):
            fan_in = m.weight[0].numel()
            bound = 1.0 / math.sqrt(fan_in)
            m.weight.copy_(torch.rand(m.weight.shape, generator=generator) * 2 * bound - bound)
            if m.bias is not None:
                m.bias.copy_(torch.rand(m.bias.shape, generator=generator) * 2 * bound - bound)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm)):
            if getattr(m, "weight", None) is not None:
                m.weight.fill_(1.0)
                m.bias.zero_()
            if getattr(m, "running_mean", None) is not None:
                m.running_mean.zero_()
                m.running_var.fill_(1.0)
                m.num_batches_tracked.zero_()
    return module
