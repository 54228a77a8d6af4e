"""information-plane — Shwartz-Ziv & Tishby 2017 vs Saxe et al. 2018: is there a compression phase?

Shwartz-Ziv & Tishby ("Opening the black box of deep neural networks via information") trained a tanh
12-10-7-5-4-3-2 net on a 12-bit task and tracked, for every hidden layer T, (I(X;T), I(T;Y)) with 30 bins: after
the training error becomes small, I(X;T) falls (the "compression phase"). Saxe et al. ("On the information
bottleneck theory of deep learning") found it is the tanh saturating: a ReLU net does not compress, and binning over
a fixed [-1, 1] range (the IDNNs code's) manufactures compression for ReLU. Both are fragile, so the binning (bins
over each layer's own range) and the init (N(0, 1/fan_in) weights, zero biases, for both activations) are fixed.

Here: ``DataSpec(name="bits12")`` (the 12-bit task rebuilt), X uniform over all 4096 inputs (MI on all of them,
training on the 80% split), the 10-7-5-4-3 net with tanh and with ReLU (same seeds), Adam with batch 256 as in
Saxe et al.'s code (github.com/artemyk/ibsgd; lr 4e-4 there, 10x here for the quick budget). The probe
``InformationPlane`` runs each member on the 4096 inputs at log-spaced steps and bins every hidden layer; for the
last hidden layer it adds the estimator panel: 10 / 30 / 100 bins over the layer's range and over [-1, 1], and the
KDE upper bound with noise variance 1e-3 (ibsgd's) once the member has fitted.

Compression of a curve: its readings from the fit on (the first measurement with train accuracy >= ``fit_acc``:
SZT's compression phase "begins when the training error becomes small"), the peak minus the final value, less
what that statistic is under the null of no compression. Peak − last is >= 0 by construction: a flat curve with
noise compresses by it. Under the null the post-fit readings are exchangeable (no trend), and the expected peak −
last over their orderings (a time-shuffled control) is peak − mean; so the compression is peak − last − (peak −
mean) = mean − last: zero in expectation under the null, negative for a curve that rises, positive for one that
falls. The no-compression claim is then an equivalence test against that null (within PHENOMENA's .2 bit).

At this scale (quick, 2026-12, 6 seeds): tanh's last layer loses 1.4-2.3 bits against the null; ReLU's
-0.07 to .42 (mean .14): in some seeds inputs fall into the layer's all-zero code, a one-sided saturation that
binning counts as compression (Chelombiev et al. 2019, "Adaptive estimators show information compression in deep
neural networks", see ReLU compress, varying with the init). Fixed [-1, 1] bins add more ReLU "compression" on top,
as Saxe et al. warned.

    whynets run information-plane --preset quick
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn

from whynets.data import DataSpec
from whynets.engine import TrainSpec
from whynets.measure.information import binned_mi, kde_mi
from whynets.models import ModelSpec
from whynets.plotting import plt, save_figure
from whynets.probes import Probe
from whynets.spec import Spec, SpecError

from .base import Claim, Experiment, direction_check, mean, mean_check, std

__all__ = ["InformationPlane", "InformationPlaneSpec", "hidden_layers", "compression", "EXPERIMENT"]

SOURCE = "Shwartz-Ziv & Tishby 2017; Saxe et al. 2018"
TANH_DROP, RELU_DROP, MIN_ITY = 0.5, 0.2, 0.8  # bits; PHENOMENA.md's criteria


def hidden_layers(model: nn.Module, x: torch.Tensor) -> list[torch.Tensor]:
    """The output of every activation of a whynets MLP (``model.net``: Linear, activation, ... , Linear) on x."""
    net = getattr(model, "net", None)
    if not isinstance(net, nn.Sequential):
        raise ValueError(f"hidden_layers needs a whynets MLP (an nn.Sequential at .net), got {type(model).__name__}")
    h, out = x.flatten(1), []
    for module in net:
        h = module(h)
        if not (isinstance(module, nn.Dropout) or hasattr(module, "weight")):  # weights: Linear / ScaledLinear
            out.append(h)
    return out


@dataclass(frozen=True)
class InformationPlane(Probe):
    """Per member, on all inputs (train + test rows, X uniform over them): I(X;T), I(T;Y) of every hidden layer
    (``bins`` over the layer's range), and for the last hidden layer the panel (layer range and ``fixed_range`` at
    each of ``panel_bins``; KDE once train accuracy >= ``kde_from_acc``), its max and its all-zero fraction."""

    bins: int = field(default=30, metadata={"help": "bins per unit, over each layer's own range (SZT: 30)"})
    panel_bins: tuple[int, ...] = field(default=(10, 30, 100), metadata={"help": "bin counts of the panel"})
    fixed_range: tuple[float, float] = field(default=(-1.0, 1.0), metadata={"help": "the IDNNs fixed binning range"})
    kde_noise_var: float = field(default=1e-3, metadata={"help": "KDE noise variance (ibsgd: 1e-3); 0 = no KDE"})
    kde_from_acc: float = field(default=0.9, metadata={"help": "KDE only where train accuracy >= this (cost)"})

    def member(self, model, step, data):
        x = torch.cat([data.x, data.x_test]).to(next(model.parameters()).device)
        y = torch.cat([data.y, data.y_test]).to(x.device)
        with torch.no_grad():
            layers = hidden_layers(model.eval(), x)
            acc = float((model(x[:len(data.y)]).argmax(1) == y[:len(data.y)]).float().mean())
        if not all(bool(torch.isfinite(t).all()) for t in layers):
            return {"ixt": None, "ity": None, "panel": None, "last_max": None, "zero_frac": None}
        pairs = [binned_mi(t, None, y, self.bins) for t in layers]
        last = layers[-1]
        panel = {}
        for b in self.panel_bins:
            panel[f"layer/{b}"] = binned_mi(last, None, y, b)[0]
            panel[f"fixed/{b}"] = binned_mi(last, None, y, b, tuple(self.fixed_range))[0]
        if self.kde_noise_var > 0:
            panel["kde"] = kde_mi(last, y, self.kde_noise_var)[0] if acc >= self.kde_from_acc else None
        return {"ixt": [p[0] for p in pairs], "ity": [p[1] for p in pairs], "panel": panel,
                "last_max": float(last.max()), "zero_frac": float((last == 0).all(1).float().mean())}


@dataclass(frozen=True)
class InformationPlaneSpec(Spec):
    data: DataSpec = field(default_factory=lambda: DataSpec(name="bits12"))
    seeds: tuple[int, ...] = field(default=(0, 1, 2), metadata={"help": "one member per seed (same for both nets)"})
    activations: tuple[str, ...] = field(default=("tanh", "relu"), metadata={"help": "hidden nonlinearities"})
    widths: tuple[int, ...] = field(default=(10, 7, 5, 4, 3), metadata={"help": "hidden sizes (SZT: 10-7-5-4-3)"})
    # N(0, σ_w²/fan_in) weights, zero biases: ibsgd's truncated normal is ~ this scale; one init for both nets
    sigma_w2: float = field(default=1.0, metadata={"help": "weight variance × fan_in"})
    fit_acc: float = field(default=0.9, metadata={"help": "train accuracy that ends the fitting phase"})
    probe: InformationPlane = field(default_factory=InformationPlane)
    # Adam, batch 256 (ibsgd); lr 4e-3 (ibsgd: 4e-4 for 10000 epochs); 4000 steps = 312 epochs of 3276
    train: TrainSpec = field(default_factory=lambda: TrainSpec(lr=4e-3, batch_size=256, steps=4000, eval_points=12))


    def validate(self) -> None:
        super().validate()  # the seeds
        if not 0 < self.fit_acc <= 1:
            raise SpecError(f"fit_acc={self.fit_acc!r} is out of range: a train accuracy in (0, 1]")
        if not self.widths or min(self.widths) < 1:
            raise SpecError(f"widths={self.widths!r}: give the hidden sizes, each >= 1 (SZT: 10,7,5,4,3)")


def _model(spec: InformationPlaneSpec, act: str) -> ModelSpec:
    if "widths" not in {f.name for f in fields(ModelSpec)}:
        raise SpecError("information-plane needs ModelSpec.widths (per-layer hidden sizes, e.g. 10,7,5,4,3); "
                        "this whynets has no such field")
    return ModelSpec(kind="mlp", widths=tuple(spec.widths), activation=act, init="gaussian", sigma_w2=spec.sigma_w2,
                     sigma_b2=0.0)


def compression(curve: list[float | None], steps: list[int], fit_step: int | None) -> float | None:
    """The drop of ``curve`` after the fit, against the null of no trend: the mean of its readings at steps >=
    ``fit_step`` minus its last value (= peak − last less its expectation over time-shuffled readings, peak − mean).
    None: never fitted, or no final reading."""
    if fit_step is None or not curve or curve[-1] is None:
        return None
    window = [v for s, v in zip(steps, curve) if s >= fit_step and v is not None]
    return sum(window) / len(window) - curve[-1] if window else None


def run(spec: InformationPlaneSpec, ctx) -> dict[str, Any]:
    train = replace(spec.train, fit_acc=spec.fit_acc, stop_at_fit=False)
    out: dict[str, Any] = {"layers": list(spec.widths), "bins": spec.probe.bins, "nets": {}}
    for act in spec.activations:
        r = ctx.train({"activation": act}, _model(spec, act), spec.data, train, spec.seeds, probe=spec.probe)
        hist = r["history"]
        steps = [row["step"] for row in hist]
        k = len(spec.seeds)
        col = lambda key, m: [row[key][m] for row in hist]  # noqa: E731  member m's readings over steps
        ixt = [[row["ixt"][m] for row in hist] for m in range(k)]  # [member][step][layer]
        seen = {e for row in hist for p in row["panel"] if p for e in p}
        order = [f"{rng}/{b}" for rng in ("layer", "fixed") for b in spec.probe.panel_bins] + ["kde"]
        panel_keys = [e for e in order if e in seen]
        panel = {e: [[None if row["panel"][m] is None else row["panel"][m].get(e) for row in hist] for m in range(k)]
                 for e in panel_keys}
        fit = r["fit_step"]
        drops = {e: [compression(panel[e][m], steps, fit[m]) for m in range(k)] for e in panel_keys}
        drops["layers"] = [[compression([None if v is None else v[layer] for v in ixt[m]], steps, fit[m])
                            for layer in range(len(spec.widths))] for m in range(k)]
        out["nets"][act] = {
            "steps": steps, "fit_step": fit, "diverged": r["diverged"], "width": spec.widths[-1], "ixt": ixt,
            "ity": [[row["ity"][m] for row in hist] for m in range(k)], "panel": panel, "compression": drops,
            "global_drop": [None if ixt[m][-1] is None else max(v[-1] for v in ixt[m] if v) - ixt[m][-1][-1]
                            for m in range(k)],
            "last_max": [col("last_max", m) for m in range(k)], "zero_frac": [col("zero_frac", m) for m in range(k)],
            "train_acc": r["final"]["train_acc"], "test_acc": r["final"]["test_acc"], "wall_s": r["wall_s"]}
    return out


def _main(net: dict[str, Any]) -> list[float | None]:
    """Per seed: compression of the last hidden layer with the probe's ``bins`` over the layer's range."""
    return [layers[-1] for layers in net["compression"]["layers"]]


def claims(results: dict[str, Any], spec: InformationPlaneSpec) -> list[Claim]:
    """Per seed: compression of the last hidden layer (post-fit mean − final I(X;T), ``bins`` over its range: the
    peak − last statistic less its value under the no-trend null), its final I(T;Y); t-intervals over seeds and
    per-seed directions. The estimator panel is reported."""
    nets, bins, out = results["nets"], results["bins"], []
    rules = {"tanh": ("tanh-compression", ">=", TANH_DROP, "SZT Fig. 2-3", "several bits"),
             "relu": ("relu-no-compression", "<", RELU_DROP, "Saxe Fig. 1", "no compression")}
    for act, (name, op, thr, fig, said) in rules.items():
        statement = (f"{act}: after the fit, the last hidden layer's I(X;T) ({bins} bins over its range) ends {op} "
                     f"{thr} bit below its post-fit mean (compression against the null of no trend)")
        if act not in nets:
            out.append(Claim(id=f"information-plane/{name}", source=SOURCE, statement=statement, paper=f"{op} {thr}",
                             skipped=f"{act} is not in this preset's activations"))
            continue
        d = _main(nets[act])
        flags = [None if v is None else (v >= thr if op == ">=" else v < thr) for v in d]
        out.append(Claim(id=f"information-plane/{name}", source=f"{SOURCE} ({fig})", statement=statement,
                         paper={"PHENOMENA proposal (our threshold)": f"{op} {thr} bit", "paper": said},
                         checks=[mean_check(f"mean compression against the no-trend null, {act} (bits)", d, op, thr),
                                 direction_check(f"every seed compresses {op} {thr} bit", flags)]))
    ity_checks = []
    for act, net in nets.items():
        final = [None if v[-1] is None else v[-1][-1] for v in net["ity"]]
        ity_checks += [mean_check(f"final I(T;Y), {act} (bits)", final, ">=", MIN_ITY),
                       direction_check(f"every {act} seed keeps >= {MIN_ITY} bit", [v is not None and v >= MIN_ITY
                                                                                      for v in final])]
    out.append(Claim(id="information-plane/prediction", source=SOURCE, paper=f">= {MIN_ITY} bit (H(Y) = 1 bit)",
                     statement=f"the last hidden layer keeps I(T;Y) >= {MIN_ITY} bit at the end in both nets",
                     checks=ity_checks))
    panel_checks, measured = [], {}
    for act, net in nets.items():
        op, thr = (">=", TANH_DROP) if act == "tanh" else ("<", RELU_DROP)
        for est, d in net["compression"].items():
            if est == "layers":
                continue
            measured[f"{act} {est}"] = mean(d)
            panel_checks.append(mean_check(f"compression, {act}, {est} (bits)", d, op, thr))
        measured[f"{act} per layer ({bins} bins)"] = [mean(v) for v in zip(*net["compression"]["layers"])]
    out.append(Claim(id="information-plane/estimator-panel", source=SOURCE + " (Saxe Fig. 1, 3; 'fragile')",
                     statement="the compression depends on the estimator: bin count, layer vs fixed [-1, 1] range, KDE",
                     paper="fixed [-1, 1] bins show ReLU compression; layer-range bins and KDE do not; tanh compresses",
                     checks=panel_checks, measured=measured, reported=True))
    return out


def figures(results: dict[str, Any], spec: InformationPlaneSpec, out: Path) -> list[str]:
    nets = results["nets"]
    fig, axes = plt.subplots(1, len(nets), figsize=(5.5 * len(nets), 4.2), squeeze=False)
    plane = {}
    for ax, (act, net) in zip(axes[0], nets.items()):
        steps = net["steps"]
        norm = plt.Normalize(vmin=0, vmax=math.log10(max(steps) + 1))
        ixt = [[mean([net["ixt"][m][i][layer] for m in range(len(net["ixt"])) if net["ixt"][m][i]])
                for layer in range(len(results["layers"]))] for i in range(len(steps))]
        ity = [[mean([net["ity"][m][i][layer] for m in range(len(net["ity"])) if net["ity"][m][i]])
                for layer in range(len(results["layers"]))] for i in range(len(steps))]
        for i, s in enumerate(steps):
            c = plt.cm.viridis(norm(math.log10(s + 1)))
            ax.plot(ixt[i], ity[i], c=c, alpha=0.25)
            ax.scatter(ixt[i], ity[i], color=c, s=18, zorder=2)
        ax.set(xlabel="I(X;T) (bits)", ylabel="I(T;Y) (bits)", xlim=(0, 12.3), ylim=(0, 1.05),
               title=f"{act}: hidden layers {'-'.join(map(str, results['layers']))}, mean over seeds")
        fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap="viridis"), ax=ax, label="log10(step + 1)")
        plane[act] = {"steps": steps, "ixt": ixt, "ity": ity}
    names = [save_figure(fig, plane, out, "information_plane")]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    panel = {}
    for j, (act, net) in enumerate(nets.items()):
        ests = [e for e in net["compression"] if e != "layers"]
        means = [mean(net["compression"][e]) for e in ests]
        axes[0].bar([i + 0.4 * j for i in range(len(ests))], [0 if math.isnan(v) else v for v in means], 0.4,
                    yerr=[std(net["compression"][e]) for e in ests], label=f"{act} (mean ± std over seeds)")
        axes[0].set_xticks([i + 0.2 for i in range(len(ests))], ests, rotation=45, fontsize=8)
        for e, ls in (("layer/30", "-"), ("fixed/30", "--"), ("kde", ":")):
            if e in net["panel"]:
                curve = [mean([c[i] for c in net["panel"][e] if c[i] is not None]) for i in range(len(net["steps"]))]
                axes[1].plot([s + 1 for s in net["steps"]], curve, ls, c=f"C{j}", label=f"{act} {e}")
        panel[act] = dict(zip(ests, means))
    axes[0].axhline(TANH_DROP, c="C0", ls=":", lw=1)
    axes[0].axhline(RELU_DROP, c="C1", ls=":", lw=1)
    axes[0].set(ylabel="compression after the fit, against the no-trend null (bits)", title="(a) last hidden layer, by estimator")
    axes[0].legend(fontsize=8)
    axes[1].set(xscale="log", xlabel="step + 1", ylabel="I(X;T) of the last hidden layer (bits)",
                title="(b) the same layer over training (mean over seeds)")
    axes[1].legend(fontsize=7)
    names.append(save_figure(fig, panel, out, "information_plane_estimators"))
    return names


EXPERIMENT = Experiment(
    name="information-plane",
    title="The information plane: tanh compresses, ReLU does not, and the estimator decides",
    paper="Shwartz-Ziv & Tishby 2017, Opening the black box; Saxe et al. 2018, On the information bottleneck theory",
    claim="with bins over each layer's range, tanh's last layer loses >= .5 bit of I(X;T) after the fit, ReLU's "
          "< .2 bit, both keep I(T;Y) >= .8 bit; fixed [-1, 1] bins and KDE change the picture",
    quick_wall_s=85,  # wall of its quick run in CI (2 jobs on 2 cores, one thread each), 2026-12-07
    seed_fields=("seeds",), max_seeds=6, seed_block=3, on_digits=False,
    presets={
        # smoke: the first 800 + 200 inputs only (X uniform over them), so the KDE over all pairs is cheap
        "smoke": InformationPlaneSpec(data=DataSpec(name="bits12", n_train=800, n_test=200), seeds=(0, 1), fit_acc=0.7,
                                      probe=InformationPlane(panel_bins=(10, 30), kde_from_acc=0.0),
                                      train=TrainSpec(lr=2e-2, batch_size=256, steps=150, eval_points=5)),
        "quick": InformationPlaneSpec(),
        "full": InformationPlaneSpec(seeds=tuple(range(10)),
                                     train=TrainSpec(lr=4e-4, batch_size=256, steps=40000, eval_points=30)),
    },
    run=run, claims=claims, figures=figures,
)
