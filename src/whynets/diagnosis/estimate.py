"""How long a diagnosis will take, printed before it starts: every stage's cost from what it is made of, each part
timed on this machine, on this model, before any stage runs (a few seconds in all).

* training (tickets, students, controls, the width sweep, the random-label control, the subspace search): the
  recipe's time per step — the slope between 10 and 50 steps of a population of every seed, after a warm-up —
  times the steps each stage trains, plus its evaluations;
* the classical baselines: their whole cross-validated fit timed on two subsamples of the training set (150 and 300
  examples), extrapolated to the full set along the power law the two times give (kernel machines and k-NN grow
  faster than linearly);
* spectra: ``model_spectra`` of your model timed at two numbers of bootstrap/synthetic resamples, extrapolated to
  the asked numbers, for each of the three spectra (yours, at init, the random-label control);
* curvature: the stage's memory plan first (``memory_plan``: nothing when it is skipped), then one Hessian-vector
  product in the plan's precision (Lanczos, ≈ 3k + 20 of them, at most the plan's cap) and one in the model's dtype
  (the trace's), and one gradient on the curvature examples, times the products and gradients the instruments take
  (~25 gradients of the sharpness ascents), plus the Fisher trace (exact or sampled, as planned) timed on 32
  examples;
* bounds: the PAC-Bayes optimization's steps at batch 256 and its Monte-Carlo passes over the data from the
  per-example costs above; the compression codes; the subspace search from its own step, timed (the projection
  w₀ + P·z costs more than the recipe's step on a large model: the demo's search took 10x a member's step).
Stages whose cells are all in the store cost nothing.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from typing import Callable, Sequence

import torch

from whynets.engine import TrainSpec, population_for, train
from whynets.measure.subspace import search_steps

from .spec import DiagnoseSpec

__all__ = ["estimate_seconds"]

OVERHEAD = 3.0  # the reference measurement's bookkeeping, the report and its figures


def _clock(fn: Callable[[], object], repeat: int = 1) -> float:
    best = math.inf
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def _training(spec: DiagnoseSpec, ds, device, recipe: TrainSpec) -> tuple[float, float]:
    """(seconds per recipe step of a population of every seed, seconds of one evaluation of it on train + test)."""
    def timed(steps: int) -> float:
        pop = population_for(spec.model, ds, list(spec.seeds), device)
        return _clock(lambda: train(pop, ds, replace(recipe, steps=steps, eval_points=1)))

    timed(3)  # warm-up: allocator, thread pools, first-call dispatch
    t10, t50 = timed(10), timed(50)
    per_step = max(t50 - t10, 1e-6) / 40  # the slope: the two evaluations every timed run pays cancel out
    evals = max(t10 - 10 * per_step, 0.0) / 2
    return per_step, evals


def _forward(module, ds, batch: int = 32) -> float:
    """Seconds of one pass of your model over train + test, no gradient (timed on one batch): the reference stage's
    cost when nothing else is timed (a model too large to re-train under the budget)."""
    from whynets.measure.hvp import module_modes

    m = min(batch, len(ds.x))
    with module_modes(module, "eval"), torch.no_grad():
        t = _clock(lambda: module(ds.x[:m]))
    return t * (len(ds.x) + len(ds.x_test)) / m


def _classical(spec: DiagnoseSpec, ds, regression: bool) -> float:
    from whynets.solvers.classical import classical_baselines

    from .simpler import classical_for

    which = classical_for(spec.classical, regression)
    if not which:
        return 0.0
    x, y = ds.x.flatten(1).numpy(), ds.y.numpy()
    n = len(y)

    def fit(m: int) -> float:
        idx = torch.randperm(n, generator=torch.Generator().manual_seed(0))[:m].numpy()
        return _clock(lambda: classical_baselines(x[idx], y[idx], x[idx[:50]], y[idx[:50]], seed=0, which=which,
                                                  task="regression" if regression else "classification",
                                                  choose_scaling=True, threads=torch.get_num_threads()))
    small, large = min(n, 150), min(n, 300)
    t_small, t_large = fit(small), fit(large)
    if large >= n or large == small:
        return t_large
    power = min(2.2, max(1.0, math.log(max(t_large, 1e-3) / max(t_small, 1e-3)) / math.log(large / small)))
    return t_large * (n / large) ** power


def _spectra(spec: DiagnoseSpec, module) -> float:
    from whynets.measure.spectra import model_spectra

    t_a = _clock(lambda: model_spectra(module, seed=0, n_boot=2, n_reps=2))
    t_b = _clock(lambda: model_spectra(module, seed=0, n_boot=10, n_reps=10))
    per = max(t_b - t_a, 0.0) / 16
    return max(t_a - 4 * per, 0.0) + per * (spec.spectra_boot + 100)


def _curvature(spec: DiagnoseSpec, module, ds, kind: str) -> float:
    from whynets.measure.hvp import module_modes

    try:
        with module_modes(module, "eval"):  # no copy: a large model's copy would be the estimate's own peak
            return _curvature_timed(spec, module, ds, kind)
    finally:
        module.zero_grad(set_to_none=True)


def _curvature_timed(spec: DiagnoseSpec, net, ds, kind: str) -> float:
    from whynets.measure.fisher import fisher_trace
    from whynets.measure.hvp import hessian_operator

    from .core import instrument_loss
    from .parameters import _plan

    plan = _plan(spec, net, ds, kind)  # the stage's own plan: its precision, its caps, its Fisher, or nothing
    if "skip" in plan:
        return 0.0
    loss = instrument_loss(kind)
    n = min(spec.curvature_examples, len(ds.y))
    batches = [(ds.x[:n], ds.y[:n])]
    dtype = getattr(torch, plan["dtype"])

    def hvp_seconds(dt: torch.dtype) -> float:
        op = hessian_operator(net, loss, batches, dtype=dt)
        v = torch.randn(op.size, dtype=dt, generator=torch.Generator().manual_seed(0))
        return _clock(lambda: op.matvec(v), repeat=2)
    # Lanczos in the plan's precision (float64 unless the budget says float32), the trace in the model's own dtype
    t_hvp64 = hvp_seconds(dtype)
    t_hvp = hvp_seconds(next(net.parameters()).dtype) if plan["trace_matvecs"] else 0.0

    def gradient():
        net.zero_grad(set_to_none=True)
        loss(net(ds.x[:n]), ds.y[:n]).backward()
    t_grad = _clock(gradient, repeat=2) * (2 if dtype == torch.float64 else 1)
    steps = min(3 * spec.top_k + 20, plan["lanczos_steps"])
    total = t_hvp64 * steps + t_hvp * plan["trace_matvecs"] + t_grad * 25
    if kind == "ce":
        f = plan["fisher"]
        m = min(32, n)
        t_f = _clock(lambda: fisher_trace(net, [(ds.x[:m], ds.y[:m])], kind=f["kind"],
                                          num_samples=max(1, f["samples"]), chunk_size=f["chunk"]))
        total += t_f * min(n, 512) / m
    return total


def _subspace_step(spec: DiagnoseSpec, module, ds, recipe: TrainSpec) -> float:
    """Seconds per step of the subspace search (w = w₀ + P·z: the projection's cost grows with the parameter count,
    not with the recipe's step), the slope between 10 and 40 steps of the largest dimension on a subsample."""
    from whynets.measure.subspace import subspace_compress

    n = min(len(ds.y), 512)
    x, y = ds.x[:n], ds.y[:n]

    def timed(steps: int) -> float:
        return _clock(lambda: subspace_compress(module, x, y, dims=(max(spec.subspace_dims),),
                                                levels=(spec.subspace_levels[0],), steps=steps,
                                                batch_size=min(recipe.batch_size or n, n), seed=0))
    timed(3)  # warm-up
    return max(timed(40) - timed(10), 1e-6) / 30


def estimate_seconds(spec: DiagnoseSpec, ds, device: torch.device, recipe: TrainSpec, module, kind: str,
                     skip: Sequence[str] = ()) -> dict[str, float]:
    """Each stage's expected wall time in seconds (``"total"``: their sum and the report); stages in ``skip`` (every
    cell already stored) cost nothing."""
    out = {q: 0.0 for q in ("reference", *spec.questions)}
    todo = [q for q in out if q not in skip]
    if not todo:
        out["total"] = OVERHEAD
        return out
    regression = kind == "mse" and ds.y.is_floating_point()
    from whynets.errors import ResourceError

    from .parameters import _check_control_memory
    try:  # question 4's random-label control re-trains one seed, unless the budget leaves it out
        _check_control_memory(module, str(device))
        control_fits = True
    except ResourceError:
        control_fits = False
    trains = [q for q in todo if q not in ("reference", "parameters")] or (["parameters"] if control_fits and
                                                                           "parameters" in todo else [])
    per_step, evals = _training(spec, ds, device, recipe) if trains else (0.0, _forward(module, ds) * len(spec.seeds))
    k = max(1, len(spec.seeds))
    run = per_step * recipe.steps + evals * (recipe.eval_points + 1)  # one re-training of every seed
    member_step = per_step / k  # one member, one step at the recipe's batch
    forward = evals / k  # one member over train + test, no gradient
    out["reference"] = forward
    if "simpler" in todo:
        series = sum(2 if s == "layerwise" and spec.rewind_step > 0 else 1 for s in spec.prune_scopes)
        students = 2 * len(spec.student_widths) * 0.3 + (2 * 2 * 0.5 if spec.width_arg else 0)  # MLPs ~0.3 of yours
        transfer = (1 + spec.transfer_factor)  # students' data: the training set and its copies, same steps
        out["simpler"] = run * (1 + series * spec.prune_rounds + 2 + students) + forward * transfer \
            + _classical(spec, ds, regression)
    if "overparameterization" in todo and spec.width_arg:
        seeds = max(2, min(3, k)) / k
        out["overparameterization"] = run * seeds * sum(max(0.35, f ** 1.3) for f in spec.width_factors)
    if "bound" in todo:
        batch = recipe.batch_size if 0 < recipe.batch_size < len(ds.y) else len(ds.y)
        pac = spec.pac_bayes_iters * member_step * (256 / batch) * 1.3 + 10 * forward * 1.2
        compression = 4 * (2 * forward) + 1.0
        bound = pac + compression
        if not regression and spec.subspace_dims:
            steps = search_steps(len(spec.subspace_dims), len(spec.subspace_levels), recipe.steps)
            bound += _subspace_step(spec, module, ds, recipe) * steps
        out["bound"] = bound
    if "parameters" in todo:
        spectra = _spectra(spec, module)  # yours, at init and the control's (left out: two spectra, no training)
        # one build of your architecture for the at-init control, one more for the control's population: a large
        # model's construction and initialization is seconds of its own
        build = _clock(lambda: population_for(spec.model, ds, [spec.seeds[0]], device))
        control = run / k + spectra + build if control_fits else 0.0
        out["parameters"] = 2 * spectra + build + control + _curvature(spec, module, ds, kind)
    if "recommend" in todo:  # the init check (2 arms, k steps), the LR sweep (16 full-batch runs of 20 steps on
        # up to 1000 examples), the shape check (2 full recipes), Lanczos at init on 4 batches and per member
        from .recommend_checks import FACTORS, LR_STEPS, SUBSET

        batch = recipe.batch_size if 0 < recipe.batch_size < len(ds.y) else len(ds.y)
        sub = min(SUBSET, len(ds.y))
        rec = 2 * per_step * min(300, recipe.steps) + 2 * len(FACTORS) * LR_STEPS * member_step * sub / batch
        rec += (2 * run if spec.width_arg and spec.depth_arg else 0) + 20 * member_step * 2
        out["recommend"] = rec + 6 * 30 * member_step * sub / batch  # ~30 HVPs per Lanczos, 6 of them
    out["total"] = sum(v for q, v in out.items() if q != "total") + OVERHEAD
    return out
