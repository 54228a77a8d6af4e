"""The three panels of ``double-descent``: what each trains or solves, the curve statistics the claims
read, and the figures. ``double_descent.py`` holds the spec, the claims and the registration.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from whynets.engine import padded_population, width_buckets
from whynets.measure.norms import parameter_count
from whynets.models import build
from whynets.probes import PaddedNorms
from whynets.solvers.random_features import double_descent_sweep
from whynets.plotting import plt, save_figure

from .base import mean

# ---------------------------------------------------------------- random features (Belkin et al. 2019)


def _mean_curves(curves: list[dict[str, list[float]]]) -> dict[str, list[float]]:
    keys = ("train_mse", "test_mse", "train_error", "test_error", "weight_norm")
    return {k: [mean([c[k][i] for c in curves]) for i in range(len(curves[0][k]))] for k in keys}


def random_features(spec: Any, ctx: Any) -> dict[str, Any]:
    """Min-norm (and ridge) least squares on N nested random features, one cell per (ridge, seed)."""
    ds = ctx.data(spec.rf_data)
    n = len(ds.y)
    grid = sorted({max(1, round(r * n)) for r in spec.rf_ratios})
    out: dict[str, Any] = {"n": n, "n_test": len(ds.y_test), "grid": grid, "kind": spec.rf_kind,
                           "ridge_value": spec.rf_ridge}
    wall = 0.0
    for name, ridge in (("ridgeless", 0.0), ("ridge", spec.rf_ridge)):
        curves = []
        for seed in spec.rf_seeds:
            def solve(cell_dir: Path, ridge: float = ridge, seed: int = seed) -> dict[str, Any]:
                started = time.perf_counter()
                res = double_descent_sweep(ds.x, ds.y, ds.x_test, ds.y_test, grid, kind=spec.rf_kind,
                                           ridge=ridge, seed=seed)
                return dict(res, wall_s=time.perf_counter() - started)

            label = {"panel": "random-features", "kind": spec.rf_kind, "ridge": ridge, "seed": seed}
            curves.append(ctx.cell(label, solve, data=spec.rf_data, grid=grid))
            wall += curves[-1]["wall_s"]
        out[name] = {"per_seed": [{k: c[k] for k in ("test_mse", "test_error", "train_error")} for c in curves],
                     "mean": _mean_curves(curves)}
    out["wall_s"] = wall
    return out


# ---------------------------------------------------------------- model-wise and epoch-wise (Nakkiran et al. 2019)


def model_wise(spec: Any, ctx: Any) -> dict[str, Any]:
    """Every width of one (noise, seed) trained as a few padded populations (``width_buckets``)."""
    base = ctx.data(spec.data)
    widths = sorted(set(int(w) for w in spec.widths))
    buckets = width_buckets(widths, spec.buckets)
    params = [parameter_count(build(replace(spec.model, width=w), base.input_shape, base.n_classes,
                                    torch.Generator().manual_seed(0))) for w in widths]
    out: dict[str, Any] = {"widths": widths, "params": params, "buckets": buckets, "noise": {}}
    for p in spec.noise:
        data = replace(spec.data, label_noise=p)
        per_seed, wall = [], 0.0
        for seed in spec.seeds:
            rows: dict[int, dict[str, Any]] = {}
            for bucket in buckets:
                res = ctx.train({"panel": "model-wise", "noise": p, "widths": ",".join(map(str, bucket)), "seed": seed},
                                spec.model, data, spec.train, [seed] * len(bucket), widths=bucket,
                                probe=PaddedNorms(widths=tuple(bucket)), keep_state=True)
                wall += res["wall_s"]
                hist = res["history"]
                for k, w in enumerate(bucket):
                    rows[w] = {"train_err": 1 - res["final"]["train_acc"][k], "test_err": 1 - res["final"]["test_acc"][k],
                               "path_norm": res["final"]["path_norm"][k],
                               "padding": max(r["padding"][k] for r in hist),
                               "curve_train": [1 - r["train_acc"][k] for r in hist],
                               "curve_test": [1 - r["test_acc"][k] for r in hist]}
                steps = [r["step"] for r in hist]
            per_seed.append(rows)
        avg = {key: [mean([s[w][key] for s in per_seed]) for w in widths]
               for key in ("train_err", "test_err", "path_norm")}
        curves = {key: [[mean(vals) for vals in zip(*[s[w][key] for s in per_seed])] for w in widths]
                  for key in ("curve_train", "curve_test")}
        out["noise"][f"{p:g}"] = {
            "label_noise": p, **avg, "test_err_seeds": [[s[w]["test_err"] for w in widths] for s in per_seed],
            "train_err_seeds": [[s[w]["train_err"] for w in widths] for s in per_seed],
            "path_norm_seeds": [[s[w]["path_norm"] for w in widths] for s in per_seed],
            "padding_max": max(s[w]["padding"] for s in per_seed for w in widths),
            "step": steps, **curves, "wall_s": wall}
        ctx.log(f"double-descent: model-wise noise={p:g}: {wall:.0f} s of training ({len(spec.seeds)} seed(s), "
                f"buckets {[max(b) for b in buckets]})")
    return out


def ensemble_panel(spec: Any, ctx: Any) -> dict[str, Any]:
    """Members for the ensemble (d'Ascoli et al. 2020; Geiger et al. 2020: the peak is variance, which averaging
    removes): each seed of ``ensemble_seeds`` one padded sweep of the widths <= ``ensemble_max_width`` on the
    noisiest data, then a cell with each member's test error per width, the ensemble's (softmax outputs averaged over
    the members), and for ``ensemble_boot`` resamples of the members (with replacement) the resampled ensemble's."""
    p = max(spec.noise)
    data = replace(spec.data, label_noise=p)
    widths = sorted(w for w in set(int(w) for w in spec.widths) if w <= spec.ensemble_max_width)
    buckets = width_buckets(widths, min(spec.buckets, len(widths)))
    trained, wall = [], 0.0
    for seed in spec.ensemble_seeds:
        for bucket in buckets:
            res = ctx.train({"panel": "ensemble", "noise": p, "widths": ",".join(map(str, bucket)), "seed": seed},
                            spec.model, data, spec.train, [seed] * len(bucket), widths=bucket, keep_state=True)
            trained.append((seed, bucket, res["cell"]))
            wall += res["wall_s"]

    def fn(_: Path) -> dict[str, Any]:
        ds = ctx.data(data)
        probs: dict[int, list[torch.Tensor]] = {w: [] for w in widths}  # per width: one row per member (seed order)
        for seed, bucket, cell in trained:
            state = ctx.state({"cell": cell})
            pop = padded_population(spec.model, bucket, ds.input_shape, ds.n_classes, [seed] * len(bucket))
            pop.load_state_dict({"params": state.params, "buffers": state.buffers})
            with torch.no_grad():
                out = pop.eval()(ds.x_test).softmax(-1)
            for k, w in enumerate(bucket):
                probs[w].append(out[k])
        stack = {w: torch.stack(probs[w]) for w in widths}  # (members, n_test, classes)
        err = lambda p_: float((p_.argmax(-1) != ds.y_test).double().mean())  # noqa: E731
        members = len(spec.ensemble_seeds)
        index = torch.randint(members, (spec.ensemble_boot, members), generator=torch.Generator().manual_seed(0))
        return {"widths": widths, "member_test_err": [[err(stack[w][k]) for w in widths] for k in range(members)],
                "ensemble_test_err": [err(stack[w].mean(0)) for w in widths], "boot_index": index.tolist(),
                "boot_ensemble_test_err": [[err(stack[w][i].mean(0)) for w in widths] for i in index]}

    out = ctx.cell({"panel": "ensemble-errors", "noise": p}, fn, trained=[c for _, _, c in trained],
                   n_boot=spec.ensemble_boot)
    return dict(out, noise=p, seeds=list(spec.ensemble_seeds), wall_s=wall)


# ---------------------------------------------------------------- curve statistics the claims read


def rise_peak(errors: Sequence[float]) -> tuple[int | None, float]:
    """The index where the curve rises most above its running minimum, and that rise (0 if monotone)."""
    best, peak, low = 0.0, None, math.inf
    for i, e in enumerate(errors):
        low = min(low, e)
        if e - low > best:
            best, peak = e - low, i
    return peak, best


def first_below(values: Sequence[float], threshold: float) -> int | None:
    return next((i for i, v in enumerate(values) if v <= threshold), None)


def bump(errors: Sequence[float]) -> dict[str, Any]:
    """The best decrease–increase–decrease: max over i of min(rise above the minimum before i,
    fall to the minimum after i); indices of the three points and both amounts."""
    best = {"size": 0.0, "up": 0.0, "down": 0.0, "at": None, "before": None, "after": None}
    for i in range(1, len(errors) - 1):
        j = int(np.argmin(errors[:i]))
        k = i + 1 + int(np.argmin(errors[i + 1:]))
        up, down = errors[i] - errors[j], errors[i] - errors[k]
        if min(up, down) > best["size"]:
            best = {"size": min(up, down), "up": up, "down": down, "at": i, "before": j, "after": k}
    return best


def loglog_slope(x: Sequence[float], y: Sequence[float]) -> float | None:
    if len(x) < 2:
        return None
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


# ---------------------------------------------------------------- figures (from results only)


def figure_random_features(rf: dict[str, Any], out: Path) -> str:
    n, grid = rf["n"], rf["grid"]
    ratio = [g / n for g in grid]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for name, style in (("ridgeless", "-"), ("ridge", "--")):
        label = "min-norm" if name == "ridgeless" else f"ridge {rf['ridge_value']:g}"
        for c in rf[name]["per_seed"]:
            axes[0].plot(ratio, c["test_mse"], style, c="gray", alpha=0.3, lw=0.8)
            axes[1].plot(ratio, c["test_error"], style, c="gray", alpha=0.3, lw=0.8)
        axes[0].plot(ratio, rf[name]["mean"]["test_mse"], style + "o", ms=3, label=f"{label}, test")
        axes[1].plot(ratio, rf[name]["mean"]["test_error"], style + "o", ms=3, label=f"{label}, test")
        axes[1].plot(ratio, rf[name]["mean"]["train_error"], style, lw=1, label=f"{label}, train")
    for ax, ylabel in zip(axes, ("test MSE (one-hot targets)", "0-1 error")):
        ax.axvline(1.0, c="k", ls=":", lw=0.8)
        ax.set(xscale="log", xlabel="features N / training points n", ylabel=ylabel)
        ax.legend(fontsize=8)
    axes[0].set_yscale("log")
    fig.suptitle(f"Random {rf['kind']} features, n = {n} (MNIST-1D): double descent at N = n")
    data = {"n_over": ratio, "ridgeless": rf["ridgeless"]["mean"], "ridge": rf["ridge"]["mean"]}
    return save_figure(fig, data, out, "double_descent_random_features")


def figure_ensemble(ens: dict[str, Any], out: Path) -> str:
    """Test error vs width on the noisy data: each member, their mean, and their ensemble (averaged predictions)."""
    widths = ens["widths"]
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for row in ens["member_test_err"]:
        ax.plot(widths, [100 * e for e in row], c="gray", alpha=0.35, lw=0.8)
    single = [mean(col) for col in zip(*ens["member_test_err"])]
    ax.plot(widths, [100 * e for e in single], "o-", ms=3, label=f"single models (mean of {len(ens['seeds'])})")
    ax.plot(widths, [100 * e for e in ens["ensemble_test_err"]], "s--", ms=3,
            label=f"ensemble of the {len(ens['seeds'])} members")
    ax.set(xscale="log", xlabel="hidden units h (MLP 40-h-h-10)", ylabel="test error (%)",
           title=f"label noise {ens['noise']:g}: single models vs their ensemble")
    ax.legend(fontsize=7)
    data = {"widths": widths, "single": single, "ensemble": ens["ensemble_test_err"]}
    return save_figure(fig, data, out, "double_descent_ensemble")


def figure_model_wise(mw: dict[str, Any], out: Path) -> str:
    widths, params = mw["widths"], mw["params"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    data: dict[str, Any] = {"widths": widths, "params": params}
    for key, v in mw["noise"].items():
        line, = axes[0].plot(widths, [100 * e for e in v["test_err"]], "o-", ms=3, label=f"test, noise {key}")
        axes[0].plot(widths, [100 * e for e in v["train_err"]], "--", c=line.get_color(), label=f"train, noise {key}")
        axes[1].plot(widths, v["path_norm"], "o-", ms=3, c=line.get_color(), label=f"path norm, noise {key}")
        data[f"noise={key}"] = {k: v[k] for k in ("test_err", "train_err", "path_norm")}
    axes[0].set(xscale="log", xlabel="hidden units h (MLP 40-h-h-10)", ylabel="error (%)", title="model-wise")
    axes[0].legend(fontsize=8)
    axes[1].plot(widths, params, "k:", label="parameter count")
    axes[1].set(xscale="log", yscale="log", xlabel="hidden units h", title="capacity: ℓ2 path norm vs parameters")
    axes[1].legend(fontsize=8)
    return save_figure(fig, data, out, "double_descent_model_wise")


def figure_epoch_wise(ew: dict[str, Any], out: Path) -> str:
    fig, ax = plt.subplots(figsize=(6, 4))
    steps = [max(s, 1) for s in ew["step"]]
    data: dict[str, Any] = {"step": ew["step"]}
    for w, curve in ew["curves"].items():
        line, = ax.plot(steps, [100 * e for e in curve["test"]], "o-", ms=3, label=f"test, h = {w}")
        ax.plot(steps, [100 * e for e in curve["train"]], "--", c=line.get_color(), label=f"train, h = {w}")
        data[f"h={w}"] = curve
    ax.set(xscale="log", xlabel="SGD step", ylabel="error (%)",
           title=f"epoch-wise, label noise {ew['noise']:g}")
    ax.legend(fontsize=8)
    return save_figure(fig, data, out, "double_descent_epoch_wise")
