"""Infinite-width theory in PyTorch: analytic NNGP and NTK kernels, inference with them, the empirical NTK of any
module, and finite-width corrections.

    >>> import torch, whynets as wn
    >>> g = torch.Generator().manual_seed(0)
    >>> x, xt = torch.randn(50, 40, generator=g), torch.randn(10, 40, generator=g)
    >>> y = torch.randn(50, 1, generator=g)
    >>> k = wn.kernels.kernels(torch.cat([x, xt]), depth=3, activation="relu")       # NNGP and NTK, float64
    >>> gp = wn.kernels.gp_posterior(k.nngp[:50, :50], k.nngp[50:, :50], y, k.nngp[50:, 50:].diagonal(), noise=1e-2)
    >>> flow = wn.kernels.ntk_predict(k.ntk[:50, :50], k.ntk[50:, :50], y, t=float("inf"))
    >>> net = torch.nn.Sequential(torch.nn.Linear(40, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    >>> wn.kernels.empirical_ntk(net, xt, mode="trace").shape
    torch.Size([10, 10])

* ``nngp``, ``ntk``, ``kernels`` (both at once) — fully-connected or 1-D convolutional (global average pooling)
  networks of any depth; ReLU / leaky / |u| / linear (arc-cosine closed forms), erf (closed form), anything else by
  Gauss–Hermite quadrature; NTK or standard parametrization; σ_w², σ_b² per layer; float64; computed in blocks under
  a memory budget (``blocks.plan_blocks``). ``finite_network`` builds the finite network each kernel describes.
* ``gp_posterior`` (exact GP regression), ``ntk_predict`` (an MSE-trained infinite net at time t, t = ∞ included).
* ``empirical_ntk(model, x1, x2)`` — any ``nn.Module``; Jacobian contraction or NTK-vector products chosen by cost.
* ``finite_width`` — Roberts, Yaida & Hanin's output kurtosis at depth L and width n, exact and by Monte Carlo.
* ``meanfield`` — mean-field signal propagation (q*, c*, χ₁, depth scales, the critical line) and random-net Jacobian
  singular values; ``complexity`` — Lempel–Ziv complexity and the Boolean functions random networks compute;
  ``expressivity`` — exact linear pieces of 1-D ReLU nets (Telgarsky's sawtooth) and trajectory lengths (Raghu et al.).
"""

from __future__ import annotations

from .meanfield import *  # noqa: F401,F403
from .meanfield import __all__ as _meanfield_all
from .complexity import *  # noqa: F401,F403
from .complexity import __all__ as _complexity_all
from .expressivity import *  # noqa: F401,F403
from .expressivity import __all__ as _expressivity_all

from . import finite_width
from .activations import Activation, KernelSpecError, erf, get_activation, piecewise_linear, quadrature
from .analytic import Kernels, kernels, nngp, ntk, plan_for
from .architecture import Architecture, architecture
from .blocks import DEFAULT_BUDGET, BlockPlan, KernelMemoryError, plan_blocks
from .empirical import EmpiricalNTKError, empirical_ntk, ntk_costs
from .inference import Posterior, gp_posterior, ntk_predict
from .networks import finite_network

__all__ = ["nngp", "ntk", "kernels", "Kernels", "gp_posterior", "ntk_predict", "Posterior", "empirical_ntk",
           "ntk_costs", "finite_network", "architecture", "Architecture", "Activation", "get_activation",
           "piecewise_linear", "erf", "quadrature", "plan_blocks", "plan_for", "BlockPlan", "DEFAULT_BUDGET",
           "KernelMemoryError", "KernelSpecError", "EmpiricalNTKError", "finite_width", *_meanfield_all,
           *_complexity_all, *_expressivity_all]
