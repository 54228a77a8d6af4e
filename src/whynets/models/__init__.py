"""Model factories. A `ModelSpec` plus the data's input shape and class count builds an ``nn.Module``
initialized from an explicit ``torch.Generator``:

    >>> import torch, whynets as wn
    >>> net = wn.models.build(wn.models.ModelSpec(kind="mlp", width=64), (40,), 10, torch.Generator().manual_seed(0))
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch.nn as nn

from whynets.spec import Spec, SpecError

from .layers import ACTIVATIONS, ScaledLinear, activation, init_module
from .nets import CNN1d, CNN2d, GRU, MLP, Logistic, n_params

__all__ = ["ModelSpec", "build", "MLP", "CNN1d", "CNN2d", "GRU", "Logistic", "ScaledLinear", "init_module",
           "n_params", "KINDS", "ACTIVATIONS", "activation"]

KINDS = ("logistic", "mlp", "cnn1d", "gru", "cnn2d", "factory")


@dataclass(frozen=True)
class ModelSpec(Spec):
    kind: str = field(default="mlp", metadata={"help": "logistic | mlp | cnn1d | gru | cnn2d"})
    width: int = field(default=100, metadata={"help": "MLP hidden units / CNN channels / GRU hidden units"})
    depth: int = field(default=2, metadata={"help": "MLP: number of hidden layers; CNN1d: conv layers"})
    activation: str = field(default="relu", metadata={"help": "relu | tanh | gelu | erf | sigmoid | softplus | linear"})
    init: str = field(default="torch", metadata={"help": "torch (uniform ±1/√fan_in) | gaussian (σ_w², σ_b² below)"})
    sigma_w2: float = field(default=2.0, metadata={"help": "weight variance × fan_in (gaussian init / NTK)"})
    sigma_b2: float = field(default=0.0, metadata={"help": "bias variance (gaussian init / NTK)"})
    parametrization: str = field(default="standard", metadata={"help": "standard | ntk"})
    dropout: float = field(default=0.0, metadata={"help": "MLP dropout probability after each hidden layer"})
    conv_layers: int = field(default=3, metadata={"help": "CNN1d: number of stride-2 conv layers"})
    factory: str = field(default="", metadata={"help": "kind=factory: your model, module:function or file.py:function"})
    factory_args: str = field(default="", metadata={"help": "kind=factory: keyword arguments as a JSON object"})
    widths: tuple[int, ...] = field(default=(), metadata={"help": "MLP: hidden sizes layer by layer (e.g. 10,7,5,4,3; "
                                                                  "overrides width and depth)"})
    kernels: tuple[int, ...] = field(default=(), metadata={"help": "CNN1d: kernel size per conv layer (empty: 5 each; "
                                                                   "the MNIST-1D paper's ConvBase: 5,3,3)"})
    bidirectional: bool = field(default=True, metadata={"help": "GRU: read the signal both ways"})

    def validate(self) -> None:
        def bad(name: str, rule: str) -> None:
            raise SpecError(f"model.{name}={getattr(self, name)!r} is out of range: {rule}")
        if self.kind not in KINDS:
            raise SpecError(f"model.kind={self.kind!r} is unknown; choose one of {', '.join(KINDS)}")
        if self.activation not in ACTIVATIONS:
            raise SpecError(f"model.activation={self.activation!r} is unknown; choose one of {', '.join(ACTIVATIONS)}")
        if self.init not in ("torch", "gaussian"):
            raise SpecError(f"model.init={self.init!r} is unknown; choose torch or gaussian")
        if self.parametrization not in ("standard", "ntk"):
            raise SpecError(f"model.parametrization={self.parametrization!r} is unknown; choose standard or ntk")
        if self.width < 1:
            bad("width", "at least 1 unit / channel")
        if self.depth < 1:
            bad("depth", "at least 1 hidden layer")
        if self.conv_layers < 1:
            bad("conv_layers", "at least 1 conv layer")
        if not (math.isfinite(self.sigma_w2) and self.sigma_w2 > 0):
            bad("sigma_w2", "a finite variance > 0")
        if not (math.isfinite(self.sigma_b2) and self.sigma_b2 >= 0):
            bad("sigma_b2", "a finite variance >= 0")
        if not (0 <= self.dropout < 1):
            bad("dropout", "a probability in [0, 1)")
        if any(k < 1 for k in self.kernels):
            bad("kernels", "kernel sizes >= 1")
        if any(w < 1 for w in self.widths):
            bad("widths", "hidden sizes >= 1")
        if self.kind == "factory" and not self.factory:
            raise SpecError("model.kind=factory needs model.factory=module:function (or file.py:function)")


def _make(spec: ModelSpec, input_shape: tuple[int, ...], n_classes: int) -> nn.Module:
    flat = int(math.prod(input_shape))
    if spec.kind == "logistic":
        return Logistic(flat, n_classes)
    if spec.kind == "mlp":
        return MLP(flat, n_classes, spec.width, spec.depth, spec.activation, spec.sigma_w2, spec.sigma_b2,
                   spec.parametrization, gaussian_init=spec.init == "gaussian", dropout=spec.dropout,
                   widths=spec.widths)
    if spec.kind == "cnn1d":
        return CNN1d(flat, n_classes, spec.width, spec.activation, n_layers=spec.conv_layers, kernels=spec.kernels)
    if spec.kind == "gru":
        return GRU(flat, n_classes, spec.width, spec.bidirectional)
    if spec.kind == "factory":
        raise AssertionError("factory models are built by build()")
    if spec.kind == "cnn2d":
        return CNN2d(tuple(input_shape), n_classes, spec.width, spec.activation)
    raise ValueError(f"unknown model kind {spec.kind!r}; choose one of {', '.join(KINDS)}")


def build(spec: ModelSpec, input_shape: tuple[int, ...], n_classes: int, generator: torch.Generator,
          device: torch.device | str = "cpu") -> nn.Module:
    """Construct on the meta device (no global RNG is touched), then initialize from ``generator``."""
    if spec.init not in ("torch", "gaussian"):
        raise ValueError(f"model.init must be 'torch' or 'gaussian', got {spec.init!r}")
    if spec.kind == "factory":  # the user's own initialization, seeded from the generator
        from .factory import call_factory

        return call_factory(spec.factory, spec.factory_args, generator).to(device)
    with torch.device("meta"):
        module = _make(spec, input_shape, n_classes)
    module = module.to_empty(device="cpu")
    init_module(module, generator)
    return module.to(device)
