"""Question 3 for a regressor — what can be certified about a squared error?

A bound needs a bounded loss: the squared error (summed over outputs) clipped at C, ℓ_C = min(‖f(x) − y‖², C). The
clipping is stated with every number, and a bound can be no better than the clipped risk it bounds.

1. held out (the yardstick): E[ℓ_C] ≤ C·kl⁻¹(mean_test(ℓ_C)/C, ln(1/δ')/n_test) — the binomial kl bound holds for
   any loss in [0, 1] (Maurer 2004); C may depend on the training data (the test set is independent of it), here
   C = 4 × the training targets' variance (summed over outputs), rounded up to a power of 2;
2. PAC-Bayes (Dziugaite & Roy 2017's optimization, ``measure.pac_bayes``) on ℓ_C/C for the stochastic net around
   the weights, every tensor in the posterior; the prior must not depend on the training data and neither may C
   here, so C is read off a fixed grid of powers of 2 (2^−20 … 2^20) and the bound pays for the grid by a union
   bound (δ'/41).
The two certificates are each at δ/2, so both hold at once with probability >= 1 − δ. Compression and subspace
bounds here bound a 0-1 error, and say so.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from whynets.measure.bounds import kl_inverse_upper
from whynets.measure.pac_bayes import optimize_pac_bayes
from whynets.store import file_digest

from .spec import DiagnoseSpec

__all__ = ["regression_bounds", "clip_level", "GRID"]

GRID = tuple(range(-20, 21))  # C = 2^j: the grid the PAC-Bayes bound pays for


def clip_level(y: torch.Tensor) -> float:
    """C = 4 × Σ_outputs Var(y), rounded up to a power of 2 on ``GRID`` (clamped to its ends)."""
    y = y.double().reshape(len(y), -1)
    v = float(y.var(0, unbiased=True).sum()) if len(y) > 1 else 1.0
    j = math.ceil(math.log2(max(4 * v, 2.0 ** GRID[0])))
    return 2.0 ** min(max(j, GRID[0]), GRID[-1])


def _squared(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    target = y.unsqueeze(-1) if y.dim() == 1 else y
    return ((out - target.to(out.dtype)) ** 2).sum(-1)


def regression_bounds(ctx, spec: DiagnoseSpec, ds, module: nn.Module, key: str, ref: dict[str, Any]) -> dict[str, Any]:
    from .bound import _base, _prior

    delta, k = spec.delta, 2
    each = delta / k
    c = clip_level(ds.y)
    ctx.log(f"diagnose: question 3 — bounds on the squared error clipped at C = {c:g} (test set, PAC-Bayes)")
    base, origin = _base(spec, ds)

    def fn(_: Path) -> dict[str, Any]:
        se = torch.tensor(ref["test_sq_errors"], dtype=torch.float64)
        n_test = len(se)
        clipped = float(se.clamp(max=c).mean())
        held = c * kl_inverse_upper(clipped / c, math.log(1 / each) / n_test)
        yt = ds.y_test.double().reshape(len(ds.y_test), -1)
        mean_pred = ds.y.double().reshape(len(ds.y), -1).mean(0)
        baseline = float(((yt - mean_pred) ** 2).sum(1).clamp(max=c).mean())
        out: dict[str, Any] = {"clip": c, "predict_the_mean": baseline, "bounds": [{
            "name": "test set, clipped squared error (Maurer 2004 kl bound)", "value": held, "empirical": clipped,
            "statement": f"the model was fixed before its {n_test} test examples were drawn i.i.d.; the squared error "
                         f"clipped at C = {c:g} (4 × the training targets' variance, rounded up to a power of 2), "
                         f"rescaled to [0, 1], kl-inverted at δ/{k} = {each:g}"}]}

        def risk(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:  # in [0, 1] per example, summed
            return (_squared(logits, y).clamp(max=c) / c).sum()

        def surrogate(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return (_squared(logits, y).clamp(max=c) / c).mean()

        grid = len(GRID)
        pb = optimize_pac_bayes(module, surrogate, ds.x, ds.y, prior_mean=_prior(module, base, spec),
                                n_iters=spec.pac_bayes_iters, lr_std=3e-2, seed=0, delta=each / 2 / grid,
                                delta_mc=each / 2 / grid, mc_passes=10, mc_batch_size=20, x_test=ds.x_test,
                                y_test=ds.y_test, risk=risk)
        out["bounds"].append({
            "name": "PAC-Bayes, optimized (Dziugaite & Roy 2017), clipped squared error", "value": c * pb.bound,
            "empirical": c * pb.mc_error, "kl": pb.kl, "charged": sorted(pb.posterior_mean),
            "stochastic_test_error": None if pb.stochastic_test_error is None else c * pb.stochastic_test_error,
            "statement": f"for the stochastic net N(w, diag s²) over all {len(pb.posterior_mean)} parameter and buffer "
                         f"tensors, prior centred at {'--init' if spec.init else 'zero weights'} (buffers at {origin}); "
                         f"the loss min(squared error, C)/C with C = {c:g} read off the grid 2^{GRID[0]}…2^{GRID[-1]} "
                         f"({grid} values, union-bounded), δ/{k} = {each:g} split over the grid, PAC-Bayes and "
                         f"Monte-Carlo ({pb.mc_samples} sampled nets)"})
        for name in ("compression (Occam; Lotfi et al. 2022)", SUBSPACE_NAME):
            out["bounds"].append({"name": name, "value": None, "reference": True,
                                  "statement": "not computed: it bounds a 0-1 error (a classifier's); a code-length "
                                               "bound on a clipped squared error would need its own derivation"})
        return out

    res = ctx.cell({"stage": "bounds-regression"}, fn, model=key, data=spec.data, delta=delta,
                   init=file_digest(spec.init) if spec.init else None, iters=spec.pac_bayes_iters, clip="4var-pow2")
    bounds = res["bounds"]
    held, pb = bounds[0], bounds[1]
    mse = ref["test_loss"]
    verdict = (f"with probability >= {1 - delta:g} both hold (each at δ/{k}): the test risk of your model's squared error "
               f"clipped at C = {c:g} is at most {held['value']:.4g} (held out; its empirical clipped risk "
               f"{held['empirical']:.4g}, unclipped test MSE {mse:.4g}); from the training data alone, for the stochastic "
               f"net around your weights, at most {pb['value']:.4g} (PAC-Bayes, KL = {pb['kl']:.3g} nats). Predicting "
               f"the training mean scores {res['predict_the_mean']:.4g} on the same clipped loss"
               + (" — the PAC-Bayes certificate is no better than that" if pb["value"] >= res["predict_the_mean"]
                  else "") + f". A bound at C = {c:g} says nothing (the clipped loss cannot exceed it).")
    return {"bounds": bounds, "regression": True, "clip": c, "predict_the_mean": res["predict_the_mean"],
            "tightest": min(bounds[:2], key=lambda b: b["value"])["name"], "delta": delta, "delta_each": each,
            "union": k, "verdict": verdict}


SUBSPACE_NAME = "subspace compression, your architecture (Lotfi et al. 2022)"
