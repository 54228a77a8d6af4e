"""A non-vacuous PAC-Bayes bound for a trained network, by optimizing a Gaussian posterior around it
(Dziugaite & Roy 2017, "Computing nonvacuous generalization bounds for deep (stochastic) neural networks
with many more parameters than training data", UAI; reference code github.com/gkdziugaite/pacbayes-opt).

Posterior Q = N(w, diag s²), started at the trained weights w (and s from ``init_std``); prior
P = N(w₀, λI) with w₀ = ``prior_mean`` (the initialization, or zeros; it must not depend on the training
data) and λ on the grid λ_j = c·exp(−j/b), j = 1, 2, … (D&R §4 use c = 0.1, b = 100; the default here is
c = 1 because small nets have O(1) weights: c caps λ, and raising it costs only 2·ln(j'/j) nats, ≈ 1 nat
at λ = 1e-3). Every tensor the predictor uses is charged: every parameter (trainable or frozen) and every
floating buffer (BatchNorm running statistics) is stochastic, with its prior mean from ``prior_mean`` (zeros where
none is given); only integer buffers stay fixed (BatchNorm's batch counter, which eval mode does not read).
``charge_all=False`` restores the older rule (trainable parameters only, the rest fixed at the trained values —
valid only when those fixed tensors do not depend on the data).

Optimization (any ``nn.Module`` through ``torch.func.functional_call``, reparametrization w + s·ε with a
seeded generator, Adam on (w, ln s, ln λ)): minimize the D&R objective
    surrogate(Q; batch) + sqrt((KL(Q‖P) + ln(π²j²/(6δ)) + ln(2√n)) / (2n)),   j = b·ln(c/λ)  (clamped ≥ 1),
with −log₂ max(p_y, p_min) (≥ the 0-1 loss, on its scale) as the default surrogate. (Cross-entropy rescaled
to [0, 1] by ln(1/p_min) scores a uniform prediction 0.25 and, tried on MNIST-1D, let Q collapse onto the
prior with chance-level error.) The surrogate only steers the search: the certificate uses the 0-1 error.

Evaluation (what the certificate rests on):
  1. λ is rounded to the grid (the better of the two neighbours j).
  2. Monte Carlo: the bound's sample S' is the first n' = ⌊n/B⌋·B training examples (B = ``mc_batch_size``;
     the < B left out do not weaken the bound, Q may depend on them). In each of ``mc_passes`` passes a
     fresh net h ~ Q is drawn for each of the n'/B batches and its 0-1 error on that batch recorded: m
     independent [0, 1] values with mean exactly ê(Q; S'); ê_m their average and
     ê(Q; S') ≤ ê_up = kl⁻¹(ê_m, ln(2/δ')/m)  (Langford & Caruana 2001), w.p. ≥ 1 − δ'.
  3. e(Q) ≤ kl⁻¹(ê_up, (KL(Q‖P_j) + ln(2√n'/δ_j))/n')  (Seeger 2002, Maurer 2004), δ_j = 6δ/(π²j²).
Union bounds: over the prior-variance index j ∈ {1, 2, …} (Σ_j δ_j = δ), and MC + PAC-Bayes together:
the bound holds with probability ≥ 1 − δ − δ' (D&R: δ = 0.025, δ' = 0.01). It bounds the error of the
STOCHASTIC net (a fresh h ~ Q per prediction), not of the trained deterministic net.

Deterministic margin bound (Neyshabur, Bhojanapalli & Srebro 2018): not provided. Its derandomization
lemma needs P_u[sup_x |f_{w+u}(x) − f_w(x)|_∞ < γ/4] ≥ ½ over ALL inputs x; a check on the sample is not a
certificate, and certifying the sup needs the norm bounds that make the spectral bound vacuous.

Speed (shared 2-core CPU, one thread, batch 256, 300 iterations, defaults mc_passes=20, mc_batch_size=100):
MLP 40-256-256-10 on 4000 examples 1.5-3 s optimizing + 0.6-1.4 s evaluating (m = 800); 40-512-512-10 on
20000 examples ~7 s + ~15 s (m = 4000). Evaluation costs mc_passes forward passes over the data.
The stochastic test error is estimated the same way on the first ⌊n_test/B⌋·B test examples, one pass.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.func import functional_call, vmap

from .bounds import gaussian_kl, monte_carlo_risk_bound, pac_bayes_kl_bound, pac_bayes_mcallester_bound
from .hvp import LossFn, module_modes

__all__ = ["PacBayesResult", "log2_cross_entropy", "zero_one_errors", "optimize_pac_bayes", "stochastic_errors"]


@dataclass(frozen=True)
class PacBayesResult:
    """The certified bound on the stochastic net's test error (w.p. ≥ 1 − δ − δ') and its parts."""

    bound: float  # kl⁻¹(mc_bound, (kl + ln(2√n/δ_j))/n)
    mcallester_bound: float  # mc_bound + sqrt((kl + ln(2√n/δ_j))/(2n)), for comparison
    kl: float  # KL(Q‖P_j) in nats at the grid variance λ_j
    mc_error: float  # ê_m, the Monte-Carlo estimate of ê(Q; S')
    mc_bound: float  # kl⁻¹(ê_m, ln(2/δ')/m) ≥ ê(Q; S') w.p. ≥ 1 − δ'
    mc_samples: int  # m
    prior_variance: float  # λ_j
    prior_index: int  # j
    n: int  # n', the examples the bound is computed on
    delta: float
    delta_mc: float
    deterministic_train_error: float  # the model as given
    posterior_mean_train_error: float
    stochastic_test_error: float | None
    deterministic_test_error: float | None
    posterior_std_median: float
    seconds_optimize: float
    seconds_evaluate: float
    objective_history: list = field(default_factory=list)  # objective every 10 iterations
    posterior_mean: dict = field(default_factory=dict, repr=False)
    posterior_std: dict = field(default_factory=dict, repr=False)


def log2_cross_entropy(logits: torch.Tensor, y: torch.Tensor, p_min: float = 1e-3) -> torch.Tensor:
    """Mean of −log₂ max(p_y, p_min) (one output: the logistic p = σ(±f)): pointwise ≥ the 0-1 loss (a wrong
    argmax has p_y ≤ ½), so it is on the 0-1 scale, unlike cross-entropy rescaled to [0, 1] (which scores a
    uniform prediction 0.25 and lets the optimizer collapse Q onto the prior), and capped at log₂(1/p_min)."""
    if logits.shape[-1] == 1:
        logp = nn.functional.logsigmoid((2.0 * y.to(logits.dtype) - 1.0) * logits[:, 0])
    else:
        logp = logits.log_softmax(-1).gather(1, y.long()[:, None])[:, 0]
    return -logp.clamp(min=math.log(p_min)).mean() / math.log(2.0)


def zero_one_errors(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Number of misclassified examples (argmax over k ≥ 2 outputs; the sign for one output)."""
    pred = (logits[:, 0] > 0).long() if logits.shape[-1] == 1 else logits.argmax(-1)
    return (pred != y.long()).sum()


def _errors(model, params, buffers, x, y, batch=4096, risk=zero_one_errors) -> float:
    with torch.no_grad():
        wrong = sum(float(risk(functional_call(model, {**params, **buffers}, (x[i:i + batch],)), y[i:i + batch]))
                    for i in range(0, len(x), batch))
    return wrong / len(x)


def _sample(mean, log_std, gen):
    return {k: mean[k] + log_std[k].exp() * torch.randn(mean[k].shape, generator=gen, device=mean[k].device,
                                                        dtype=mean[k].dtype) for k in mean}


def _batch_errors(model, mean, log_std, buffers, x, y, size, passes, gen, risk=zero_one_errors) -> list[float]:
    """0-1 error (or ``risk``, a loss in [0, 1] summed over the batch) of a fresh h ~ Q on each of the
    len(x)//size batches, ``passes`` times."""
    out = []
    with torch.no_grad():
        for _ in range(passes):
            for i in range(0, len(x) - size + 1, size):
                logits = functional_call(model, {**_sample(mean, log_std, gen), **buffers}, (x[i:i + size],))
                out.append(float(risk(logits, y[i:i + size])) / size)
    return out


def _kl(mean, log_std, prior, lam) -> torch.Tensor:
    return sum(gaussian_kl(mean[k].double(), 2 * log_std[k].double(), prior[k].double(), lam) for k in mean)


def optimize_pac_bayes(model: nn.Module, loss: LossFn | None, x: torch.Tensor, y: torch.Tensor,
                       prior_mean: dict[str, torch.Tensor] | None = None, *, n_iters: int = 300, lr: float = 1e-3,
                       lr_std: float = 1e-2, batch_size: int = 256, mc_train: int = 1, seed: int = 0,
                       delta: float = 0.025, delta_mc: float = 0.01, prior_grid: tuple[float, float] = (1.0, 100.0),
                       init_std: float = 0.1, init_prior_var: float | None = None, learn_mean: bool = True,
                       mc_passes: int = 20, mc_batch_size: int = 100, max_examples: int | None = None,
                       x_test: torch.Tensor | None = None, y_test: torch.Tensor | None = None,
                       charge_all: bool = True, risk=None) -> PacBayesResult:
    """Optimize N(w, diag s²) around ``model``'s weights and certify its error (see the module docstring).

    ``loss(logits, y)`` is the differentiable surrogate (None: ``log2_cross_entropy``); the certificate
    uses ``risk(logits, y)``: a loss in [0, 1] per example, summed over the batch (None: the 0-1 error; e.g. a
    clipped, rescaled squared error for a regressor — the kl bounds hold for any loss in [0, 1], Maurer 2004).
    ``init_std``: initial s, relative to each tensor's RMS (absolute for an
    all-zero tensor). ``init_prior_var``: starting λ (default: the mean squared distance to the prior mean,
    at least 1e-6). ``max_examples``: use only the first so many training examples (optimization and bound).
    """
    c, b = prior_grid
    if not (0 < c and b > 0 and 0 < delta < 1 and 0 < delta_mc < 1 and n_iters >= 0 and mc_passes >= 1):
        raise ValueError(f"need c, b > 0, δ, δ' in (0, 1), n_iters >= 0, mc_passes >= 1; got prior_grid={prior_grid}, "
                         f"delta={delta}, delta_mc={delta_mc}, n_iters={n_iters}, mc_passes={mc_passes}")
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} examples but y has {len(y)}")
    x, y = (x[:max_examples], y[:max_examples]) if max_examples else (x, y)
    n_all, loss = len(x), loss or log2_cross_entropy
    risk = risk or zero_one_errors
    params = dict(model.named_parameters())
    if charge_all:  # every parameter and every floating buffer enters the posterior (and the KL)
        floating = {k: v for k, v in model.named_buffers() if v.is_floating_point()}
        names = list(params) + list(floating)
        params = {**params, **floating}
    else:
        names = [k for k, p in params.items() if p.requires_grad]
    device = params[names[0]].device
    buffers = {k: v.detach() for k, v in model.named_buffers() if k not in names}
    frozen = {k: p.detach() for k, p in params.items() if k not in names}
    buffers = {**buffers, **frozen}
    prior = {k: torch.zeros_like(params[k]).detach() for k in names} if prior_mean is None else \
        {k: torch.as_tensor(prior_mean[k]).detach().to(params[k]) for k in names if k in prior_mean}
    if set(prior) != set(names) or any(prior[k].shape != params[k].shape for k in names):
        raise ValueError(f"prior_mean must give a tensor of the right shape for each of {names} (missing or "
                         f"misshapen: {[k for k in names if k not in prior or prior[k].shape != params[k].shape]})")
    gen = torch.Generator(device=device).manual_seed(seed)
    # buffers (running statistics) are stochastic too, but torch's batch norm takes no gradient through them: their
    # posterior stays at N(trained value, (init_std·|value|)²) elementwise (a running variance stays positive: a
    # negative draw needs a 10-σ event at init_std = 0.1), charged in the KL, and is not optimized
    fixed_noise = {k for k in names if k not in dict(model.named_parameters())}
    mean = {k: params[k].detach().clone().requires_grad_(learn_mean and k not in fixed_noise) for k in names}
    log_std = {}
    for k in names:
        rms = float(params[k].detach().pow(2).mean().sqrt()) or 1.0
        if k in fixed_noise:
            scale = params[k].detach().abs().clamp(min=1e-3 * rms)
            log_std[k] = (init_std * scale).log().detach()
        else:
            log_std[k] = torch.full_like(params[k], math.log(init_std * rms)).detach().requires_grad_(True)
    dist2 = sum(float((params[k].detach() - prior[k]).pow(2).sum()) for k in names)
    n_params = sum(params[k].numel() for k in names)
    lam0 = init_prior_var or max(dist2 / n_params, 1e-6)
    log_lam = torch.tensor(math.log(min(lam0, c * math.exp(-1.0 / b))), device=device, requires_grad=True)
    groups = [{"params": [v for v in log_std.values() if v.requires_grad] + [log_lam], "lr": lr_std}]
    if learn_mean:
        groups.append({"params": [v for v in mean.values() if v.requires_grad], "lr": lr})
    opt = torch.optim.Adam(groups)
    const = math.log(math.pi ** 2 / (6 * delta)) + math.log(2 * math.sqrt(n_all))
    history = []
    t0 = time.perf_counter()
    with module_modes(model, "eval"):
        for it in range(n_iters):
            idx = torch.randint(0, n_all, (min(batch_size, n_all),), generator=gen, device=device)
            xb, yb = x[idx], y[idx]
            surrogate = sum(loss(functional_call(model, {**_sample(mean, log_std, gen), **buffers}, (xb,)), yb)
                            for _ in range(mc_train)) / mc_train
            kl = sum(gaussian_kl(mean[k], 2 * log_std[k], prior[k], log_lam.exp()) for k in names)
            j = (b * (math.log(c) - log_lam)).clamp(min=1.0)
            objective = surrogate + torch.sqrt((kl + 2 * j.log() + const) / (2 * n_all))
            opt.zero_grad(set_to_none=True)
            objective.backward()
            opt.step()
            if it % 10 == 0:
                history.append(float(objective.detach()))
        t1 = time.perf_counter()
        mean = {k: v.detach() for k, v in mean.items()}
        log_std = {k: v.detach() for k, v in log_std.items()}
        size = min(mc_batch_size, n_all)
        n_bound = (n_all // size) * size
        xs, ys = x[:n_bound], y[:n_bound]
        mc = _batch_errors(model, mean, log_std, buffers, xs, ys, size, mc_passes, gen, risk)
        mc_error = sum(mc) / len(mc)
        mc_bound = monte_carlo_risk_bound(mc_error, len(mc), delta_mc)
        j_hat = b * (math.log(c) - float(log_lam.detach()))
        best = None
        for j in sorted({max(1, math.floor(j_hat)), max(1, math.ceil(j_hat))}):
            lam = c * math.exp(-j / b)
            kl = float(_kl(mean, log_std, prior, lam))
            delta_j = 6 * delta / (math.pi ** 2 * j ** 2)
            value = pac_bayes_kl_bound(mc_bound, kl, n_bound, delta_j)
            if best is None or value < best[0]:
                best = (value, kl, lam, j, pac_bayes_mcallester_bound(mc_bound, kl, n_bound, delta_j))
        value, kl, lam, j, mcallester = best
        det = {k: params[k].detach() for k in names}
        test = x_test is not None and y_test is not None
        stoch_test = None
        if test:
            test_size = min(mc_batch_size, len(x_test))
            errs = _batch_errors(model, mean, log_std, buffers, x_test, y_test, test_size, 1, gen, risk)
            stoch_test = sum(errs) / len(errs)
        result = PacBayesResult(
            bound=value, mcallester_bound=mcallester, kl=kl, mc_error=mc_error, mc_bound=mc_bound,
            mc_samples=len(mc), prior_variance=lam, prior_index=j, n=n_bound, delta=delta, delta_mc=delta_mc,
            deterministic_train_error=_errors(model, det, buffers, x, y, risk=risk),
            posterior_mean_train_error=_errors(model, mean, buffers, x, y, risk=risk),
            stochastic_test_error=stoch_test,
            deterministic_test_error=_errors(model, det, buffers, x_test, y_test, risk=risk) if test else None,
            posterior_std_median=float(torch.cat([v.exp().flatten() for v in log_std.values()]).median()),
            seconds_optimize=t1 - t0, seconds_evaluate=time.perf_counter() - t1, objective_history=history,
            posterior_mean=mean, posterior_std={k: v.exp() for k, v in log_std.items()})
    return result


def stochastic_errors(net, mean: dict, std: dict, x: torch.Tensor, y: torch.Tensor, seed: int, chunk: int = 256) -> int:
    """Errors of the stochastic net with a FRESH draw h ~ N(mean, std²) for every example: the count is then
    Binomial(len(x), e(Q)) exactly, so a Clopper-Pearson interval and the test-set bound apply to it."""
    gen = torch.Generator(device=x.device).manual_seed(seed)
    one = lambda p, xi: functional_call(net, p, (xi[None],))[0]  # noqa: E731
    wrong = 0
    with torch.no_grad():
        for i in range(0, len(x), chunk):
            xb, yb = x[i:i + chunk], y[i:i + chunk]
            p = {k: mean[k] + std[k] * torch.randn((len(xb),) + tuple(mean[k].shape), generator=gen,
                                                   device=x.device, dtype=mean[k].dtype) for k in mean}
            wrong += int(zero_one_errors(vmap(one)(p, xb), yb))
    return wrong
