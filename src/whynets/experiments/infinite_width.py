"""infinite-width — wide networks become kernel machines; finite width corrects them by depth/width.

Lee et al. 2018 (NNGP) and Jacot et al. 2018 (NTK): a fully-connected net at infinite width is a Gaussian process
at initialization and trains by gradient descent as kernel regression with its neural tangent kernel; Lee et al.
2019: a wide net's training follows its linearization, its weights moving by O(1/√width). Roberts, Yaida & Hanin
2022: at finite width the output is not Gaussian; its excess kurtosis is set by depth/width, ≈ 6L/n for deep linear
nets and ≈ 15L/n for ReLU nets.

Here (one-hidden-layer ReLU MLPs 40-n-10, NTK parametrization, σ_w² = 2, σ_b² = 0.1, standardized MNIST-1D, n = 256
training examples so full-batch gradient descent stays cheap; the analytic kernels are ``whynets.kernels``):

1. kernel convergence: random nets of widths 64 … 4096 against the analytic NNGP and NTK on 48 training inputs; the
   relative Frobenius error falls as width^−1/2 (per-seed log-log slopes);
2. lazy training: the engine trains widths 64 … 2048 (MSE, plain gradient descent, η = 0.5, 400 steps); the
   relative weight change ‖θ_T − θ_0‖/‖θ_0‖ falls as width^−1/2;
3. the same nets against the analytic NTK's prediction of the same training (their own initial function, the same
   400 steps): the fraction of test points whose predicted class differs halves from the narrowest to the widest
   net. The infinite-width predictors' accuracies (NNGP posterior, NTK at the end of training and at t = ∞) are
   shown beside the trained nets'. A single wide net keeps its random initial function f0 (an O(1) Gaussian-process
   draw) in its predictions, so it is *less* accurate than the kernel mean predictor; that is the theory (Lee et al.
   2019, Eq. 16), and why the calibrated claim compares each net with the infinite-width prediction of the *same*
   initial function instead of with the NNGP (PHENOMENA's [prop] "the accuracy gap to the NNGP halves").
4. finite-width kurtosis: 12,000 random nets per (depth L, width n) with L/n ≤ 1/16, every weight drawn; output
   excess kurtosis within 25% of 6L/n (linear) and 15L/n (ReLU).

    whynets run infinite-width --preset quick
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from whynets.data import DataSpec
from whynets.engine import TrainSpec
from whynets.models import ModelSpec
from whynets.plotting import plt, save_figure
from whynets.spec import Spec, SpecError
from whynets.stats import Interval

from . import _infinite_width_cells as cells
from .base import Check, Claim, Experiment, mean, mean_check, paired_check

__all__ = ["InfiniteWidthSpec", "EXPERIMENT", "run", "claims", "figures"]

SLOPE_BAND = (-0.65, -0.35)  # PHENOMENA (calibrated): both log-log slopes in [−.65, −.35] (theory −1/2)


@dataclass(frozen=True)
class InfiniteWidthSpec(Spec):
    data: DataSpec = field(default_factory=lambda: DataSpec(n_train=256, n_test=1000, standardize=True))
    activation: str = field(default="relu", metadata={"help": "hidden activation (a kernels closed form: relu, erf, …)"})
    sigma_w2: float = field(default=2.0, metadata={"help": "weight variance × fan_in, every layer"})
    sigma_b2: float = field(default=0.1, metadata={"help": "bias variance, every layer"})
    kernel_points: int = field(default=48, metadata={"help": "training inputs the empirical kernels are compared on"})
    kernel_widths: tuple[int, ...] = field(default=(64, 256, 1024, 4096), metadata={"help": "widths of the random nets"})
    kernel_seeds: tuple[int, ...] = field(default=(0, 1, 2, 3, 4, 5), metadata={"help": "one random net per seed and width"})
    widths: tuple[int, ...] = field(default=(64, 128, 256, 512, 1024, 2048), metadata={"help": "trained widths"})
    seeds: tuple[int, ...] = field(default=(0, 1, 2), metadata={"help": "one trained member per seed and width"})
    # plain gradient descent on the full 256 examples: t = 2ηk/N = 1.56 in the flow's units; η = 0.5 is below the
    # stability edge N/λ_max(Θ) of the analytic NTK on these inputs
    train: TrainSpec = field(default_factory=lambda: TrainSpec(optimizer="sgd", momentum=0.0, lr=0.5, batch_size=0,
                                                               steps=400, loss="mse", eval_points=2))
    gp_noise: float = field(default=0.01, metadata={"help": "observation-noise variance of the NNGP posterior"})
    kurtosis_depths: tuple[int, ...] = field(default=(1, 2, 2, 4), metadata={"help": "hidden layers L, paired with "
                                                                                      "kurtosis_widths"})
    kurtosis_widths: tuple[int, ...] = field(default=(32, 32, 64, 64), metadata={"help": "widths n (L/n <= 1/16)"})
    kurtosis_nets: int = field(default=12000, metadata={"help": "random nets per (activation, L, n)"})
    kurtosis_seed: int = field(default=0, metadata={"help": "seed of the random nets' weights"})

    def validate(self) -> None:
        super().validate()
        if len(self.kurtosis_depths) != len(self.kurtosis_widths):
            raise SpecError("infinite-width: kurtosis_depths and kurtosis_widths pair up: give as many of each")
        if any(d / w > 1 / 16 for d, w in zip(self.kurtosis_depths, self.kurtosis_widths)):
            raise SpecError("infinite-width: the L/n formulas hold for L/n <= 1/16; choose kurtosis depths/widths so")
        if list(self.widths) != sorted(set(self.widths)) or list(self.kernel_widths) != sorted(set(self.kernel_widths)):
            raise SpecError("infinite-width: widths and kernel_widths must be distinct and ascending")


def _model(spec: InfiniteWidthSpec, width: int) -> ModelSpec:
    return ModelSpec(kind="mlp", depth=1, width=width, activation=spec.activation, init="gaussian",
                     parametrization="ntk", sigma_w2=spec.sigma_w2, sigma_b2=spec.sigma_b2)


def run(spec: InfiniteWidthSpec, ctx) -> dict[str, Any]:
    conv = cells.kernel_convergence(ctx, spec)["rows"]
    trained, ensemble = {}, {}
    for w in spec.widths:
        model = _model(spec, w)
        out = ctx.train({"width": w}, model, spec.data, spec.train, spec.seeds, keep_state=True)
        lin = cells.linearization(ctx, spec, w, model, out)
        trained[str(w)] = lin["rows"]
        ensemble[str(w)] = {"net_acc": lin["ensemble_acc"], "lin_acc": lin["ensemble_lin_acc"]}
    kurt = [cells.kurtosis(ctx, spec, act, d, n) for act in ("linear", "relu")
            for d, n in zip(spec.kurtosis_depths, spec.kurtosis_widths)]
    return {"kernel_convergence": conv, "trained": trained, "ensemble": ensemble,
            "kernel_accuracy": cells.kernel_accuracy(ctx, spec),
            "kurtosis": kurt, "widths": list(spec.widths), "kernel_widths": list(spec.kernel_widths)}


def _slope(xs, ys) -> float:
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])


def _conv_slopes(results: dict[str, Any], key: str) -> list[float]:
    rows = results["kernel_convergence"]
    seeds = sorted({r["seed"] for r in rows})
    out = []
    for s in seeds:
        mine = sorted((r["width"], r[key]) for r in rows if r["seed"] == s)
        out.append(_slope([w for w, _ in mine], [e for _, e in mine]))
    return out


def _per_seed(results: dict[str, Any], key: str) -> list[list[float]]:
    """seeds × widths table of one linearization reading."""
    ws = [str(w) for w in results["widths"]]
    return [[results["trained"][w][j][key] for w in ws] for j in range(len(results["trained"][ws[0]]))]


def _kurtosis_checks(results: dict[str, Any], activation: str) -> tuple[list[Check], dict[str, Any]]:
    checks, measured = [], {}
    for r in results["kurtosis"]:
        if r["activation"] != activation:
            continue
        lead = r["leading"]
        est, half = r["excess_kurtosis"] / lead, 1.96 * r["se"] / lead
        iv = Interval(est, est - half, est + half, r["nets"], "delta method over nets, normal 95%")
        name = f"kurtosis / (3κL/n) at L={r['depth']}, n={r['width']}"
        checks.append(Check(name=name, op="within", threshold=(0.75, 1.25), interval=iv))
        measured[f"L={r['depth']},n={r['width']}"] = {"excess_kurtosis": r["excess_kurtosis"], "leading": lead,
                                                      "exact": r["exact"]}
    return checks, measured


def claims(results: dict[str, Any], spec: InfiniteWidthSpec) -> list[Claim]:
    ntk_slopes, nngp_slopes = _conv_slopes(results, "ntk_error"), _conv_slopes(results, "nngp_error")
    change = _per_seed(results, "weight_change")
    lazy_slopes = [_slope(results["widths"], row) for row in change]
    disagree = _per_seed(results, "disagreement")
    narrow, wide = [row[0] for row in disagree], [row[-1] for row in disagree]
    w0, w1 = results["widths"][0], results["widths"][-1]
    lin_checks, lin_measured = _kurtosis_checks(results, "linear")
    relu_checks, relu_measured = _kurtosis_checks(results, "relu")
    band = f"in ({SLOPE_BAND[0]}, {SLOPE_BAND[1]}) (PHENOMENA, calibrated)"
    return [
        Claim(id="infinite-width/ntk-converges",
              source="Jacot et al. 2018, Thm 1 (the limit); rate: a one-hidden-layer eNTK is a mean of n iid units",
              statement="the empirical NTK of a random net tends to the analytic NTK as width^-1/2",
              paper={"slope": -0.5, "note": "central-limit rate (math); PHENOMENA (calibrated): .116 … .016 for widths 100 … 6400"},
              measured={"slopes": ntk_slopes},
              checks=[mean_check(f"log-log slope of ‖Θ_emp − Θ_∞‖/‖Θ_∞‖ vs width, per seed, {band}", ntk_slopes,
                                 "within", SLOPE_BAND)]),
        Claim(id="infinite-width/nngp-converges",
              source="Neal 1994; Lee et al. 2018, §2.3 (the limit); rate: a mean of n iid units",
              statement="the empirical NNGP (readout Gram matrix) of a random net tends to the analytic NNGP as width^-1/2",
              paper={"slope": -0.5, "note": "central-limit rate (math)"}, measured={"slopes": nngp_slopes},
              checks=[mean_check(f"log-log slope of ‖K_emp − K_∞‖/‖K_∞‖ vs width, per seed, {band}", nngp_slopes,
                                 "within", SLOPE_BAND)]),
        Claim(id="infinite-width/lazy-training",
              source="Lee et al. 2019, Thm 2.1 and Fig. 1 (relative weight change ∝ n^-1/2, NTK parametrization)",
              statement="the relative weight change of a trained net falls as width^-1/2",
              paper={"slope": -0.5, "note": "PHENOMENA (calibrated): .63 … .065 for widths 100 … 6400"},
              measured={"slopes": lazy_slopes, "change": {str(w): mean([r[i] for r in change])
                                                          for i, w in enumerate(results["widths"])}},
              checks=[mean_check(f"log-log slope of ‖θ_T − θ_0‖/‖θ_0‖ vs width, per seed, {band}", lazy_slopes,
                                 "within", SLOPE_BAND)]),
        Claim(id="infinite-width/trained-net-follows-ntk",
              source="Lee et al. 2019, §2.3-2.4 (a wide net's training is its linearization's; the prediction of "
                     "Eq. 9/15 with the net's own f0)",
              statement=f"the fraction of test points where a trained net's class differs from the analytic NTK "
                        f"prediction of the same training (same f0, same steps) halves from width {w0} to {w1}",
              paper={"our calibration": "disagreement(widest) <= 1/2 · disagreement(narrowest); PHENOMENA's proposal "
                                        "read 'the accuracy gap to the analytic NNGP halves from width 64 to 2048'"},
              measured={"disagreement": {str(w): mean([r[i] for r in disagree]) for i, w in enumerate(results["widths"])},
                        "net_acc": {str(w): mean([r[i] for r in _per_seed(results, "net_acc")])
                                    for i, w in enumerate(results["widths"])},
                        **{k: results["kernel_accuracy"][k] for k in ("nngp_acc", "ntk_acc_end", "ntk_acc_inf")}},
              checks=[paired_check(f"disagreement(n={w1}) − ½·disagreement(n={w0}), paired by seed", wide,
                                   [d / 2 for d in narrow], "<", 0.0)]),
        Claim(id="infinite-width/kurtosis-linear",
              source="Roberts, Yaida & Hanin 2022, §3.3 (deep linear nets: exact 3[(1 + 2/n)^L − 1] ≈ 6L/n)",
              statement="the output excess kurtosis of a random deep linear net is 6L/n within 25% (L/n <= 1/16)",
              paper={"excess kurtosis": "6L/n", "criterion": "within 25% (PHENOMENA)"}, measured=lin_measured,
              checks=lin_checks),
        Claim(id="infinite-width/kurtosis-relu",
              source="Roberts, Yaida & Hanin 2022, §5.4.1 (scale-invariant class: ReLU ≈ 15L/n at criticality)",
              statement="the output excess kurtosis of a random ReLU net is 15L/n within 25% (L/n <= 1/16)",
              paper={"excess kurtosis": "15L/n", "criterion": "within 25% (PHENOMENA)"}, measured=relu_measured,
              checks=relu_checks),
    ]


def figures(results: dict[str, Any], spec: InfiniteWidthSpec, out: Path) -> list[str]:
    fig, ax = plt.subplots(1, 4, figsize=(19, 4), gridspec_kw={"wspace": 0.35})
    rows, kws = results["kernel_convergence"], results["kernel_widths"]
    for key, label, c in (("ntk_error", "NTK", "C0"), ("nngp_error", "NNGP", "C1")):
        ax[0].scatter([r["width"] for r in rows], [r[key] for r in rows], s=10, c=c, alpha=0.5)
        ax[0].plot(kws, [mean([r[key] for r in rows if r["width"] == w]) for w in kws], "o-", c=c, label=label)
    ref = mean([r["ntk_error"] for r in rows if r["width"] == kws[0]])
    ax[0].plot(kws, [ref * (w / kws[0]) ** -0.5 for w in kws], "k:", label="∝ width^-1/2")
    ax[0].set(xscale="log", yscale="log", xlabel="width", ylabel="‖K_emp − K_∞‖_F / ‖K_∞‖_F",
              title="(a) random nets → analytic kernels")
    ws = results["widths"]
    change, disc = _per_seed(results, "weight_change"), _per_seed(results, "output_discrepancy")
    ax[1].plot(ws, [mean([r[i] for r in change]) for i in range(len(ws))], "o-", label="‖θ_T − θ_0‖/‖θ_0‖")
    ax[1].plot(ws, [mean([r[i] for r in disc]) for i in range(len(ws))], "s-", label="‖f_T − f_lin‖/‖f_T − f_0‖ (test)")
    ax[1].plot(ws, [change[0][0] * (w / ws[0]) ** -0.5 for w in ws], "k:", label="∝ width^-1/2")
    ax[1].set(xscale="log", yscale="log", xlabel="width", title="(b) lazy training")
    acc = results["kernel_accuracy"]
    net_acc, lin_acc = _per_seed(results, "net_acc"), _per_seed(results, "lin_acc")
    ax[2].errorbar(ws, [100 * mean([r[i] for r in net_acc]) for i in range(len(ws))],
                   yerr=[100 * float(np.std([r[i] for r in net_acc])) for i in range(len(ws))], fmt="o-",
                   label="trained nets")
    ax[2].plot(ws, [100 * mean([r[i] for r in lin_acc]) for i in range(len(ws))], "s--",
               label="analytic NTK, same f0")
    ax[2].plot(ws, [100 * results["ensemble"][str(w)]["net_acc"] for w in ws], "^-",
               label=f"mean output of the {len(net_acc)} nets")
    for key, label, style in (("nngp_acc", "NNGP posterior", "C2"), ("ntk_acc_end", "NTK mean, same t", "C3"),
                              ("ntk_acc_inf", "NTK mean, t = ∞", "C4")):
        ax[2].axhline(100 * acc[key], c=style, ls=":", label=label)
    top = 100 * max(acc["nngp_acc"], acc["ntk_acc_end"], acc["ntk_acc_inf"])
    ax[2].set(xscale="log", xlabel="width", ylabel="test accuracy (%)", ylim=(None, top + 12),
              title=f"(c) MNIST-1D, n = {spec.data.n_train} train")
    kurt = results["kurtosis"]
    for act, c, k in (("linear", "C0", 6), ("relu", "C3", 15)):
        pts = [r for r in kurt if r["activation"] == act]
        ratio = [r["depth"] / r["width"] for r in pts]
        ax[3].errorbar(ratio, [r["excess_kurtosis"] for r in pts], yerr=[1.96 * r["se"] for r in pts], fmt="o",
                       c=c, label=f"{act}: measured")
        grid = np.linspace(0, max(ratio) * 1.1, 50)
        ax[3].plot(grid, k * grid, c=c, ls=":", label=f"{k}L/n")
    ax[3].set(xlabel="depth / width  L/n", ylabel="output excess kurtosis", title="(d) finite-width correction")
    for a in ax:
        a.legend(fontsize=7, loc="upper left" if a is ax[3] else "upper right", ncol=2 if a is ax[2] else 1)
    return [save_figure(fig, results, out, "infinite_width")]


_SMOKE = InfiniteWidthSpec(data=DataSpec(n_train=64, n_test=100, standardize=True), kernel_points=8,
                           kernel_widths=(16, 64), kernel_seeds=(0, 1), widths=(16, 64), seeds=(0, 1),
                           train=TrainSpec(optimizer="sgd", momentum=0.0, lr=0.5, batch_size=0, steps=10, loss="mse",
                                           eval_points=2),
                           kurtosis_depths=(1,), kurtosis_widths=(16,), kurtosis_nets=200)

EXPERIMENT = Experiment(
    name="infinite-width",
    title="Wide nets are kernel machines; depth/width sets the finite-width corrections",
    paper="Lee et al. 2018 (NNGP); Jacot et al. 2018 (NTK); Lee et al. 2019 (linearized training); Roberts, Yaida & "
          "Hanin 2022 (finite width)",
    claim="random nets tend to the analytic NNGP/NTK as width^-1/2, trained wide nets barely move their weights and "
          "follow the NTK's prediction, and the output kurtosis at finite width is 6L/n (linear) or 15L/n (ReLU)",
    presets={"smoke": _SMOKE, "quick": InfiniteWidthSpec(),
             "full": InfiniteWidthSpec(data=DataSpec(n_train=1000, n_test=1000, standardize=True),
                                       kernel_widths=(64, 256, 1024, 4096, 16384), kernel_seeds=tuple(range(10)),
                                       widths=(64, 128, 256, 512, 1024, 2048, 4096, 8192), seeds=(0, 1, 2, 3, 4),
                                       train=TrainSpec(optimizer="sgd", momentum=0.0, lr=0.5, batch_size=0, steps=1600,
                                                       loss="mse", eval_points=4),
                                       kurtosis_depths=(1, 2, 2, 4, 4, 8), kurtosis_widths=(32, 32, 64, 64, 128, 128),
                                       kurtosis_nets=50000)},
    run=run, claims=claims, figures=figures,
    # quick: 20-21 CPU-s (55-64 s wall on the shared 2-core machine at load 8-11, WHYNETS_THREADS=1, 2026-12-07)
    quick_wall_s=15,  # wall of its quick run in CI (2 jobs on 2 cores, one thread each), 2026-12-07
    seed_fields=("seeds", "kernel_seeds"), max_seeds=6,
    cpu_on_auto="one-hidden-layer nets at full batch of 256 and float64 kernels: launch-bound on a GPU",
)
