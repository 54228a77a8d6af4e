"""Question 4 — what do the learned parameters say?

* Weight spectra, per layer (Martin & Mahoney's heavy-tailed self-regularization: the metrics WeightWatcher
  reports, ``measure.spectra``): the power-law exponent α of each layer's ESD with its bootstrap interval and a
  fit-quality verdict, α-weighted, spectral and Frobenius norms, stable rank, MP soft rank, spikes above the
  Marchenko–Pastur edge of a randomized copy. Beside them, two controls of the SAME architecture: at
  initialization, and trained on random labels with the same recipe — what "nothing learned" and "memorized noise"
  look like for this model, so the user's numbers are read against their own baseline, not a universal scale.
* Curvature and geometry: Hessian top-k (Lanczos) and trace (Hutch++, with its interval), N_eff of the top-k,
  Fisher trace, ε-sharpness, ℓ2 and adaptive (scale-invariant) worst-case sharpness, and — with ``--init`` — each
  layer's relative distance from its initialization.
Every number carries one sentence on what it indicates and where it comes from; none is a verdict.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from whynets.data import Dataset, DataSpec, save_tensors_file
from whynets.engine import mix_seed, population_for
from whynets.measure.effdim import effective_dimensionality
from whynets.measure.fisher import fisher_trace
from whynets.measure.lanczos import hessian_eigenpairs
from whynets.measure.sharpness import adaptive_sharpness, epsilon_sharpness, worst_case_sharpness
from whynets.measure.spectra import METRIC_NOTES, model_spectra
from whynets.measure.trace import hessian_trace
from whynets.engine.budget import COPIES, module_bytes
from whynets.resources import ResourceError, fmt_bytes
from whynets.store import file_digest

from .core import instrument_loss
from .memory_plan import curvature_plan, describe, free_bytes, plan_key
from .model_io import apply_weights, load_weights
from .spec import DiagnoseSpec

__all__ = ["question_parameters", "CURVATURE_NOTES"]

CURVATURE_NOTES = {
    "lambda_max": "largest Hessian eigenvalue of the training loss: the sharpest direction (Keskar et al. 2017; Cohen "
                  "et al. 2021 show it settles near 2/η under full-batch GD, so it partly reflects the step size)",
    "trace": "Hessian trace (Hutch++, Meyer et al. 2021): the total curvature; flatness measures built on it are among "
             "those Jiang et al. 2020 found to correlate with generalization — a correlation over models, not a test",
    "n_eff": "effective dimensionality Σ λ/(λ+1) of the top-k eigenvalues (Maddox et al. 2020): how many parameter "
             "directions the data determine; a lower bound from k eigenvalues",
    "fisher_trace": "trace of the Fisher information (E over the model's own predictions: exact up to 32 classes, sampled "
                    "labels with an interval above): how much the "
                    "predictions depend on the weights; Achille et al. 2019 track it over training",
    "eps_sharpness": "Keskar et al.'s ε-sharpness (%): the worst loss rise in a box of relative size ε; not invariant "
                     "to reparametrizations that keep the function (Dinh et al. 2017)",
    "l2_sharpness": "worst loss rise in an ℓ2 ball of radius ρ (SAM's inner problem, Foret et al. 2021); changes when "
                    "a ReLU net's layers are rescaled without changing its function",
    "adaptive_sharpness": "worst loss rise in an ℓ2 ball scaled by each weight's own size (ASAM, Kwon et al. 2021): "
                          "invariant to those rescalings; Andriushchenko et al. 2023 find even it correlates with "
                          "generalization only within a setting",
    "distance_from_init": "‖w − w₀‖ / ‖w₀‖ per layer: how far training moved the layer (small in the lazy/NTK regime, "
                          "Jacot et al. 2018); needs --init",
}


def _spectra(ctx, spec: DiagnoseSpec, module: nn.Module, label: str, key: str) -> dict[str, Any]:
    def fn(_: Path) -> dict[str, Any]:
        layers, summary = model_spectra(module, seed=0, n_boot=spec.spectra_boot, n_reps=100)
        for layer in layers:  # the ESD itself, for the figure (a few thousand floats per layer at most)
            layer.pop("esd", None)
        return {"layers": layers, "summary": summary}
    return ctx.cell({"stage": "spectra", "of": label}, fn, model=key, boot=spec.spectra_boot)


def _plan(spec: DiagnoseSpec, module: nn.Module, ds: Dataset, kind: str) -> dict[str, Any]:
    """The curvature stage's plan against the memory budget (``memory_plan``): precision, caps, Fisher kind, or skip."""
    n = min(spec.curvature_examples, len(ds.y))
    classes = None
    if kind == "ce":
        with torch.no_grad():
            classes = int(module.eval()(ds.x[:1]).shape[-1])
    device = str(next(module.parameters()).device)
    return curvature_plan(module, ds.x[:1], n_examples=n, top_k=spec.top_k, trace_matvecs=spec.trace_matvecs,
                          classes=classes, device=device)


def _curvature(ctx, spec: DiagnoseSpec, module: nn.Module, ds: Dataset, kind: str, key: str) -> dict[str, Any]:
    module.eval()
    plan = _plan(spec, module, ds, kind)
    ctx.log(f"diagnose: question 4 — curvature: {describe(plan)}")

    def fn(_: Path) -> dict[str, Any]:
        n = min(spec.curvature_examples, len(ds.y))
        if "skip" in plan:
            return {"examples": n, "skipped": plan["skip"], "plan": plan}
        loss = instrument_loss(kind)
        batches = [(ds.x[:n], ds.y[:n])]
        dtype = getattr(torch, plan["dtype"])
        top = hessian_eigenpairs(module, loss, batches, k=spec.top_k, dtype=dtype, seed=0,
                                 max_steps=plan["lanczos_steps"])
        lam = top.eigenvalues.double().cpu()
        out = {"examples": n, "plan": plan, "top_eigenvalues": lam.tolist(), "lambda_max": float(lam[0]),
               "lanczos": {"steps": top.num_matvecs, "converged": bool(top.converged)},
               "n_eff": effective_dimensionality(lam, 1.0)}
        failed = {}
        for name, measure in (("eps_sharpness", lambda: epsilon_sharpness(module, loss, batches, 1e-3, dtype=dtype)),
                              ("l2_sharpness", lambda: worst_case_sharpness(module, loss, batches, 0.05, steps=5,
                                                                            dtype=dtype)),
                              ("adaptive_sharpness", lambda: adaptive_sharpness(module, loss, batches, 0.05, steps=5,
                                                                                dtype=dtype))):
            try:  # an ascent that meets a non-finite loss is one measure lost, said, not the whole stage
                out[name] = measure().sharpness
            except FloatingPointError as err:
                out[name], failed[name] = None, f"{err} ({plan['dtype']})"
        if failed:
            out["failed"] = failed
        if plan["trace_matvecs"]:
            trace = hessian_trace(module, loss, batches, num_matvecs=plan["trace_matvecs"], seed=0,
                                  dtype=None if dtype == torch.float64 else dtype)
            out["trace"] = {"estimate": trace.estimate, "stderr": trace.stderr, "interval": [trace.ci_low, trace.ci_high],
                            "matvecs": trace.num_matvecs}
        if kind == "ce":
            f = plan["fisher"]
            m = min(n, 512)
            fisher = fisher_trace(module, [(ds.x[:m], ds.y[:m])], kind=f["kind"], num_samples=max(1, f["samples"]),
                                  chunk_size=f["chunk"], seed=0)
            out["fisher_trace"] = fisher.estimate
            out["fisher"] = {"kind": f["kind"], "samples": f["samples"], "interval": [fisher.ci_low, fisher.ci_high]}
        return out
    return ctx.cell({"stage": "curvature"}, fn, model=key, k=spec.top_k, matvecs=spec.trace_matvecs,
                    examples=spec.curvature_examples, plan=plan_key(plan))


def _distance_from_init(module: nn.Module, init: nn.Module) -> dict[str, dict[str, float | None]]:
    """Per parameter: ‖w − w₀‖ (absolute) and ‖w − w₀‖/‖w₀‖ (relative; None for a tensor that starts at zero,
    such as a zero-initialized bias, where a ratio means nothing)."""
    w0 = dict(init.named_parameters())
    out = {}
    for name, p in module.named_parameters():
        base = w0[name].detach()
        denom = float(base.norm())
        moved = float((p.detach() - base).norm())
        out[name] = {"absolute": moved, "relative": moved / denom if denom > 0 else None}
    return out


def _shuffled_targets(ctx, spec: DiagnoseSpec, ds: Dataset) -> DataSpec:
    """A regressor's random-label control: the training targets permuted (a seeded shuffle), as a data file cell —
    what is left to fit once the inputs say nothing about the targets."""
    def fn(cell_dir: Path) -> dict[str, Any]:
        perm = torch.randperm(len(ds.y), generator=torch.Generator().manual_seed(mix_seed(0, "shuffled-targets")))
        save_tensors_file(cell_dir / "shuffled.safetensors", x=ds.x.numpy(), y=ds.y[perm].numpy(),
                          x_test=ds.x_test.numpy(), y_test=ds.y_test.numpy())
        return {"cell": cell_dir.name, "file": "shuffled.safetensors"}

    cell = ctx.cell({"stage": "shuffled-targets"}, fn, require=("shuffled.safetensors",), data=spec.data)
    return DataSpec(name="safetensors", path=str(ctx.store.cell_dir(cell["cell"]) / "shuffled.safetensors"))


def _check_control_memory(module: nn.Module, device: str) -> None:
    """Refuse (``ResourceError``) the control's re-training when one member's training state (``COPIES`` copies of
    its weights: weights, gradients, Adam's moments, snapshots) does not fit what the budget leaves this process."""
    need = COPIES * module_bytes(module)
    free, how = free_bytes(device)
    if need > free:
        raise ResourceError(f"re-training one copy of your model needs about {fmt_bytes(need)} (x{COPIES} its "
                            f"weights: gradients, Adam's moments, snapshots) and the memory budget leaves "
                            f"{fmt_bytes(free)} ({how}); raise --memory-budget to include it")


def question_parameters(ctx, spec: DiagnoseSpec, ds: Dataset, module: nn.Module, key: str, kind: str,
                        train) -> dict[str, Any]:
    ctx.log("diagnose: question 4 — weight spectra (yours and two controls)")
    yours = _spectra(ctx, spec, module, "yours", key)
    init = population_for(spec.model, ds, [spec.seeds[0]]).member(0)
    init_key = f"init:{spec.seeds[0]}"
    if spec.init:
        apply_weights(init, load_weights(spec.init), where=spec.init)
        init_key = f"init-file:{file_digest(spec.init)}"  # the file's bytes: another --init is another cell
    at_init = _spectra(ctx, spec, init, "at initialization", init_key)
    # random labels (Zhang et al. 2017): a classifier's labels redrawn, a regressor's targets shuffled
    regression = ds.y.is_floating_point()
    noisy_data = _shuffled_targets(ctx, spec, ds) if regression else replace(spec.data, label_noise=1.0)
    try:
        _check_control_memory(module, str(next(module.parameters()).device))
        noisy = ctx.train({"stage": "control", "kind": "shuffled-targets" if regression else "random-labels"},
                          spec.model, noisy_data, train, [spec.seeds[0]], keep_state=True)
    except ResourceError as refused:  # a model too large to re-train under the budget: the control is left out, said
        ctx.log(f"diagnose: question 4 — the {'shuffled-target' if regression else 'random-label'} control is left "
                f"out: {refused}")
        random_labels, noisy_acc, control_skipped = None, None, str(refused)
    else:
        state = ctx.state(noisy)
        pop = population_for(spec.model, ds, state.seeds)
        pop.load_state_dict({"params": state.params, "buffers": state.buffers})
        random_labels = _spectra(ctx, spec, pop.member(0).eval(), "trained on shuffled targets" if regression
                                 else "trained on random labels", noisy["cell"])
        noisy_acc, control_skipped = noisy["final"]["train_loss" if regression else "train_acc"][0], None
        del pop, state
    ctx.log("diagnose: question 4 — curvature")
    curvature = _curvature(ctx, spec, module, ds, kind, key)
    out = {"spectra": {"yours": yours, "at_init": at_init, "random_labels": random_labels,
                       "random_labels_train_acc" if not regression else "shuffled_targets_train_mse": noisy_acc,
                       "control": "shuffled targets" if regression else "random labels",
                       **({"control_skipped": control_skipped} if control_skipped else {})},
           "curvature": curvature, "notes": {**METRIC_NOTES, **CURVATURE_NOTES}}
    if spec.init:
        out["distance_from_init"] = _distance_from_init(module, init)
    out["reading"] = _reading(out)
    return out


def _reading(out: dict[str, Any]) -> list[str]:
    """Sentences that compare the user's layers with the controls (what the numbers support, no more)."""
    lines = []
    s = out["spectra"]
    mean = lambda d: d["summary"].get("alpha")  # noqa: E731
    a, i = mean(s["yours"]), mean(s["at_init"])
    r = mean(s["random_labels"]) if s["random_labels"] else None
    layers = s["yours"]["layers"]
    bad = [l["name"] for l in layers if (l.get("verdict") or {}).get("verdict") not in (None, "power law")]
    if bad and len(bad) == len(layers):
        lines.append(f"no layer's spectrum passes the power-law fit test ({', '.join(bad[:4])}): the α below is "
                     "descriptive only, not a tail exponent to read against Martin & Mahoney's scale")
    elif bad:
        lines.append(f"the power law does not fit (or is undecided) for {len(bad)} layer(s) ({', '.join(bad[:4])}): "
                     "their α is reported but should not be read as a tail exponent")
    control = s.get("control", "random labels")
    if a is not None and i is not None:
        lines.append(f"mean layer α: yours {a:.2f}, the same architecture at initialization {i:.2f}"
                     + (f", trained on {control} {r:.2f}" if r is not None else "") + ". Martin & Mahoney associate "
                     "smaller α (heavier tails, typically 2–6) with more correlation learned from data; compare yours "
                     "with the controls rather than with a fixed scale.")
    spikes = {k: sum(int(l.get("num_spikes") or 0) for l in s[k]["layers"]) for k in ("yours", "at_init",
                                                                                   "random_labels") if s.get(k)}
    if "yours" in spikes and "at_init" in spikes:
        lines.append(f"eigenvalues above the Marchenko–Pastur edge of each layer's randomized copy (spikes: structure "
                     f"that random weights do not have): yours {spikes['yours']}, at initialization {spikes['at_init']}"
                     + (f", trained on {control} {spikes['random_labels']}" if "random_labels" in spikes else "")
                     + (f" — spikes show that training put structure into the weights, not that it generalizes: the "
                        f"{control} control has as many or more" if spikes.get("random_labels", -1) >= spikes["yours"] / 2
                        else ""))
    c = out["curvature"]
    if out.get("distance_from_init"):
        d = out["distance_from_init"]
        rel = {k: v["relative"] for k, v in d.items() if v.get("relative") is not None}
        if rel:
            far = max(rel, key=rel.get)
            lines.append(f"distance from your --init: the layer that moved most, relative to its start, is {far} "
                         f"(‖w − w₀‖/‖w₀‖ = {rel[far]:.3g}); median over tensors {sorted(rel.values())[len(rel) // 2]:.3g}")
    if s.get("control_skipped"):
        lines.append(f"the {control} control was left out: {s['control_skipped']}")
    if c.get("skipped"):
        lines.append(f"curvature not measured: {c['skipped']}")
        return lines
    trace = f", Hessian trace {c['trace']['estimate']:.3g}" if c.get("trace") else ""
    sharp = "; ".join(f"{label} {c[k]:.3g}" for k, label in (("adaptive_sharpness", "adaptive sharpness "
                                                                                  "(scale-invariant)"),
                                                               ("l2_sharpness", "ℓ2 sharpness"))
                      if c.get(k) is not None)
    lines.append(f"λ_max {c['lambda_max']:.3g}{trace}, N_eff (top {len(c['top_eigenvalues'])}) {c['n_eff']:.2f}"
                 + (f"; {sharp}" if sharp else ""))
    if c.get("failed"):
        lines.append("not measured: " + "; ".join(f"{k}: {v}" for k, v in c["failed"].items()))
    plan = c.get("plan") or {}
    if plan.get("dtype") == "float32" or not c.get("trace") or (c.get("lanczos") or {}).get("converged") is False:
        lines.append(f"the curvature ran as the memory budget allowed ({describe(plan)})"
                     + ("; Lanczos stopped before every eigenvalue met its tolerance" if (c.get("lanczos") or {}).get(
                         "converged") is False else ""))
    return lines
