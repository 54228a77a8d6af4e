"""Mean-field signal propagation through wide random networks (Poole et al. 2016; Schoenholz et al. 2017).

A fully-connected net with weights W ~ N(0, σ_w²/N), biases b ~ N(0, σ_b²) and activation φ sends an input of
squared length q (per unit) and two inputs of correlation c through the maps

    length map        q ↦ σ_w² E_z[φ(√q z)²] + σ_b²                                   (Poole et al. eq. 3)
    correlation map   c ↦ (σ_w² E[φ(u₁) φ(u₂)] + σ_b²) / q*,  u₁ = √q* z₁, u₂ = √q* (c z₁ + √(1−c²) z₂)   (eq. 5)

with z, z₁, z₂ independent standard normals. Their fixed points are q* and c*; the slope of the correlation map
at c = 1 is χ₁ = σ_w² E[φ'(√q* z)²], and χ₁ = 1 is the order-to-chaos transition: the critical line in
(σ_w², σ_b²). Schoenholz et al. define the depth scales over which a random net forgets an input's length and two
inputs' correlation, ξ_q = −1 / ln χ_q and ξ_c = −1 / ln χ_c, with χ_q the slope of the length map at q* and
χ_c = σ_w² E[φ'(u₁) φ'(u₂)] the slope of the correlation map at c* (eq. 7-9); ξ_c diverges at criticality and they
find nets trainable to a depth of about 6 ξ_c.

Every function here is a pure function of (activation, σ_w², σ_b²[, depth]); the activation is a name of
``ACTIVATIONS`` or any elementwise callable on float64 tensors (derivatives by autograd). Expectations use
Gauss–Hermite quadrature in float64 (``nodes`` points per dimension, default 100: an even count, so a kink at 0
such as ReLU's falls between nodes). Quadrature is exact to ~1e-12 for smooth φ (tanh, erf) at q ≲ 10²; for
non-smooth φ (ReLU, hard tanh) it converges slowly in the two-dimensional correlation map (error ~1e-3 near
c = 1): use the closed forms where they exist (``relu_correlation_map``). χ_q is computed by Stein's lemma as
σ_w² E[z φ(√q z) φ'(√q z)] / √q, which needs no second derivative (a kink's delta terms included).

    >>> from whynets.kernels import critical_sigma_w2
    >>> round(critical_sigma_w2("tanh", 0.05), 3)
    1.761

The input–output Jacobian of a random net, its singular values with Gaussian or orthogonal weights (Pennington et
al. 2017), is ``jacobian_singular_values`` (a Monte-Carlo instrument on actual random nets).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

__all__ = ["ACTIVATIONS", "activation_fn", "gauss_hermite", "length_map", "q_star", "correlation_map", "c_star",
           "chi_1", "chi_c", "chi_q", "depth_scales", "critical_sigma_w2", "critical_line", "MeanField", "mean_field",
           "relu_correlation_map", "jacobian_singular_values"]

Activation = str | Callable[[torch.Tensor], torch.Tensor]

ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": torch.tanh, "relu": torch.relu, "erf": torch.erf, "linear": lambda x: x, "sigmoid": torch.sigmoid,
    "softplus": torch.nn.functional.softplus, "gelu": torch.nn.functional.gelu,
    "hard_tanh": lambda x: x.clamp(-1.0, 1.0),
}
_DERIVATIVES: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "tanh": lambda x: 1 - torch.tanh(x) ** 2, "relu": lambda x: (x > 0).to(x.dtype),
    "erf": lambda x: 2 / math.sqrt(math.pi) * torch.exp(-x * x), "linear": torch.ones_like,
    "sigmoid": lambda x: torch.sigmoid(x) * (1 - torch.sigmoid(x)), "softplus": torch.sigmoid,
    "hard_tanh": lambda x: (x.abs() < 1).to(x.dtype),
}


def activation_fn(act: Activation) -> tuple[Callable[[torch.Tensor], torch.Tensor], Callable[[torch.Tensor], torch.Tensor]]:
    """(φ, φ') of a named activation (closed-form derivative) or of any elementwise callable (autograd)."""
    if isinstance(act, str):
        if act not in ACTIVATIONS:
            raise ValueError(f"unknown activation {act!r}; choose one of {', '.join(ACTIVATIONS)} or pass a callable")
        phi = ACTIVATIONS[act]
        if act in _DERIVATIVES:
            return phi, _DERIVATIVES[act]
    elif callable(act):
        phi = act
    else:
        raise TypeError(f"activation must be a name or a callable, got {type(act).__name__}")

    def derivative(x: torch.Tensor) -> torch.Tensor:
        with torch.enable_grad():
            x = x.detach().clone().requires_grad_(True)
            (grad,) = torch.autograd.grad(phi(x).sum(), x)
        return grad.detach()

    return phi, derivative


@functools.lru_cache(maxsize=16)
def gauss_hermite(nodes: int = 100) -> tuple[torch.Tensor, torch.Tensor]:
    """Nodes z_i and weights w_i (float64) with Σ w_i f(z_i) ≈ E[f(z)], z ~ N(0, 1) (probabilists' Hermite)."""
    if nodes < 2:
        raise ValueError(f"Gauss–Hermite needs at least 2 nodes, got {nodes}")
    z, w = np.polynomial.hermite_e.hermegauss(int(nodes))
    return torch.as_tensor(z, dtype=torch.float64), torch.as_tensor(w / math.sqrt(2 * math.pi), dtype=torch.float64)


def _expect(f: Callable[[torch.Tensor], torch.Tensor], q: torch.Tensor, nodes: int) -> torch.Tensor:
    """E[f(√q z)] for every q (any shape), by quadrature."""
    z, w = gauss_hermite(nodes)
    return (f(torch.sqrt(q).unsqueeze(-1) * z) * w).sum(-1)


def length_map(q: float | torch.Tensor, act: Activation, sigma_w2: float, sigma_b2: float,
               nodes: int = 100) -> torch.Tensor:
    """σ_w² E[φ(√q z)²] + σ_b²: the squared length per unit one layer further (Poole et al. 2016, eq. 3)."""
    phi, _ = activation_fn(act)
    q = torch.as_tensor(q, dtype=torch.float64)
    return sigma_w2 * _expect(lambda u: phi(u) ** 2, q, nodes) + sigma_b2


def _stable_root(g: Callable[[np.ndarray], np.ndarray], grid: np.ndarray, start: float) -> float | None:
    """The stable zero of g (g > 0 below it, g < 0 above it) that the iteration x ← x + g(x) reaches from
    ``start``: the first down-crossing at or above ``start`` when g(start) > 0, else the last one below it. None if
    there is none in the grid."""
    from scipy.optimize import brentq

    values = g(grid)
    down = [i for i in range(len(grid) - 1) if values[i] >= 0 > values[i + 1] or values[i] > 0 >= values[i + 1]]
    g0 = float(g(np.array([start]))[0])
    if g0 == 0:
        return start
    pick = [i for i in down if grid[i + 1] > start] if g0 > 0 else [i for i in down if grid[i] < start]
    if not pick:
        return None
    i = pick[0] if g0 > 0 else pick[-1]
    a, b = grid[i], grid[i + 1]
    if values[i] == 0:
        return float(a)
    if values[i + 1] == 0:
        return float(b)
    return float(brentq(lambda x: float(g(np.array([x]))[0]), a, b, xtol=1e-15, rtol=1e-13, maxiter=200))


def q_star(act: Activation, sigma_w2: float, sigma_b2: float, q0: float = 1.0, nodes: int = 100) -> float:
    """The fixed point q* of the length map that an input of squared length q0 per unit flows to.

    0 when signals die out (e.g. ReLU or tanh in the ordered phase with σ_b² = 0); ``math.inf`` when they grow
    without bound (ReLU with σ_w² > 2); q0 itself when every q is a fixed point (ReLU at σ_w² = 2, σ_b² = 0)."""
    _check(sigma_w2, sigma_b2)
    g = lambda q: (length_map(torch.as_tensor(np.maximum(q, 0.0)), act, sigma_w2, sigma_b2, nodes) - torch.as_tensor(q)).numpy()  # noqa: E731
    grid = np.concatenate([[0.0], np.logspace(-14, 14, 281)])
    values = g(grid)
    if np.all(np.abs(values) <= 1e-12 * np.maximum(grid, 1e-300)):
        return float(q0)  # the length map is the identity: every length is kept
    root = _stable_root(g, grid, float(q0))
    if root is None:
        return math.inf if values[-1] > 0 else 0.0
    return root


def correlation_map(c: float | torch.Tensor, act: Activation, sigma_w2: float, sigma_b2: float,
                    q: float | None = None, nodes: int = 60) -> torch.Tensor:
    """(σ_w² E[φ(u₁)φ(u₂)] + σ_b²) / (σ_w² E[φ(u₁)²] + σ_b²), u₁ = √q z₁, u₂ = √q (c z₁ + √(1−c²) z₂), at
    q = q* unless given: Poole et al. 2016's eq. 5 (whose denominator q* equals this one at the fixed point).
    ``nodes`` per dimension of the product quadrature."""
    phi, _ = activation_fn(act)
    q = _finite_q(act, sigma_w2, sigma_b2, q, 1.0, 100) if q is None else q
    # normalized by the next layer's length σ_w² E[φ(u)²] + σ_b² (= q at q = q*), so the map stays the
    # correlation of two inputs where q* is 0 or infinite (it is then evaluated at the limit's q)
    norm = sigma_w2 * float(_expect(lambda u: phi(u) ** 2, torch.tensor(q, dtype=torch.float64), nodes)) + sigma_b2
    return _pair_expect(phi, phi, c, q, nodes).mul(sigma_w2).add(sigma_b2).div(norm)


def _pair_expect(f1, f2, c, q: float, nodes: int) -> torch.Tensor:
    """E[f1(u₁) f2(u₂)] for every c (any shape)."""
    z, w = gauss_hermite(nodes)
    c = torch.as_tensor(c, dtype=torch.float64).clamp(-1.0, 1.0)
    s = math.sqrt(q)
    z1, z2 = z.view(-1, 1), z.view(1, -1)
    ww = w.view(-1, 1) * w.view(1, -1)
    cc = c.reshape(-1, 1, 1)
    u1 = (s * z1).expand(len(z), len(z))
    u2 = s * (cc * z1 + torch.sqrt(1 - cc * cc) * z2)
    out = (f1(u1) * f2(u2) * ww).sum((-1, -2))
    return out.reshape(c.shape)


def relu_correlation_map(c: float | torch.Tensor, sigma_w2: float, sigma_b2: float, q: float) -> torch.Tensor:
    """The ReLU correlation map in closed form (the arc-cosine kernel, Cho & Saul 2009):
    E[relu(u₁) relu(u₂)] = q (√(1−c²) + (π − arccos c) c) / (2π)."""
    c = torch.as_tensor(c, dtype=torch.float64).clamp(-1.0, 1.0)
    e = q * (torch.sqrt(1 - c * c) + (math.pi - torch.arccos(c)) * c) / (2 * math.pi)
    return (sigma_w2 * e + sigma_b2) / q


def _finite_q(act: Activation, sigma_w2: float, sigma_b2: float, q: float | None, q0: float, nodes: int) -> float:
    if q is not None:
        return q
    qs = q_star(act, sigma_w2, sigma_b2, q0, nodes)
    # no finite or no nonzero fixed point: evaluate where the input starts (exact for homogeneous φ like ReLU,
    # whose χ's do not depend on q); at q* = 0 the limit q → 0 is taken at a tiny q
    return q0 if math.isinf(qs) else max(qs, 1e-12)


def chi_1(act: Activation, sigma_w2: float, sigma_b2: float, q: float | None = None, q0: float = 1.0,
          nodes: int = 100) -> float:
    """χ₁ = σ_w² E[φ'(√q* z)²]: the mean squared singular value of one layer's Jacobian, the slope of the
    correlation map at c = 1. χ₁ < 1 ordered, > 1 chaotic (Poole et al. 2016, eq. 7)."""
    _, dphi = activation_fn(act)
    q = _finite_q(act, sigma_w2, sigma_b2, q, q0, nodes)
    return float(sigma_w2 * _expect(lambda u: dphi(u) ** 2, torch.tensor(q, dtype=torch.float64), nodes))


def chi_q(act: Activation, sigma_w2: float, sigma_b2: float, q: float | None = None, q0: float = 1.0,
          nodes: int = 100) -> float:
    """χ_q: the slope of the length map at q*, σ_w² E[φ'² + φ φ''] = σ_w² E[z φ(√q z) φ'(√q z)] / √q (Stein)."""
    phi, dphi = activation_fn(act)
    q = _finite_q(act, sigma_w2, sigma_b2, q, q0, nodes)
    z, w = gauss_hermite(nodes)
    u = math.sqrt(q) * z
    return float(sigma_w2 * (z * phi(u) * dphi(u) * w).sum() / math.sqrt(q))


def c_star(act: Activation, sigma_w2: float, sigma_b2: float, c0: float = 0.5, q: float | None = None,
           nodes: int = 60) -> float:
    """The fixed point c* of the correlation map that two inputs of correlation c0 flow to (1 in the ordered
    phase, < 1 in the chaotic phase); c0 itself where the map is the identity (a linear φ, or q* = 0 at σ_b² = 0,
    where the net is linear around 0 and keeps every correlation)."""
    q = _finite_q(act, sigma_w2, sigma_b2, q, 1.0, 100)
    g = lambda c: (correlation_map(torch.as_tensor(c), act, sigma_w2, sigma_b2, q, nodes) - torch.as_tensor(c)).numpy()  # noqa: E731
    # dense near 1, where c* sits just inside the chaotic phase
    grid = np.unique(np.concatenate([np.linspace(-1.0, 0.9, 39), 1 - np.logspace(-1, -9, 41), [1.0]]))
    if np.all(np.abs(g(grid)) <= 1e-9):
        return float(c0)  # the map is the identity (a linear net, or q* = 0 with σ_b² = 0): every c is kept
    root = _stable_root(g, grid, float(c0))
    return 1.0 if root is None else min(root, 1.0)


def chi_c(act: Activation, sigma_w2: float, sigma_b2: float, c: float | None = None, q: float | None = None,
          nodes: int = 60) -> float:
    """χ_c = σ_w² E[φ'(u₁) φ'(u₂)] at c = c* (unless given): the slope of the correlation map there."""
    _, dphi = activation_fn(act)
    q = _finite_q(act, sigma_w2, sigma_b2, q, 1.0, 100)
    c = c_star(act, sigma_w2, sigma_b2, q=q, nodes=nodes) if c is None else c
    return float(sigma_w2 * _pair_expect(dphi, dphi, c, q, nodes))


def depth_scales(act: Activation, sigma_w2: float, sigma_b2: float) -> tuple[float, float]:
    """(ξ_q, ξ_c) = (−1/ln χ_q, −1/ln χ_c) in layers (Schoenholz et al. 2017, eq. 7 and 9); inf where χ ≥ 1
    (ξ_c diverges on the critical line)."""
    m = mean_field(act, sigma_w2, sigma_b2)
    return m.xi_q, m.xi_c


def _scale(chi: float) -> float:
    return math.inf if chi >= 1 or chi <= 0 else -1.0 / math.log(chi)


def critical_sigma_w2(act: Activation, sigma_b2: float, bracket: tuple[float, float] = (0.05, 50.0),
                      nodes: int = 100) -> float:
    """The σ_w² with χ₁ = 1 at this σ_b²: the order-to-chaos transition (tanh, σ_b² = 0.05: ≈ 1.76)."""
    from scipy.optimize import brentq

    f = lambda s: math.log(chi_1(act, s, sigma_b2, nodes=nodes))  # noqa: E731
    lo, hi = bracket
    if f(lo) > 0 or f(hi) < 0:
        raise ValueError(f"χ₁ = 1 is not crossed for σ_w² in {bracket} at σ_b² = {sigma_b2} ({act}); widen the bracket")
    return float(brentq(f, lo, hi, xtol=1e-10, rtol=1e-12, maxiter=500))


def critical_line(act: Activation, sigma_b2s, nodes: int = 100) -> list[float]:
    """The critical σ_w² for each σ_b² (the line χ₁ = 1 in the (σ_w², σ_b²) plane)."""
    return [critical_sigma_w2(act, float(b), nodes=nodes) for b in sigma_b2s]


@dataclass(frozen=True)
class MeanField:
    """Every mean-field quantity of one (activation, σ_w², σ_b²); ``trainable_depth`` is 6 ξ_c."""

    sigma_w2: float
    sigma_b2: float
    q_star: float
    c_star: float
    chi_1: float
    chi_c: float
    chi_q: float
    xi_q: float
    xi_c: float

    @property
    def trainable_depth(self) -> float:
        return 6 * self.xi_c

    def to_dict(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in ("sigma_w2", "sigma_b2", "q_star", "c_star", "chi_1", "chi_c", "chi_q",
                                             "xi_q", "xi_c", "trainable_depth")}


def mean_field(act: Activation, sigma_w2: float, sigma_b2: float) -> MeanField:
    """q*, c*, χ₁, χ_c, χ_q and the depth scales of one point of the (σ_w², σ_b²) plane."""
    q = q_star(act, sigma_w2, sigma_b2)
    qe = q if 0 < q < math.inf else _finite_q(act, sigma_w2, sigma_b2, None, 1.0, 100)
    c = c_star(act, sigma_w2, sigma_b2, q=qe)
    xq, xc = chi_q(act, sigma_w2, sigma_b2, q=qe), chi_c(act, sigma_w2, sigma_b2, c=c, q=qe)
    return MeanField(sigma_w2=sigma_w2, sigma_b2=sigma_b2, q_star=q, c_star=c, chi_1=chi_1(act, sigma_w2, sigma_b2, q=qe),
                     chi_c=xc, chi_q=xq, xi_q=_scale(xq), xi_c=_scale(xc))


def _check(sigma_w2: float, sigma_b2: float) -> None:
    if not (math.isfinite(sigma_w2) and sigma_w2 > 0):
        raise ValueError(f"σ_w² must be a finite variance > 0, got {sigma_w2!r}")
    if not (math.isfinite(sigma_b2) and sigma_b2 >= 0):
        raise ValueError(f"σ_b² must be a finite variance >= 0, got {sigma_b2!r}")


def _weights(width: int, sigma_w2: float, kind: str, generator: torch.Generator) -> torch.Tensor:
    if kind == "gaussian":
        return torch.randn(width, width, generator=generator, dtype=torch.float64) * math.sqrt(sigma_w2 / width)
    if kind == "orthogonal":  # Haar: QR of a Gaussian matrix with the signs of R's diagonal fixed (Mezzadri 2007)
        a = torch.randn(width, width, generator=generator, dtype=torch.float64)
        qm, r = torch.linalg.qr(a)
        return qm * torch.sign(torch.diagonal(r)).unsqueeze(0) * math.sqrt(sigma_w2)
    raise ValueError(f"weights must be 'gaussian' or 'orthogonal', got {kind!r}")


def jacobian_singular_values(act: Activation, sigma_w2: float, sigma_b2: float, depth: int, width: int = 256,
                             weights: str = "gaussian", samples: int = 1, q0: float | None = None,
                             generator: torch.Generator | None = None) -> torch.Tensor:
    """Singular values (``samples`` × ``width``, float64) of the input–output Jacobian J = Π_l D_l W_l of random
    ``depth``-layer nets of ``width`` units: h_l = W_l x_{l−1} + b_l, with W_l Gaussian N(0, σ_w²/width) or
    σ_w × a Haar orthogonal matrix, b_l ~ N(0, σ_b²), D_l = diag φ'(h_l) (Pennington et al. 2017). The input
    is x_0 = φ(h_0), h_0 ~ N(0, q0) per unit, q0 = q* by default (the stationary length); J = ∂x_depth/∂x_0 with
    x_l = φ(h_l). At large width the mean of s² is χ₁^depth."""
    if depth < 1 or width < 1 or samples < 1:
        raise ValueError(f"depth, width and samples must be >= 1, got {depth}, {width}, {samples}")
    phi, dphi = activation_fn(act)
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    q = q_star(act, sigma_w2, sigma_b2) if q0 is None else q0
    q = 1.0 if not math.isfinite(q) or q <= 0 else q
    out = []
    for _ in range(samples):
        x = phi(torch.randn(width, generator=g, dtype=torch.float64) * math.sqrt(q))
        jac = torch.eye(width, dtype=torch.float64)
        for _ in range(depth):
            w = _weights(width, sigma_w2, weights, g)
            b = torch.randn(width, generator=g, dtype=torch.float64) * math.sqrt(sigma_b2)
            h = w @ x + b
            jac = dphi(h).unsqueeze(1) * (w @ jac)
            x = phi(h)
        out.append(torch.linalg.svdvals(jac))
    return torch.stack(out)
