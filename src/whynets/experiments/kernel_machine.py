"""kernel-machine — Domingos 2020, "Every model learned by gradient descent is approximately a kernel machine".

A network trained by gradient descent changes its output at any input x by f_T(x) − f_0(x) = Σ_i a_i K(x, x_i) with
the path kernel K(x, x') = ∫ ⟨∇_w f(x), ∇_w f(x')⟩ dt along the run — exactly in the gradient-flow limit (Theorem 1),
up to an error first order in the step size for discrete steps. Here: a small tanh MLP (40-32-32-2, binary MNIST-1D,
squared error on one-hot targets) trained by full-batch gradient descent at several step sizes η for the same
training time η·T; at every step the probe ``PathKernel`` adds that step's term Σ_i a_i(t) K_t(x, x_i) (tangent
kernel at w_t, a_i(t) = −η ∂L/∂f(x_i), ``measure.path_kernel``) at the test inputs, and at the end we compare the
kernel machine with the trained network: relative error ‖f_T − f_0 − Σ_i a_i K(·, x_i)‖ / ‖f_T − f_0‖ over the test
inputs and outputs. It is small at the smallest η and grows with η.

    whynets run kernel-machine --preset quick
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from whynets.data import DataSpec
from whynets.engine import TrainSpec
from whynets.models import ModelSpec
from whynets.plotting import plt, save_figure
from whynets.spec import Spec, SpecError

from ._dynamics import PathKernel
from .base import Claim, Experiment, direction_check, mean, mean_check, paired_check

SOURCE = "Domingos 2020, Theorem 1 (the kernel machine is exact in the limit of a small learning rate)"


@dataclass(frozen=True)
class KernelMachineSpec(Spec):
    data: DataSpec = field(default_factory=lambda: DataSpec(n_train=200, n_test=50, binary=True),
                           metadata={"help": "training set and the test inputs the kernel machine is compared on"})
    model: ModelSpec = field(default_factory=lambda: ModelSpec(kind="mlp", width=32, depth=2, activation="tanh"))
    seeds: tuple[int, ...] = field(default=(0, 1, 2), metadata={"help": "members per step size"})
    step_sizes: tuple[float, ...] = field(default=(0.025, 0.05, 0.1, 0.2, 0.4),
                                          metadata={"help": "gradient-descent steps η, smallest first"})
    horizon: float = field(default=2.0, metadata={"help": "training time η·T of every run (T = horizon/η steps)"})
    tolerance: float = field(default=0.05, metadata={"help": "relative error the smallest step must stay under"})


def _runs(spec: KernelMachineSpec) -> list[tuple[float, int]]:
    if len(spec.step_sizes) < 2 or list(spec.step_sizes) != sorted(set(spec.step_sizes)):
        raise SpecError(f"kernel-machine: step_sizes={spec.step_sizes} must hold at least two distinct steps, "
                        "smallest first")
    return [(lr, max(1, round(spec.horizon / lr))) for lr in spec.step_sizes]


def run(spec: KernelMachineSpec, ctx) -> dict[str, Any]:
    runs = {}
    for lr, steps in _runs(spec):
        train = TrainSpec(optimizer="sgd", momentum=0.0, batch_size=0, lr=lr, steps=steps, loss="mse", eval_every=1)
        out = ctx.train({"step": lr}, spec.model, spec.data, train, spec.seeds, probe=PathKernel(lr=lr, loss="mse"))
        hist = out["history"]
        last = hist[-1]
        rel = [e / c if c else math.nan for e, c in zip(last["pk_error"], last["pk_change"])]
        curve = [{"step": r["step"], "error": [e / c if c else None for e, c in zip(r["pk_error"], r["pk_change"])]}
                 for r in hist if r["step"] > 0]
        thin = max(1, len(curve) // 50)
        runs[str(lr)] = {"lr": lr, "steps": steps, "relative_error": rel, "change": last["pk_change"],
                         "train_loss": last["train_loss"], "diverged": out["diverged"], "wall_s": out["wall_s"],
                         "curve": curve[::thin] + ([] if (len(curve) - 1) % thin == 0 else curve[-1:])}
    return {"runs": runs, "wall_s": sum(r["wall_s"] for r in runs.values())}


def _logs(values: list[float]) -> list[float | None]:
    return [math.log(v) if v is not None and v > 0 else None for v in values]


def _order(runs: list[dict[str, Any]]) -> float | None:
    """Least-squares slope of log(mean relative error) against log η: 1 for an error first order in the step."""
    pts = [(math.log(r["lr"]), math.log(mean(r["relative_error"]))) for r in runs if mean(r["relative_error"]) > 0]
    if len(pts) < 2:
        return None
    mx, my = sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts)
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx


def claims(results: dict[str, Any], spec: KernelMachineSpec) -> list[Claim]:
    runs = sorted(results["runs"].values(), key=lambda r: r["lr"])
    small, large = runs[0], runs[-1]
    out = [Claim(id="kernel-machine/reconstructs", source=SOURCE,
                 statement=f"at the smallest step (η = {small['lr']:g}) the path-kernel machine Σ_i a_i K(x, x_i) "
                           "reproduces the trained network's change on the test inputs",
                 paper={"Theorem 1": "exact as η → 0", "our calibration": f"relative error <= {spec.tolerance:g}"},
                 measured={r["lr"]: mean(r["relative_error"]) for r in runs},
                 checks=[mean_check(f"‖f_T − f_0 − Σ a_i K(·, x_i)‖/‖f_T − f_0‖ at η = {small['lr']:g}",
                                    small["relative_error"], "<=", spec.tolerance),
                         direction_check("every member trained without diverging and moved (‖f_T − f_0‖ > 0)",
                                         [not d and c > 0 for d, c in zip(small["diverged"], small["change"])])])]
    seeds = len(small["relative_error"])
    rising = [all(a < b for a, b in zip([r["relative_error"][k] for r in runs], [r["relative_error"][k]
                                                                               for r in runs[1:]]))
              for k in range(seeds)]
    out.append(Claim(id="kernel-machine/error-grows-with-step", source=SOURCE,
                     statement="the kernel machine's error grows monotonically with the step size (first order in η)",
                     paper="grows with η (the error of the discrete path is first order in the step)",
                     measured={"relative_error": {r["lr"]: r["relative_error"] for r in runs},
                               "log-log slope (1 = first order)": _order(runs)},
                     checks=[direction_check("each member's relative error rises at every larger step", rising),
                             paired_check(f"log relative error at η = {large['lr']:g} − at η = {small['lr']:g} "
                                          "(same seeds)", _logs(large["relative_error"]),
                                          _logs(small["relative_error"]), ">", 0.0)]))
    return out


def figures(results: dict[str, Any], spec: KernelMachineSpec, out: Path) -> list[str]:
    runs = sorted(results["runs"].values(), key=lambda r: r["lr"])
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    lrs = [r["lr"] for r in runs]
    for k in range(len(runs[0]["relative_error"])):
        axes[0].plot(lrs, [r["relative_error"][k] for r in runs], "o-", alpha=0.7, label=f"member {k}")
    axes[0].axhline(spec.tolerance, ls=":", c="gray", label=f"{spec.tolerance:g}")
    axes[0].set(xscale="log", yscale="log", xlabel="step size η", ylabel="‖f_T − f_0 − Σ a_i K(·,x_i)‖ / ‖f_T − f_0‖",
                title=f"(a) path-kernel machine vs the trained net (η·T = {spec.horizon:g})")
    axes[0].set_xticks(lrs, [f"{v:g}" for v in lrs])
    axes[0].minorticks_off()
    axes[0].legend(fontsize=8)
    for r in runs:
        c = r["curve"]
        axes[1].plot([p["step"] * r["lr"] for p in c], [mean([v for v in p["error"] if v is not None]) for p in c],
                     label=f"η = {r['lr']:g}")
    axes[1].set(yscale="log", xlabel="training time η·t", ylabel="relative error (mean over seeds)",
                title="(b) error accumulated along the run")
    axes[1].legend(fontsize=8)
    data = {str(r["lr"]): {"relative_error": r["relative_error"], "curve": r["curve"]} for r in runs}
    return [save_figure(fig, data, out, "kernel_machine")]


EXPERIMENT = Experiment(
    name="kernel-machine",
    title="A network trained by gradient descent is approximately a kernel machine (the path kernel)",
    paper="Domingos 2020, Every model learned by gradient descent is approximately a kernel machine",
    claim="the path kernel accumulated along full-batch GD reproduces the trained MLP's test outputs; the error "
          "grows with the step",
    quick_wall_s=3,  # wall of its quick run in CI (2 jobs on 2 cores, one thread each), 2026-12-07
    seed_fields=("seeds",), max_seeds=6, seed_block=3,
    presets={
        "smoke": KernelMachineSpec(data=DataSpec(n_train=60, n_test=10, binary=True),
                                   model=ModelSpec(kind="mlp", width=8, depth=1, activation="tanh"), seeds=(0, 1),
                                   step_sizes=(0.05, 0.2), horizon=1.0),
        "quick": KernelMachineSpec(),
        "full": KernelMachineSpec(seeds=(0, 1, 2, 3, 4), step_sizes=(0.01, 0.02, 0.05, 0.1, 0.2, 0.4), horizon=8.0,
                                  data=DataSpec(n_train=500, n_test=100, binary=True)),
    },
    run=run, claims=claims, figures=figures,
)
