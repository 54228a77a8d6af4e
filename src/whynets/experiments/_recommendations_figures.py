"""The figure of the ``recommendations`` experiment, drawn from its results record only: (a) the depth-60 tanh
stack's training curves, each start against its recommended (critical) init; (b) the step-size sweep, per
architecture, loss and seed, step sizes in units of 2/λ_max: did the loss fall at each of the first ``DECIDE_STEPS``
steps (o) or not (x), the predicted band shaded; (c) test accuracy against depth at the parameter budget, the
recommended shape marked and the best third shaded."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from whynets.measure.recommendations import monotone
from whynets.plotting import plt, save_figure

from ._recommendations_claims import onsets
from .base import mean, std

__all__ = ["figures"]


def figures(results: dict[str, Any], spec, out: Path) -> list[str]:
    fig, axes = plt.subplots(1, 3, figsize=(19, 4.8), gridspec_kw={"wspace": 0.62})
    data: dict[str, Any] = {"init": {}, "lr": {}, "shape": results["shape"]}
    ax = axes[0]
    for i, (start, v) in enumerate(results["init"].items()):
        for arm, style in (("start", ":"), ("recommended", "-")):
            c = v["arms"][arm]["curve"]
            ys = [mean(row) for row in c["train_acc"]]
            chi = v[f"{'start' if arm == 'start' else 'recommended'}_phase"]["chi_mean"]
            ax.plot(c["step"], ys, style, c=f"C{i}", marker="o", ms=3,
                    label=f"{start}{' → critical' if arm == 'recommended' else ''} (χ̄ = {chi:.3g})")
            data["init"][f"{start}/{arm}"] = {"step": c["step"], "train_acc": ys, "chi_mean": chi}
    ax.axhline(spec.acc_trains, c="k", lw=0.6, ls="--")
    ax.axhline(spec.acc_chance, c="grey", lw=0.6, ls="--")
    ax.set(xlabel="step", ylabel="train accuracy (mean over seeds)", ylim=(0, 1),
           title=f"(a) tanh {spec.init_depth} × {spec.init_width}: start (dotted) vs critical")
    ax.legend(fontsize=7, loc="center right")

    ax = axes[1]
    steps = results["decide_steps"]
    labels = []
    for j, (key, entry) in enumerate(results["lr"].items()):
        per = {o["seed"]: o for o in onsets(entry, steps)}
        for s in entry["seeds"]:
            y = len(labels)
            by_factor = {float(f): [math.inf if v is None else v for v in c] for f, c in s["curves"].items()}
            fs = sorted(by_factor)
            falls = [monotone(by_factor[f][:steps + 1]) for f in fs]
            ax.scatter([f for f, ok in zip(fs, falls) if ok], [y] * sum(falls), marker="o", c=f"C{j}", s=28)
            ax.scatter([f for f, ok in zip(fs, falls) if not ok], [y] * (len(fs) - sum(falls)), marker="x",
                       c=f"C{j}", s=40)
            ratio = s["lambda_after"] / s["lambda_max"] if s["lambda_after"] and s["lambda_max"] else math.nan
            labels.append(f"{key} seed {s['seed']} (λ₅/λ₀ {ratio:.2f})")
            data["lr"].setdefault(key, []).append({"seed": s["seed"], "factors": fs, "falls": falls,
                                                   "bracket": per[s["seed"]]["bracket"],
                                                   "verdict": per[s["seed"]]["verdict"],
                                                   "lambda_max": s["lambda_max"], "lambda_after": s["lambda_after"]})
    lo, hi = results["band"]
    ax.axvspan(lo, hi, color="g", alpha=0.12)
    ax.axvline(1.0, c="g", lw=0.8)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.set_xscale("log")
    ax.set_xticks(results["factors"], ["2/3" if abs(f - 2 / 3) < 1e-9 else f"{f:g}" for f in results["factors"]])
    ax.minorticks_off()
    ax.set(xlabel="step size / (2/λ_max at init)",
           title=f"(b) GD: o loss fell at each of {steps} steps, x it rose; band shaded")

    ax = axes[2]
    shape = results["shape"]
    cells = sorted(shape["cells"], key=lambda c: c["depth"])
    xs = [c["depth"] for c in cells]
    ms = [mean(c["test_acc"]) for c in cells]
    k = math.ceil(len(cells) / 3)
    cut = sorted(ms, reverse=True)[k - 1]
    ax.axhspan(cut, max(ms) + 0.5, color="g", alpha=0.1, label=f"best third (top {k})")
    ax.errorbar(xs, ms, yerr=[std(c["test_acc"]) for c in cells], fmt="-o", c="C0", capsize=3, label="test accuracy")
    rec = shape["recommended"]
    if rec is not None:
        mine = next(c for c in cells if c["depth"] == rec["depth"])
        ax.plot([rec["depth"]], [mean(mine["test_acc"])], "*", ms=16, c="C3",
                label=f"recommended {rec['depth']} × {rec['width']} (kurtosis {mine['kurtosis']:.2f})")
    for c, m in zip(cells, ms):
        ax.annotate(f"×{c['width']}", (c["depth"], m), textcoords="offset points", xytext=(4, -10), fontsize=7)
    ax.set(xlabel="depth (hidden layers) at the budget", ylabel="test accuracy (%)",
           title=f"(c) ReLU MLPs, {shape['budget']} parameters, MNIST-1D")
    ax.legend(fontsize=7)
    return [save_figure(fig, data, out, "recommendations")]
