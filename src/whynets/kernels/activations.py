"""Dual activations: the Gaussian expectations an infinite-width layer needs.

For (u, v) ~ N(0, [[q1, c], [c, q2]]) an activation φ has two dual maps,

    V(q1, q2, c)  = E[φ(u) φ(v)]      (the NNGP step)
    V'(q1, q2, c) = E[φ'(u) φ'(v)]    (the NTK step)

evaluated entrywise on tensors (q1, q2 broadcast against c). Three routes:

* ``piecewise_linear(a, b)``: φ(u) = a·u for u > 0, b·u for u < 0 (ReLU a, b = 1, 0; leaky ReLU 1, α; |u| 1, −1;
  identity 1, 1). Closed form (arc-cosine kernels, Cho & Saul 2009): with p = (a + b)/2, m = (a − b)/2, ρ = c/√(q1 q2),
  V  = p² c + m² (2/π) √(q1 q2) (√(1 − ρ²) + ρ arcsin ρ),   V' = p² + m² (2/π) arcsin ρ.
* ``erf``: φ = erf. Closed form (Williams 1997): V = (2/π) arcsin(2c / √((1 + 2 q1)(1 + 2 q2))),
  V' = (4/π) / √((1 + 2 q1)(1 + 2 q2) − 4 c²).
* ``quadrature(fn)``: any elementwise φ (a torch function) by 2-D Gauss–Hermite quadrature: u = √q1 z1,
  v = √q2 (ρ z1 + √(1 − ρ²) z2), z1, z2 independent N(0, 1) on ``degree`` nodes each (``degree²`` evaluations per
  entry). Exact for polynomials of degree < 2·degree; accurate for smooth φ (tanh at variances ≤ 4, degree 48:
  |error| ≤ 4e-4 on V, 3e-3 on V'). **Unreliable** for a φ with a kink (ReLU-like, hard-tanh): the error decays only
  like 1/degree on V (≈2% relative for a ReLU at degree 48) and worse on V', where φ' jumps — a warning says so
  (``Activation.kinked``, detected numerically); use the closed form where one exists.

    >>> import torch
    >>> from whynets.kernels.activations import get_activation
    >>> relu = get_activation("relu")
    >>> float(relu.dual(torch.tensor(1.0), torch.tensor(1.0), torch.tensor(1.0)))   # E[relu(u)²] = q/2
    0.5
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from whynets.errors import WhynetsError

__all__ = ["Activation", "get_activation", "piecewise_linear", "erf", "quadrature", "KernelSpecError",
           "DEFAULT_DEGREE"]

DEFAULT_DEGREE = 48  # Gauss–Hermite nodes per axis: 2304 evaluations per entry (tanh, variances <= 4: |error| <= 4e-4 on V, 3e-3 on V')
_TWO_OVER_PI = 2.0 / math.pi


class KernelSpecError(WhynetsError, ValueError):
    """An analytic kernel was asked for something it cannot compute (unknown activation, bad variances, shapes)."""


@dataclass(frozen=True)
class Activation:
    """A named activation with its dual maps. ``kind``: piecewise | erf | quadrature."""

    name: str
    kind: str
    slopes: tuple[float, float] = (1.0, 0.0)  # piecewise: (a, b)
    fn: Callable[[torch.Tensor], torch.Tensor] | None = field(default=None, compare=False)
    degree: int = DEFAULT_DEGREE
    kinked: bool = False  # quadrature only: φ' jumps somewhere (V' by quadrature is unreliable)

    # -- the three routes -------------------------------------------------------------------------------------
    def dual(self, q1: torch.Tensor, q2: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        """E[φ(u)φ(v)] entrywise."""
        return self.duals(q1, q2, c, derivative=False)[0]

    def duals(self, q1: torch.Tensor, q2: torch.Tensor, c: torch.Tensor,
              derivative: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(E[φ(u)φ(v)], E[φ'(u)φ'(v)] or None) entrywise; q1, q2 broadcast against c."""
        if self.kind == "piecewise":
            return _piecewise(self.slopes, q1, q2, c, derivative)
        if self.kind == "erf":
            return _erf(q1, q2, c, derivative)
        return _quadrature(self.fn, self.degree, q1, q2, c, derivative)

    def second_moment(self, q: torch.Tensor) -> torch.Tensor:
        """E[φ(u)²] for u ~ N(0, q): the diagonal of the NNGP step (consistent with ``dual`` at c = q)."""
        if self.kind == "piecewise":
            a, b = self.slopes
            p, m = (a + b) / 2, (a - b) / 2
            return (p * p + m * m) * q
        if self.kind == "erf":
            return _TWO_OVER_PI * torch.asin(2 * q / (1 + 2 * q))
        z, w = _nodes(self.degree, q.dtype, q.device)
        return (self.fn(q.clamp_min(0).sqrt()[..., None] * z) ** 2 * w).sum(-1)

    def bytes_per_entry(self, derivative: bool) -> int:
        """Workspace (bytes, float64) one kernel entry of the dual maps needs at once."""
        if self.kind == "quadrature":
            return 8 * self.degree * self.degree * (4 if derivative else 3)
        return 8 * 8

    def fourth_moment_ratio(self) -> float:
        """E[φ(u)⁴] / E[φ(u)²]² for u ~ N(0, q), piecewise-linear φ only (independent of q)."""
        if self.kind != "piecewise":
            raise KernelSpecError(f"fourth_moment_ratio: defined here for piecewise-linear activations, not {self.name}")
        a, b = self.slopes
        p, m = (a + b) / 2, (a - b) / 2
        return 3 * (p**4 + 6 * p * p * m * m + m**4) / (p * p + m * m) ** 2


def _piecewise(slopes, q1, q2, c, derivative):
    a, b = slopes
    p, m = (a + b) / 2, (a - b) / 2
    norm = (q1 * q2).clamp_min(0).sqrt()
    rho = torch.where(norm > 0, c / norm.clamp_min(torch.finfo(c.dtype).tiny), torch.zeros_like(c)).clamp(-1.0, 1.0)
    asin = torch.asin(rho)
    v = p * p * c + (m * m * _TWO_OVER_PI) * norm * ((1 - rho * rho).clamp_min(0).sqrt() + rho * asin)
    dv = (p * p + (m * m * _TWO_OVER_PI) * asin) if derivative else None
    return v, dv


def _erf(q1, q2, c, derivative):
    s = (1 + 2 * q1) * (1 + 2 * q2)
    v = _TWO_OVER_PI * torch.asin((2 * c / s.sqrt()).clamp(-1.0, 1.0))
    dv = (2 * _TWO_OVER_PI) / (s - 4 * c * c).clamp_min(torch.finfo(c.dtype).tiny).sqrt() if derivative else None
    return v, dv


@functools.lru_cache(maxsize=16)
def _nodes_np(degree: int) -> tuple[np.ndarray, np.ndarray]:
    z, w = np.polynomial.hermite_e.hermegauss(degree)  # probabilists' Hermite: weight exp(−z²/2)
    return z, w / w.sum()


def _nodes(degree: int, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    z, w = _nodes_np(degree)
    return torch.as_tensor(z, dtype=dtype, device=device), torch.as_tensor(w, dtype=dtype, device=device)


def _derivative(fn: Callable[[torch.Tensor], torch.Tensor], u: torch.Tensor) -> torch.Tensor:
    with torch.enable_grad():
        u = u.detach().requires_grad_(True)
        (grad,) = torch.autograd.grad(fn(u).sum(), u)
    return grad.detach()


def _quadrature(fn, degree, q1, q2, c, derivative):
    z, w = _nodes(degree, c.dtype, c.device)
    q1, q2, c = torch.broadcast_tensors(q1, q2, c)
    swap = q1 < q2  # the larger variance on the outer axis: the rule (and its error) is symmetric in (u, v)
    q1, q2 = torch.where(swap, q2, q1), torch.where(swap, q1, q2)
    s1, s2 = q1.clamp_min(0).sqrt(), q2.clamp_min(0).sqrt()
    norm = s1 * s2
    rho = torch.where(norm > 0, c / norm.clamp_min(torch.finfo(c.dtype).tiny), torch.zeros_like(c)).clamp(-1.0, 1.0)
    perp = (1 - rho * rho).clamp_min(0).sqrt()
    u = s1[..., None] * z                                                   # (..., m): depends on z1 only
    v = s2[..., None, None] * (rho[..., None, None] * z[:, None] + perp[..., None, None] * z)  # (..., m1, m2)
    ww = w[:, None] * w
    out = (fn(u)[..., None] * fn(v) * ww).sum((-2, -1))
    dout = None
    if derivative:
        dout = (_derivative(fn, u)[..., None] * _derivative(fn, v) * ww).sum((-2, -1))
    return out, dout


# -- constructors and names -----------------------------------------------------------------------------------
def piecewise_linear(a: float, b: float, name: str | None = None) -> Activation:
    """φ(u) = a·u (u > 0), b·u (u < 0): ReLU (1, 0), leaky ReLU (1, α), absolute value (1, −1), identity (1, 1)."""
    if not (math.isfinite(a) and math.isfinite(b)) or a == b == 0:
        raise KernelSpecError(f"piecewise_linear: slopes must be finite and not both 0, got ({a}, {b})")
    return Activation(name=name or f"piecewise({a:g},{b:g})", kind="piecewise", slopes=(float(a), float(b)))


def erf() -> Activation:
    return Activation(name="erf", kind="erf")


def _has_kink(fn: Callable[[torch.Tensor], torch.Tensor]) -> bool:
    """Does φ' jump on [−6, 6]? (A smooth φ changes φ' by at most max|φ''|·h between grid points h = 1e-3 apart.)"""
    u = torch.linspace(-6, 6, 12001, dtype=torch.float64)
    d = _derivative(fn, u)
    if not torch.isfinite(d).all():
        return True
    jumps = d.diff().abs()
    return bool(jumps.max() > 0.02 * max(float(d.abs().max()), 1e-12))


def quadrature(fn: Callable[[torch.Tensor], torch.Tensor], name: str | None = None,
               degree: int = DEFAULT_DEGREE) -> Activation:
    """Any elementwise torch activation by Gauss–Hermite quadrature (``degree`` nodes per axis)."""
    if not callable(fn):
        raise KernelSpecError(f"quadrature: the activation must be a callable on tensors, got {type(fn).__name__}")
    if degree < 2:
        raise KernelSpecError(f"quadrature: degree must be >= 2, got {degree}")
    return Activation(name=name or getattr(fn, "__name__", "custom"), kind="quadrature", fn=fn, degree=int(degree),
                      kinked=_has_kink(fn))


_QUADRATURE = {
    "tanh": torch.tanh, "sigmoid": torch.sigmoid, "gelu": torch.nn.functional.gelu,
    "softplus": torch.nn.functional.softplus, "silu": torch.nn.functional.silu, "swish": torch.nn.functional.silu,
    "elu": torch.nn.functional.elu, "sin": torch.sin, "cos": torch.cos,
    "relu6": torch.nn.functional.relu6, "hardtanh": torch.nn.functional.hardtanh,
}
_PIECEWISE = {"relu": (1.0, 0.0), "abs": (1.0, -1.0), "linear": (1.0, 1.0), "identity": (1.0, 1.0),
              "leaky_relu": (1.0, 0.01)}
NAMES = tuple(sorted(set(_PIECEWISE) | set(_QUADRATURE) | {"erf"}))


def get_activation(activation: str | Activation | Callable, degree: int = DEFAULT_DEGREE) -> Activation:
    """An ``Activation`` from a name (``relu``, ``leaky_relu`` or ``leaky_relu:0.2``, ``abs``, ``linear``, ``erf``,
    ``tanh``, ``gelu``, ``sigmoid``, ``softplus``, ``silu``, ``elu``, ``sin``, ``relu6``, ``hardtanh``), an
    ``Activation``, or any elementwise torch callable (quadrature)."""
    if isinstance(activation, Activation):
        return activation
    if callable(activation):
        return quadrature(activation, degree=degree)
    if not isinstance(activation, str):
        raise KernelSpecError(f"activation must be a name, an Activation or a callable, got {type(activation).__name__}")
    name, _, arg = activation.partition(":")
    if name == "leaky_relu" and arg:
        try:
            slope = float(arg)
        except ValueError:
            raise KernelSpecError(f"activation {activation!r}: the slope after ':' must be a number") from None
        return piecewise_linear(1.0, slope, name=activation)
    if arg:
        raise KernelSpecError(f"activation {activation!r}: only leaky_relu takes an argument (leaky_relu:0.2)")
    if name in _PIECEWISE:
        return piecewise_linear(*_PIECEWISE[name], name=name)
    if name == "erf":
        return erf()
    if name in _QUADRATURE:
        return quadrature(_QUADRATURE[name], name=name, degree=degree)
    raise KernelSpecError(f"unknown activation {activation!r}; choose one of {', '.join(NAMES)}, or pass a callable")
