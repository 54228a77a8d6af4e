"""Analytic infinite-width kernels of fully-connected and 1-D convolutional networks: NNGP and NTK.

    >>> import torch, whynets as wn
    >>> x = torch.randn(5, 40, generator=torch.Generator().manual_seed(0))
    >>> k = wn.kernels.nngp(x, depth=3, activation="relu")            # (5, 5) float64
    >>> theta = wn.kernels.ntk(x, x[:2], depth=3, activation="erf", sigma_w2=1.5, sigma_b2=0.05)
    >>> both = wn.kernels.kernels(x.reshape(5, 1, 40), architecture="conv1d", depth=2, kernel_size=3)
    >>> both.nngp.shape, both.ntk.shape
    (torch.Size([5, 5]), torch.Size([5, 5]))

The network is described in ``architecture.py`` (depth, activation, σ_w², σ_b² per layer, parametrization,
widths), the recursions in ``recursions.py``, the activations' Gaussian expectations in ``activations.py``.

Memory: the call estimates up front what it holds at once — the output matrices plus one block's workspace — and
picks the block of input pairs so that the total stays under ``memory_budget`` bytes (default 2 GiB: a 10⁴ × 10⁴
NNGP + NTK pair in float64 is 1.5 GiB of output, computed in blocks in the other 0.5 GiB); if the output alone
cannot fit it refuses in one line. ``progress``: a callback ``(done_pairs, total_pairs)`` or ``True`` for a bar on
stderr. Everything runs on the inputs' device in ``dtype`` (float64 by default).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from .activations import DEFAULT_DEGREE, Activation, KernelSpecError
from .architecture import Architecture, architecture as make_architecture
from .blocks import DEFAULT_BUDGET, BlockPlan, Progress, plan_blocks
from .recursions import conv_block, conv_diagonals, fc_block, fc_diagonals

__all__ = ["Kernels", "kernels", "nngp", "ntk", "plan_for"]

_FC_ARRAYS = 12  # (bi × bj) float arrays alive at once in one fully-connected layer step (S, K, Θ, V, V', ρ, …)
_CONV_ARRAYS = 16  # (bi × bj × P × P) arrays alive at once in one convolutional layer step (window sums pad copies)
# entries per block: on a CPU the elementwise layer steps run from cache (measured ~5× faster than 10⁷-entry blocks
# for a 3000² ReLU kernel); a GPU wants large blocks
_CPU_BLOCK_ENTRIES, _GPU_BLOCK_ENTRIES = 1 << 16, 1 << 24


@dataclass(frozen=True)
class Kernels:
    """The NNGP and NTK matrices (n1 × n2; None where not asked for) and the block plan that computed them."""

    nngp: torch.Tensor | None
    ntk: torch.Tensor | None
    plan: BlockPlan


def _inputs(x: torch.Tensor, arch: Architecture, dtype: torch.dtype, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise KernelSpecError(f"{name} must be a torch.Tensor of shape (n, ...), got {type(x).__name__}")
    if x.ndim < 2 or x.shape[0] == 0:
        raise KernelSpecError(f"{name} must have shape (n, ...) with n >= 1 examples, got {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise KernelSpecError(f"{name} holds NaN or Inf values")
    x = x.to(dtype)
    if arch.kind == "fc":
        return x.flatten(1)
    if x.ndim == 2:
        return x[:, None, :]
    if x.ndim != 3:
        raise KernelSpecError(f"conv1d kernels take {name} of shape (n, positions) or (n, channels, positions), "
                              f"got {tuple(x.shape)}")
    return x


def plan_for(n1: int, n2: int, arch: Architecture, features: tuple[int, ...], outputs: int, want_ntk: bool,
             dtype: torch.dtype = torch.float64, memory_budget: int = DEFAULT_BUDGET,
             device: torch.device | str = "cpu") -> BlockPlan:
    """The block plan a kernel call over n1 × n2 pairs of inputs with per-example shape ``features`` will use."""
    item = torch.finfo(dtype).bits // 8
    act = arch.activation.bytes_per_entry(want_ntk) * item // 8
    if arch.kind == "fc":
        per_pair = _FC_ARRAYS * item + act
        fixed = (n1 + n2) * (math.prod(features) + arch.depth) * item
    else:
        positions = features[-1]
        per_pair = positions * positions * (_CONV_ARRAYS * item + act)
        fixed = (n1 + n2) * (math.prod(features) + arch.depth * positions) * item
    entries = (_CPU_BLOCK_ENTRIES if torch.device(device).type == "cpu" else _GPU_BLOCK_ENTRIES)
    if arch.kind == "conv1d":
        entries = max(1, entries // (features[-1] ** 2))
    return plan_blocks(n1, n2, outputs=outputs, bytes_per_pair=per_pair, budget=memory_budget, itemsize=item,
                       fixed_bytes=fixed, what=f"{arch.kind} kernel", max_pairs=entries)


def kernels(x1: torch.Tensor, x2: torch.Tensor | None = None, *, depth: int = 2,
            activation: str | Activation | Callable = "relu", sigma_w2: float | Sequence[float] = 2.0,
            sigma_b2: float | Sequence[float] = 0.0, parametrization: str = "ntk",
            widths: int | Sequence[int] | None = None, architecture: str = "fc", kernel_size: int = 3,
            pooling: str = "gap", want: Sequence[str] = ("nngp", "ntk"), dtype: torch.dtype = torch.float64,
            memory_budget: int = DEFAULT_BUDGET, progress: bool | Callable[[int, int], None] | None = None,
            degree: int = DEFAULT_DEGREE) -> Kernels:
    """NNGP and NTK of x1 × x2 (x2 = x1 when None) for ``depth`` hidden layers (see the module docstring).

    ``activation``: ``relu``, ``leaky_relu:α``, ``abs``, ``linear``, ``erf`` (closed forms), ``tanh``, ``gelu``,
    ``sigmoid``, … or any elementwise torch callable (Gauss–Hermite quadrature, ``degree`` nodes per axis);
    ``whynets.kernels.piecewise_linear(a, b)`` for any pair of slopes. ``sigma_w2``/``sigma_b2``: one number or one
    per layer (depth + 1, the readout last). ``architecture``: ``fc`` or ``conv1d`` (``kernel_size``, ``pooling``
    ``gap`` or ``flatten``). ``want``: which of ``nngp``, ``ntk`` to compute."""
    unknown = set(want) - {"nngp", "ntk"}
    if unknown or not want:
        raise KernelSpecError(f"want: choose among 'nngp' and 'ntk', got {list(want)}")
    arch = make_architecture(depth, activation, sigma_w2, sigma_b2, parametrization, widths, architecture, kernel_size,
                             pooling, degree)
    want_ntk = "ntk" in want
    if arch.activation.kind == "quadrature" and arch.activation.kinked:
        warnings.warn(f"the derivative of {arch.activation.name!r} jumps: Gauss–Hermite quadrature is unreliable for "
                      f"it (NNGP error ~1/degree, ≈2% at degree 48 for a ReLU; the NTK's E[φ'(u)φ'(v)] worse); use a "
                      f"closed form (relu, leaky_relu:α, abs, piecewise_linear(a, b)) where one exists", stacklevel=3)
    x1 = _inputs(x1, arch, dtype, "x1")
    x2 = x1 if x2 is None else _inputs(x2, arch, dtype, "x2")
    if x1.shape[1:] != x2.shape[1:]:
        raise KernelSpecError(f"x1 and x2 have different example shapes: {tuple(x1.shape[1:])} vs {tuple(x2.shape[1:])}")
    if x1.device != x2.device:
        raise KernelSpecError(f"x1 is on {x1.device} but x2 on {x2.device}; put both on one device")
    n1, n2 = x1.shape[0], x2.shape[0]
    outputs = len(set(want))
    plan = plan_for(n1, n2, arch, tuple(x1.shape[1:]), outputs, want_ntk, dtype, memory_budget, x1.device)
    diagonals, block = (fc_diagonals, fc_block) if arch.kind == "fc" else (conv_diagonals, conv_block)
    q1 = diagonals(x1, arch)
    q2 = q1 if x2 is x1 else diagonals(x2, arch)
    out_k = torch.empty(n1, n2, dtype=dtype, device=x1.device) if "nngp" in want else None
    out_t = torch.empty(n1, n2, dtype=dtype, device=x1.device) if want_ntk else None
    bar = Progress(progress, n1 * n2, plan.blocks, f"{arch.kind} kernels")
    with torch.no_grad():
        for rows, cols in plan.tiles():
            k, t = block(x1[rows], x2[cols], [q[rows] for q in q1], [q[cols] for q in q2], arch, want_ntk)
            if out_k is not None:
                out_k[rows, cols] = k
            if out_t is not None:
                out_t[rows, cols] = t
            del k, t
            bar.advance((rows.stop - rows.start) * (cols.stop - cols.start))
    return Kernels(nngp=out_k, ntk=out_t, plan=plan)


def nngp(x1: torch.Tensor, x2: torch.Tensor | None = None, **kwargs) -> torch.Tensor:
    """The NNGP kernel K(x1, x2) of the infinite-width network (arguments as ``kernels``)."""
    return kernels(x1, x2, want=("nngp",), **kwargs).nngp


def ntk(x1: torch.Tensor, x2: torch.Tensor | None = None, **kwargs) -> torch.Tensor:
    """The NTK Θ(x1, x2) of the infinite-width network (arguments as ``kernels``)."""
    return kernels(x1, x2, want=("ntk",), **kwargs).ntk
