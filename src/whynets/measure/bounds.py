"""Generalization bounds as plain float64 math: kl inversion, the test-set bound, PAC-Bayes, and
three classical reference bounds (VC, spectral margin, path norm) that are expected to be vacuous.

* ``kl_bernoulli(q, p)``, ``kl_inverse_upper(q, c)`` = sup{p ∈ [q, 1] : kl(q‖p) ≤ c} and
  ``kl_inverse_lower`` (bisection to 1e-15, closed forms at q ∈ {0, 1}).
* ``test_set_bound(errors, n, delta)`` — Langford 2005, "Tutorial on practical prediction theory
  for classification", Thm 3.3: binomial tail inversion, the largest p with P[Bin(n, p) ≤ k] ≥ δ
  (bisection on a log-space binomial CDF; equals the Clopper–Pearson upper limit).
* ``pac_bayes_kl_bound`` — Seeger 2002 / Maurer 2004 (Thm 5, n ≥ 8): w.p. ≥ 1 − δ, for every Q,
  kl(ê(Q)‖e(Q)) ≤ (KL(Q‖P) + ln(2√n/δ))/n. ``pac_bayes_mcallester_bound`` is its Pinsker
  relaxation ê + sqrt((KL + ln(2√n/δ))/(2n)) (McAllester's square-root form, Maurer's constant).
* ``monte_carlo_risk_bound`` — Langford & Caruana 2001, Thm 2.5 (as used by Dziugaite & Roy 2017):
  ê(Q) ≤ kl⁻¹(ê_m, ln(2/δ')/m) for the mean ê_m of m independent [0, 1] draws with mean ê(Q).
* ``union_bound_delta``, ``confidence_cost`` (ln(1/δ) + bits·ln 2: hyper-parameters as bits),
  ``gaussian_kl`` (diagonal Gaussians, closed form, differentiable).
* Reference bounds for ReLU MLPs (an ``nn.Module`` of Linear layers or a list of weight matrices, as
  in ``norms.py``), each with its assumptions in its docstring: ``vc_bound`` (Bartlett, Harvey, Liaw &
  Mehrabian 2019), ``spectral_margin_bound`` (Bartlett, Foster & Telgarsky 2017), ``path_norm_bound``
  (Neyshabur, Tomioka & Srebro 2015). Each returns a ``ReferenceBound`` with its terms.

Values are returned raw and never clipped to 1: a report prints "vacuous (value)" above 1.
Run the oracle tests with ``pytest tests/test_measure_bounds.py``.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from scipy.special import gammaln, logsumexp, xlog1py, xlogy

from .norms import linear_layers, path_norm

__all__ = [
    "kl_bernoulli",
    "kl_inverse_upper",
    "kl_inverse_lower",
    "log_binomial_cdf",
    "binomial_tail_inverse",
    "test_set_bound",
    "pac_bayes_kl_bound",
    "pac_bayes_mcallester_bound",
    "monte_carlo_risk_bound",
    "union_bound_delta",
    "confidence_cost",
    "gaussian_kl",
    "ReferenceBound",
    "classification_margins",
    "vc_bound", "vc_bound_any",
    "spectral_margin_bound",
    "path_norm_bound",
]

_ITERS = 200  # bisection steps; the interval reaches float64 resolution (2⁻⁵³) after ~55


def _check_prob(name: str, q: float) -> float:
    q = float(q)
    if not 0.0 <= q <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {q}")
    return q


def _check_delta(delta: float) -> float:
    delta = float(delta)
    if not 0.0 < delta < 1.0:
        raise ValueError(f"delta (the failure probability) must be in (0, 1), got {delta}")
    return delta


def kl_bernoulli(q: float, p: float) -> float:
    """kl(q‖p) = q ln(q/p) + (1−q) ln((1−q)/(1−p)) in nats (0 ln 0 = 0; +inf where p puts no mass)."""
    q, p = _check_prob("q", q), _check_prob("p", p)
    with np.errstate(divide="ignore", invalid="ignore"):
        v = float(xlogy(q, q) - xlogy(q, p) + xlog1py(1 - q, -q) - xlog1py(1 - q, -p))
    return math.inf if math.isnan(v) else max(v, 0.0)


def _check_c(c: float) -> float:
    c = float(c)
    if not c >= 0.0:
        raise ValueError(f"c (the kl budget) must be >= 0, got {c}")
    return c


def kl_inverse_upper(q: float, c: float) -> float:
    """sup{p ∈ [q, 1] : kl(q‖p) ≤ c}: the largest true risk consistent with empirical risk q."""
    q, c = _check_prob("q", q), _check_c(c)
    if c == 0.0 or q == 1.0:
        return q
    if q == 0.0:
        return -math.expm1(-c)  # kl(0‖p) = −ln(1−p)
    lo, hi = q, 1.0  # kl(q‖·) increases on [q, 1]: invariant kl(q‖lo) ≤ c < kl(q‖hi)
    for _ in range(_ITERS):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if kl_bernoulli(q, mid) <= c:
            lo = mid
        else:
            hi = mid
    return lo


def kl_inverse_lower(q: float, c: float) -> float:
    """inf{p ∈ [0, q] : kl(q‖p) ≤ c}: the smallest true risk consistent with empirical risk q."""
    q, c = _check_prob("q", q), _check_c(c)
    if c == 0.0 or q == 0.0:
        return q
    if q == 1.0:
        return math.exp(-c)  # kl(1‖p) = −ln p
    lo, hi = 0.0, q  # invariant kl(q‖lo) > c ≥ kl(q‖hi)
    for _ in range(_ITERS):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if kl_bernoulli(q, mid) <= c:
            hi = mid
        else:
            lo = mid
    return hi


def log_binomial_cdf(k: int, n: int, p: float) -> float:
    """ln P[Bin(n, p) ≤ k], summed in log space (exact for tails far below float64's smallest number)."""
    p = _check_prob("p", p)
    if k >= n:
        return 0.0
    if k < 0:
        return -math.inf
    i = np.arange(k + 1, dtype=np.float64)
    with np.errstate(divide="ignore"):
        terms = (gammaln(n + 1) - gammaln(i + 1) - gammaln(n - i + 1) + xlogy(i, p) + xlog1py(n - i, -p))
    return min(float(logsumexp(terms)), 0.0)


def _check_counts(errors: int, n: int) -> tuple[int, int]:
    if int(errors) != errors or int(n) != n:
        raise ValueError(f"errors and n must be whole counts, got errors={errors}, n={n}")
    errors, n = int(errors), int(n)
    if n < 1 or not 0 <= errors <= n:
        raise ValueError(f"need n >= 1 and 0 <= errors <= n, got errors={errors}, n={n}")
    return errors, n


def binomial_tail_inverse(errors: int, n: int, log_delta: float) -> float:
    """The largest p with ln P[Bin(n, p) ≤ errors] ≥ log_delta (Langford 2005, Def. 3.2), by bisection.
    ``log_delta`` may be far below ln(1e-308): Occam's razor passes ln δ − bits·ln 2."""
    errors, n = _check_counts(errors, n)
    if not log_delta < 0:
        raise ValueError(f"log_delta must be < 0 (δ < 1), got {log_delta}")
    if errors == n:
        return 1.0
    lo, hi = 0.0, 1.0  # the CDF decreases in p: invariant cdf(lo) ≥ δ > cdf(hi)
    for _ in range(_ITERS):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if log_binomial_cdf(errors, n, mid) >= log_delta:
            lo = mid
        else:
            hi = mid
    return lo


def test_set_bound(errors: int, n: int, delta: float = 0.05) -> float:
    """Upper bound on the true error of ONE classifier fixed before seeing the n test examples on which
    it made ``errors`` mistakes (Langford 2005, Thm 3.3); holds with probability ≥ 1 − δ."""
    return binomial_tail_inverse(errors, n, math.log(_check_delta(delta)))


test_set_bound.__test__ = False  # not a pytest test, despite the name


def _pac_bayes_budget(kl: float, n: int, delta: float) -> float:
    if not float(kl) >= 0:
        raise ValueError(f"KL(Q‖P) must be >= 0, got {kl}")
    if n < 2:
        raise ValueError(f"n must be >= 2 (Maurer's bound is stated for n >= 8), got {n}")
    return (float(kl) + math.log(2.0 * math.sqrt(n) / _check_delta(delta))) / n


def pac_bayes_kl_bound(emp_risk: float, kl: float, n: int, delta: float = 0.05) -> float:
    """kl⁻¹(ê, (KL(Q‖P) + ln(2√n/δ))/n): Seeger 2002 with Maurer's 2004 constant (0-1 or [0,1] loss)."""
    return kl_inverse_upper(emp_risk, _pac_bayes_budget(kl, n, delta))


def pac_bayes_mcallester_bound(emp_risk: float, kl: float, n: int, delta: float = 0.05) -> float:
    """ê + sqrt((KL + ln(2√n/δ))/(2n)): Pinsker's relaxation of ``pac_bayes_kl_bound`` (always looser)."""
    return _check_prob("emp_risk", emp_risk) + math.sqrt(_pac_bayes_budget(kl, n, delta) / 2.0)


def monte_carlo_risk_bound(emp_mc_risk: float, m: int, delta: float = 0.01) -> float:
    """kl⁻¹(ê_m, ln(2/δ')/m): bounds the stochastic classifier's empirical risk ê(Q; S) from the mean
    ê_m of m independent [0, 1]-valued estimates of it (Langford & Caruana 2001, Thm 2.5)."""
    if int(m) != m or m < 1:
        raise ValueError(f"m (number of Monte-Carlo samples) must be a positive integer, got {m}")
    return kl_inverse_upper(emp_mc_risk, math.log(2.0 / _check_delta(delta)) / m)


def union_bound_delta(delta: float, k: int) -> float:
    """δ/k: the confidence each of k statements gets so that all hold together w.p. ≥ 1 − δ."""
    if int(k) != k or k < 1:
        raise ValueError(f"k (number of statements) must be a positive integer, got {k}")
    return _check_delta(delta) / k


def confidence_cost(delta: float, bits: float = 0.0) -> float:
    """ln(1/δ) + bits·ln 2: the confidence term after a union bound over 2^bits choices (a prefix-free
    code of ``bits`` bits for the searched hyper-parameters gives prior mass 2^−bits)."""
    if not bits >= 0:
        raise ValueError(f"bits must be >= 0, got {bits}")
    return -math.log(_check_delta(delta)) + float(bits) * math.log(2.0)


def gaussian_kl(mu_q: torch.Tensor, logvar_q: torch.Tensor, mu_p: torch.Tensor | float,
                var_p: torch.Tensor | float) -> torch.Tensor:
    """KL(N(μ_q, diag e^{logvar_q}) ‖ N(μ_p, diag var_p)) = ½ Σ [σ_q²/σ_p² + (μ_q−μ_p)²/σ_p² − 1 + ln σ_p² − ln σ_q²]
    in nats, differentiable in every argument; ``mu_p``/``var_p`` broadcast (a scalar prior variance λ)."""
    mu_q, logvar_q = torch.as_tensor(mu_q), torch.as_tensor(logvar_q)
    if mu_q.shape != logvar_q.shape:
        raise ValueError(f"mu_q {tuple(mu_q.shape)} and logvar_q {tuple(logvar_q.shape)} must have one shape")
    var_p = torch.as_tensor(var_p, dtype=mu_q.dtype, device=mu_q.device)
    if bool((var_p <= 0).any()):
        raise ValueError("var_p (prior variance) must be > 0")
    mu_p = torch.as_tensor(mu_p, dtype=mu_q.dtype, device=mu_q.device)
    terms = (logvar_q.exp() + (mu_q - mu_p) ** 2) / var_p - 1.0 + var_p.log() - logvar_q
    return 0.5 * terms.sum()


# ----------------------------------------------------------------------------------------------------
# Reference bounds (expected vacuous for deep nets; returned raw, never clipped)
# ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReferenceBound:
    """A bound on the 0-1 test error: ``value`` = ``empirical`` (training error or margin loss) + ``gap``;
    ``log_inv_delta`` = ln(1/δ') in nats after every union bound; ``statement`` names the theorem."""

    name: str
    value: float
    empirical: float
    gap: float
    log_inv_delta: float
    details: dict
    statement: str


_GRID_MASS = math.pi ** 2 / 3 - 1  # Σ_{j∈ℤ} 1/(|j|+1)²: the prior π_j = 1/(_GRID_MASS (|j|+1)²) sums to 1


def _grid_level(value: float, base: float) -> tuple[float, float, int]:
    """``value`` rounded up to the grid point base^j (j ∈ ℤ), the union-bound cost ln(1/π_j), and j."""
    j = math.ceil(math.log(max(value, 1e-300)) / math.log(base) - 1e-12)
    return base ** j, math.log(_GRID_MASS) + 2.0 * math.log(abs(j) + 1), j


def classification_margins(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """f(x)_y − max_{j≠y} f(x)_j per example (k ≥ 2 outputs); with one output, (2y − 1)·f(x) for y ∈ {0, 1}."""
    logits, y = logits.detach().double(), y.long()
    if logits.ndim != 2 or logits.shape[0] != y.shape[0]:
        raise ValueError(f"logits must be (n, k) with n = len(y); got {tuple(logits.shape)} and {tuple(y.shape)}")
    if logits.shape[1] == 1:
        return (2.0 * y - 1.0) * logits[:, 0]
    true = logits.gather(1, y[:, None])[:, 0]
    others = logits.scatter(1, y[:, None], -math.inf)
    return true - others.max(1).values


def _augmented(model) -> tuple[list[torch.Tensor], bool]:
    """Weight matrices with biases folded in by a constant-1 unit per layer: [[W, b], [0, 1]] (the last
    layer [W, b]); the ReLU net computes the same function of (x, 1). Returns (matrices, augmented?)."""
    layers = linear_layers(model)
    if all(b is None for _, b in layers):
        return [w for w, _ in layers], False
    mats = []
    for i, (w, b) in enumerate(layers):
        b = torch.zeros(w.shape[0], dtype=w.dtype, device=w.device) if b is None else b
        a = torch.cat([w, b[:, None]], 1)
        if i < len(layers) - 1:
            unit = torch.zeros(1, a.shape[1], dtype=w.dtype, device=w.device)
            unit[0, -1] = 1.0
            a = torch.cat([a, unit], 0)
        mats.append(a)
    return mats, True


def _inputs(x: torch.Tensor, augmented: bool) -> torch.Tensor:
    x = x.detach().double().reshape(len(x), -1)
    return torch.cat([x, torch.ones(len(x), 1, dtype=x.dtype, device=x.device)], 1) if augmented else x


def _margin_terms(margins: torch.Tensor, base: float):
    """(γ, ln 1/π_γ, R̂_γ = fraction with margin ≤ γ) for γ = base^j over the j that can matter."""
    m = margins.detach().double().flatten()
    top = float(m.abs().max()) if len(m) else 1.0
    pos = m[m > 0]
    low = float(pos.min()) if len(pos) else top
    j_lo = math.floor(math.log(max(low, 1e-9 * top, 1e-300)) / math.log(base))
    j_hi = math.ceil(math.log(max(top, 1e-300)) / math.log(base)) + 1
    for j in range(j_lo, j_hi + 1):
        gamma = base ** j
        yield gamma, math.log(_GRID_MASS) + 2.0 * math.log(abs(j) + 1), float((m <= gamma).double().mean())


def vc_bound(model, train_error: float, n: int, delta: float = 0.05, *, pieces: int = 2) -> ReferenceBound:
    """VC bound from the parameter count. VCdim ≤ L + L̄·W·log₂(4e·p·R·log₂(2e·p·R)) for a piecewise-linear
    net with p pieces (ReLU: 2), W parameters, L layers of k_i units, L̄ = Σ_i W_i / W (W_i: parameters up to
    layer i), R = Σ_i i·k_i (Bartlett, Harvey, Liaw & Mehrabian 2019, JMLR 20, Thm 7 with d = 1), plugged into
    err ≤ êrr + 2·sqrt(2(ln S(2n) + ln(2/δ))/n), ln S(2n) ≤ h·ln(2en/h) (Bousquet, Boucheron & Lugosi 2004,
    Cor. 3 with Sauer's lemma). Assumes a binary sign classifier; for k > 2 outputs the same number is an
    optimistic stand-in (a multiclass bound needs the larger Natarajan/graph dimension)."""
    layers = linear_layers(model)
    train_error, delta = _check_prob("train_error", train_error), _check_delta(delta)
    units = [w.shape[0] for w, _ in layers]
    per_layer = [w.numel() + (0 if b is None else b.numel()) for w, b in layers]
    W, L = sum(per_layer), len(layers)
    L_bar = sum(itertools.accumulate(per_layer)) / W
    R = sum((i + 1) * k for i, k in enumerate(units))
    e = math.e
    vc = L + L_bar * W * math.log2(4 * e * pieces * R * math.log2(2 * e * pieces * R))
    log_growth = 2 * n * math.log(2.0) if vc >= 2 * n else min(2 * n * math.log(2.0), vc * math.log(2 * e * n / vc))
    confidence = math.log(2.0 / delta)
    gap = 2.0 * math.sqrt(2.0 * (log_growth + confidence) / n)
    return ReferenceBound("vc", train_error + gap, train_error, gap, math.log(1.0 / delta),
                          {"vc_dim": vc, "params": W, "layers": L, "effective_depth": L_bar, "log_growth": log_growth},
                          "Bartlett-Harvey-Liaw-Mehrabian 2019 Thm 7 (piecewise-linear, binary) + VC bound "
                          "(Bousquet-Boucheron-Lugosi 2004 Cor. 3)")


PIECEWISE_LINEAR = ("Linear", "Conv1d", "Conv2d", "Conv3d", "ReLU", "LeakyReLU", "PReLU", "ReLU6", "Hardtanh",
                    "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
                    "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "Flatten", "Unflatten", "Dropout", "Identity",
                    "BatchNorm1d", "BatchNorm2d", "Sequential", "ModuleList")


def vc_bound_any(model: nn.Module, example: torch.Tensor, train_error: float, n: int, delta: float = 0.05,
                 pieces: int = 2) -> ReferenceBound:
    """The VC bound of ``vc_bound`` for any piecewise-linear module (convolutions, pooling, BatchNorm in eval mode,
    residual sums): Bartlett et al.'s Thm 7 counts W parameters (shared ones once: a unit's output is a
    piecewise polynomial in the distinct parameters) and the computation units of each layer — here every output
    of every Linear/Conv layer, counted on one ``example`` with forward hooks, in execution order. A module with a
    non-piecewise-linear part (tanh, sigmoid, softmax attention, a recurrent cell, LayerNorm's division) is refused
    with the part named: the theorem does not cover it."""
    leaves = [m for m in model.modules() if not list(m.children())]
    other = sorted({type(m).__name__ for m in leaves if type(m).__name__ not in PIECEWISE_LINEAR})
    if other:
        raise ValueError(f"the VC bound here (Bartlett et al. 2019, Thm 7) is stated for piecewise-linear networks; "
                         f"your model has {', '.join(other)}")
    units, per_layer = [], []

    def count(m: nn.Module, _inp, out: torch.Tensor) -> None:
        units.append(out[0].numel())
        per_layer.append(sum(p.numel() for p in m.parameters(recurse=False)))

    hooks = [m.register_forward_hook(count) for m in model.modules()
             if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d))]
    try:
        with torch.no_grad():
            was = model.training
            model.eval()
            model(example[:1])
            model.train(was)
    finally:
        for h in hooks:
            h.remove()
    train_error, delta = _check_prob("train_error", train_error), _check_delta(delta)
    W, L = sum(p.numel() for p in model.parameters()), len(units)
    L_bar = sum(itertools.accumulate(per_layer)) / max(1, sum(per_layer))
    R = sum((i + 1) * k for i, k in enumerate(units))
    e = math.e
    vc = L + L_bar * W * math.log2(4 * e * pieces * R * math.log2(2 * e * pieces * R))
    log_growth = 2 * n * math.log(2.0) if vc >= 2 * n else min(2 * n * math.log(2.0), vc * math.log(2 * e * n / vc))
    gap = 2.0 * math.sqrt(2.0 * (log_growth + math.log(2.0 / delta)) / n)
    return ReferenceBound("vc", train_error + gap, train_error, gap, math.log(1.0 / delta),
                          {"vc_dim": vc, "params": W, "layers": L, "effective_depth": L_bar, "log_growth": log_growth,
                           "units": units},
                          "Bartlett-Harvey-Liaw-Mehrabian 2019 Thm 7 (piecewise-linear, binary; units counted on one "
                          "example) + VC bound (Bousquet-Boucheron-Lugosi 2004 Cor. 3)")


def spectral_margin_bound(model, x: torch.Tensor, margins: torch.Tensor, delta: float = 0.05, *,
                          reference=None, grid_base: float = 2 ** 0.5) -> ReferenceBound:
    """Spectrally-normalized margin bound (Bartlett, Foster & Telgarsky 2017, Thm 1.1 in the explicit form
    of their Lemmas A.8 + A.4 for fixed norms s_i ≥ ‖A_i‖_σ, b_i ≥ ‖A_iᵀ − M_iᵀ‖_{2,1} and margin γ):

        err ≤ R̂_γ + 8/n + 72·‖X‖₂·R_A·ln(2W)·ln(n)/(γn) + 3·sqrt(ln(2/δ')/(2n)),
        R_A = Π_i s_i · (Σ_i (b_i/s_i)^{2/3})^{3/2},  ‖X‖₂ = sqrt(Σ_i ‖x_i‖²),

    with R̂_γ the fraction of training margins ≤ γ. Assumes 1-Lipschitz activations with σ(0) = 0 (ReLU)
    and reference matrices M_i fixed before seeing the data (default 0; ``reference`` = the initialization).
    Biases enter through a constant-1 unit (``_augmented``). We read W as the largest entry count of one
    weight matrix and use ln(2W) where some transcriptions have sqrt(ln 2W): the larger reading.
    s_i, b_i and γ are rounded up to the grid base^j, j ∈ ℤ, each charged ln(1/π_j), π_j ∝ (|j|+1)⁻², so
    δ' = δ·π_γ·Π_i π_{s_i}π_{b_i} and the bound holds for the best γ (a union bound, as in their Thm 3.1)."""
    mats, aug = _augmented(model)
    xs, delta = _inputs(x, aug), _check_delta(delta)
    n = len(margins)
    if n != len(xs):
        raise ValueError(f"x has {len(xs)} examples but margins has {n}; pass the training margins of x")
    refs = [torch.zeros_like(a) for a in mats] if reference is None else _augmented(reference)[0]
    if [r.shape for r in refs] != [a.shape for a in mats]:
        raise ValueError("reference must have the same layer shapes as model (e.g. the model at initialization)")
    cost, s_up, b_up = 0.0, [], []
    for a, r in zip(mats, refs):
        s, cs, _ = _grid_level(float(torch.linalg.matrix_norm(a, ord=2)), grid_base)
        b, cb, _ = _grid_level(float((a - r.to(a)).norm(dim=1).sum()), grid_base)  # Σ over units of row norms
        s_up, b_up, cost = s_up + [s], b_up + [b], cost + cs + cb
    R_A = math.prod(s_up) * sum((b / s) ** (2 / 3) for b, s in zip(b_up, s_up)) ** 1.5
    W = max(a.numel() for a in mats)
    x_norm = float(xs.norm())
    best = None
    for gamma, cost_g, emp in _margin_terms(margins, grid_base):
        log_inv = math.log(1.0 / delta) + cost + cost_g
        gap = (8.0 / n + 72.0 * x_norm * R_A * math.log(2 * W) * math.log(n) / (gamma * n)
               + 3.0 * math.sqrt((log_inv + math.log(2.0)) / (2 * n)))
        if best is None or emp + gap < best[0]:
            best = (emp + gap, emp, gap, log_inv, gamma)
    value, emp, gap, log_inv, gamma = best
    return ReferenceBound("spectral_margin", value, emp, gap, log_inv,
                          {"gamma": gamma, "spectral_complexity": R_A, "x_norm": x_norm, "W": W,
                           "spectral_norms": s_up, "l21_norms": b_up},  # the norms rounded up to the grid
                          "Bartlett-Foster-Telgarsky 2017 Thm 1.1 / Lemma A.8 (1-Lipschitz activations, fixed "
                          "reference matrices, union bound over norm and margin grids)")


def path_norm_bound(model, x: torch.Tensor, margins: torch.Tensor, delta: float = 0.05, *, p: float = 1.0,
                    grid_base: float = 2 ** 0.5) -> ReferenceBound:
    """ℓ_p path-norm margin bound. Rademacher complexity of depth-d ReLU nets with ℓ_p path norm ≤ φ
    (Neyshabur, Tomioka & Srebro 2015, Thm 1 with q = ∞ and Cor. 2 / Thm 5: the path norm is the minimal
    γ_{p,∞}^d over rescalings): R̂_n ≤ φ·(2H^{1/p*})^{d−1}·sqrt(min(p*, 4 ln 2D))·max_i ‖x_i‖_{p*}/√n (H the
    largest hidden width, D the input dimension, 1/p + 1/p* = 1; p = 1 is width-free), in the margin bound
    err ≤ R̂_γ + c·R̂_n + 3·sqrt(ln(2/δ')/(2n)) with c = 2/γ for one output (Mohri et al. 2018, Thm 5.8) and
    c = 4k/γ for k outputs (ibid. Thm 9.2; each output is a scalar net with path norm ≤ φ). Biases enter as
    constant-1 units (x ↦ (x, 1)); φ and γ are rounded up to the grid base^j and union-bounded as in
    ``spectral_margin_bound``."""
    if not p >= 1:
        raise ValueError(f"p must be >= 1, got {p}")
    layers = linear_layers(model)
    aug = any(b is not None for _, b in layers)
    xs, delta = _inputs(x, aug), _check_delta(delta)
    n = len(margins)
    if n != len(xs):
        raise ValueError(f"x has {len(xs)} examples but margins has {n}; pass the training margins of x")
    d, k, D = len(layers), layers[-1][0].shape[0], xs.shape[1]
    H = max([w.shape[0] + int(aug) for w, _ in layers[:-1]], default=1)
    p_star = math.inf if p == 1 else p / (p - 1)
    phi, cost, _ = _grid_level(path_norm(model, p, include_bias=True), grid_base)
    x_norm = float(xs.norm(p=p_star, dim=1).max())
    rad = (phi * (2 * H ** (1 / p_star)) ** (d - 1) * math.sqrt(min(p_star, 4 * math.log(2 * D)))
           * x_norm / math.sqrt(n))
    best = None
    for gamma, cost_g, emp in _margin_terms(margins, grid_base):
        log_inv = math.log(1.0 / delta) + cost + cost_g
        gap = (2.0 if k == 1 else 4.0 * k) / gamma * rad + 3.0 * math.sqrt((log_inv + math.log(2.0)) / (2 * n))
        if best is None or emp + gap < best[0]:
            best = (emp + gap, emp, gap, log_inv, gamma)
    value, emp, gap, log_inv, gamma = best
    return ReferenceBound("path_norm", value, emp, gap, log_inv,
                          {"gamma": gamma, "path_norm": phi, "p": p, "rademacher": rad, "x_norm": x_norm},
                          "Neyshabur-Tomioka-Srebro 2015 Thm 1/Cor. 2 (ReLU, path norm) + margin bound "
                          "(Mohri et al. 2018 Thm 5.8/9.2), union bound over norm and margin grids")
