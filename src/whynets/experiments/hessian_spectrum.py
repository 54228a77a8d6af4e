"""hessian-spectrum — Sagun, Bottou & LeCun 2017 / Sagun et al. 2018; Papyan 2019.

The Hessian of a trained classifier's loss is a bulk of eigenvalues near zero plus a few outliers,
about as many as there are classes (C = 10 for MNIST-1D); the data set the outliers, the parameters
the bulk, so the bulk's share grows with width; the negative eigenvalues are small next to λ_max.

Two parts. (1) Outliers: the MNIST-1D MLP 40-100-100-10 (15k parameters), Adam; whenever its training
loss lies in ``window`` (.3–1, before it interpolates: at near-zero loss the gap after C blurs), the top
2C+1 eigenvalues by Lanczos (float64). The outlier count is the eigengap rule
k* = argmax_{1≤k≤2C} λ_k / λ_{k+1} (the largest relative drop among the top 2C+1); the claim reads
the median k* over seeds and in-window measurements. (2) Bulk and negative eigenvalues: one-hidden-
layer MLPs of several widths (0.4–1.6k parameters), whose FULL Hessians are formed exactly (float64,
one Hessian-vector product per coordinate) and diagonalized where each member first reaches a matched
training loss (``sweep_train.fit_loss``: a wider net reaches a lower loss in the same steps, which would confound
the bulk's growth with width); the bulk is |λ| ≤ ``bulk_tol``·λ_max.

    whynets run hessian-spectrum --preset quick
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from whynets.data import Dataset, DataSpec
from whynets.engine import TrainSpec, population_for
from whynets.measure.hvp import ModelLoss
from whynets.measure.curvature import eigengap_outliers, exact_hessian_eigenvalues
from whynets.models import ModelSpec
from whynets.plotting import plt, save_figure
from whynets.probes import InitCurvature, OutlierCount
from whynets.spec import Spec

from whynets.stats import contrast_interval

from .base import Check, Claim, Experiment, Prediction, bootstrap_check, direction_check, fact_check, mean

SOURCE = "Sagun et al. 2017 (Fig. 1-3); Papyan 2019 (outliers = classes)"


@dataclass(frozen=True)
class HessianSpectrumSpec(Spec):
    data: DataSpec = field(default_factory=DataSpec)
    model: ModelSpec = field(default_factory=lambda: ModelSpec(kind="mlp", width=100, depth=2))
    seeds: tuple[int, ...] = field(default=(0, 1, 2), metadata={"help": "members of the outlier-count run"})
    # Adam 1e-3, batch 100: the training loss crosses .3–1 between ~600 and ~2000 steps
    train: TrainSpec = field(default_factory=lambda: TrainSpec(lr=1e-3, batch_size=100, steps=2000, eval_every=400))
    window: tuple[float, float] = field(default=(0.3, 1.0),
                                        metadata={"help": "training-loss window where outliers are counted"})
    lanczos_tol: float = field(default=1e-3, metadata={"help": "Lanczos residual tolerance (relative to λ_max)"})
    widths: tuple[int, ...] = field(default=(8, 16, 32), metadata={"help": "hidden units of the exact-Hessian MLPs 40-h-10"})
    sweep_seeds: tuple[int, ...] = field(default=(0, 1, 2), metadata={"help": "members per width of the exact-Hessian sweep"})
    # every member stops at its first check (every 50 steps) with training loss <= 1.5, so all widths are compared at
    # a matched loss (without it the wider nets end at lower loss, a confound of the bulk's growth)
    sweep_train: TrainSpec = field(default_factory=lambda: TrainSpec(lr=1e-3, batch_size=100, steps=8000, eval_points=2,
                                                                     fit_loss=1.5, fit_check_every=50, stop_at_fit=True))
    bulk_tol: float = field(default=1e-3, metadata={"help": "|λ| <= bulk_tol·λ_max counts as the bulk near zero"})


def _loss_model(model: torch.nn.Module, ds: Dataset) -> ModelLoss:
    return ModelLoss(model, F.cross_entropy, [(ds.x, ds.y)], dtype=torch.float64)


def outlier_count(eigenvalues: list[float], n_classes: int) -> int:
    """The eigengap rule (``measure.curvature.eigengap_outliers``)."""
    return eigengap_outliers(eigenvalues, n_classes)


def exact_spectrum(model_loss: ModelLoss, block: int = 256) -> torch.Tensor:
    """All eigenvalues (descending) of the exact Hessian (``measure.curvature.exact_hessian_eigenvalues``)."""
    return exact_hessian_eigenvalues(model_loss, block)


def _summary(eigs: list[float], bulk_tol: float, n_classes: int) -> dict[str, Any]:
    lam_max, lam_min = eigs[0], eigs[-1]
    n = len(eigs)
    return {"n_params": n, "lambda_max": lam_max, "lambda_min": lam_min,
            "bulk_share": sum(abs(v) <= bulk_tol * lam_max for v in eigs) / n,
            "negative_share": sum(v < 0 for v in eigs) / n, "neg_ratio": abs(min(lam_min, 0.0)) / lam_max,
            "outliers": outlier_count(eigs, n_classes), "top": eigs[: 2 * n_classes + 1]}


def run(spec: HessianSpectrumSpec, ctx) -> dict[str, Any]:
    ds = ctx.data(spec.data)
    C = ds.n_classes
    res = ctx.train({"part": "outliers"}, spec.model, spec.data, spec.train, spec.seeds,
                    probe=OutlierCount(window=spec.window, lanczos_tol=spec.lanczos_tol))
    points = [{"step": r["step"], "seed": s, "loss": r["loss64"][i], "top": r["top"][i], "outliers": r["outliers"][i]}
              for r in res["history"] if "top" in r for i, s in enumerate(spec.seeds) if r["top"][i] is not None]
    outliers = {"points": points, "wall_s": res["wall_s"], "final_train_loss": res["final"]["train_loss"],
                "curve": {"step": [r["step"] for r in res["history"]],
                          "train_loss": [mean(r["train_loss"]) for r in res["history"]]}}
    sweep = {}
    for width in spec.widths:
        model = ModelSpec(kind="mlp", width=width, depth=1)
        out = ctx.train({"part": "exact", "width": width}, model, spec.data, spec.sweep_train, spec.sweep_seeds,
                        probe=InitCurvature(), keep_state=True)

        def spectra(_, model=model, trained=out) -> dict[str, Any]:
            pop = population_for(model, ds, spec.sweep_seeds)
            state = ctx.state(trained)
            pop.load_state_dict({"params": state.params, "buffers": state.buffers})
            return {"spectrum": [exact_spectrum(_loss_model(pop.member(m), ds)).tolist() for m in range(pop.size)]}

        spec_cell = ctx.cell({"part": "exact-spectra", "width": width}, spectra, trained=out["cell"])
        init = out["history"][0]
        members = [dict(_summary(eigs, spec.bulk_tol, C), init_max=init["init_max"][i], init_min=init["init_min"][i],
                        train_loss=out["final"]["train_loss"][i], stop_step=out["fit_step"][i], spectrum=eigs)
                   for i, eigs in enumerate(spec_cell["spectrum"])]
        sweep[str(width)] = {"width": width, "members": members, "wall_s": out["wall_s"],
                             **{k: mean([m[k] for m in members]) for k in
                                ("bulk_share", "negative_share", "neg_ratio", "lambda_max", "train_loss", "n_params")}}
    return {"n_classes": C, "outliers": outliers, "sweep": sweep,
            "wall_s": res["wall_s"] + sum(v["wall_s"] for v in sweep.values())}


def claims(results: dict[str, Any], spec: HessianSpectrumSpec) -> list[Claim]:
    C = results["n_classes"]
    counts = [p["outliers"] for p in results["outliers"]["points"]]
    median = bootstrap_check(f"median k* over {len(counts)} in-window measurements", np.median, [counts], "within",
                             (C - 1.0, C + 1.0)) if counts else fact_check("some measurement in the loss window", False)
    out = [Claim(id="hessian-spectrum/outliers-about-C", source=SOURCE, paper=C, measured={"counts": counts},
                 statement=f"a gap separates about C = {C} outliers from the bulk (eigengap rule k* = argmax_k "
                           f"λ_k/λ_(k+1), k ≤ 2C, at training loss in [{spec.window[0]:g}, {spec.window[1]:g}])",
                 checks=[median],
                 expected=Prediction(
                     outcome=f"fewer than C outliers: the median k* within [C/2, C − 1] = [{C / 2:g}, {C - 1}]",
                     why="Papyan 2020: the outliers are the class means of the gradients, and a class this small MLP "
                         "separates weakly (MNIST-1D, ~60% test accuracy) gives an outlier at the bulk's edge that the "
                         "eigengap rule does not count; Papyan's C clean outliers are deep nets on well-separated "
                         "classes (PHENOMENA pilot: no clean gap after C)",
                     checks=[bootstrap_check(f"median k* over {len(counts)} in-window measurements", np.median,
                                             [counts], "within", (C / 2, C - 1.0))] if counts
                     else [fact_check("some measurement in the loss window", False)]))]
    S = results["sweep"]
    widths = sorted(S, key=int)
    table = [[S[w]["members"][i]["bulk_share"] for w in widths] for i in range(len(S[widths[0]]["members"]))]
    bulk = []
    for j, w in enumerate(widths):
        weights = [1.0 if i == j else 0.0 for i in range(len(widths))]
        bulk.append(Check(name=f"mean bulk share (h={w})", op=">=", threshold=0.30,
                          interval=contrast_interval(table, weights, paired=False)))
    out.append(Claim(id="hessian-spectrum/bulk-near-zero", source="Sagun et al. 2017, Fig. 1-2",
                     statement=f"a large share of the eigenvalues sits in a bulk near zero (|λ| <= {spec.bulk_tol:g}·λ_max)",
                     paper="bulk ≈ all but ~C eigenvalues", checks=bulk))
    logw = [math.log(int(w)) for w in widths]
    centre = sum(logw) / len(logw)
    norm = sum((v - centre) ** 2 for v in logw)
    slope = [(v - centre) / norm for v in logw]  # least-squares slope of bulk share against log width
    losses = {w: [m["train_loss"] for m in S[w]["members"]] for w in widths}
    out.append(Claim(id="hessian-spectrum/bulk-grows-with-width", source="Sagun et al. 2018, §3 (more parameters widen the bulk)",
                     statement="at a matched training loss, the bulk's share of eigenvalues grows with width",
                     paper="increasing", measured={"bulk_share": {w: S[w]["bulk_share"] for w in widths},
                                                   "train_loss": {w: mean(v) for w, v in losses.items()}},
                     checks=[Check(name="slope of bulk share vs log(width) (least squares over widths)", op=">",
                                   threshold=0.0, interval=contrast_interval(table, slope, paired=False)),
                             fact_check(f"every member stopped at training loss <= {spec.sweep_train.fit_loss:g} "
                                        "(matched loss)", all(m["stop_step"] is not None for w in widths
                                                              for m in S[w]["members"]))]))
    ratios = [m["neg_ratio"] for w in widths for m in S[w]["members"]]
    out.append(Claim(id="hessian-spectrum/small-negative", source="Sagun et al. 2017, Fig. 3",
                     statement="at the end of training the negative eigenvalues are small relative to λ_max",
                     paper="small (≪ λ_max)", measured={"max_end": max(ratios), "init": {
                         w: max(abs(m["init_min"]) / m["init_max"] for m in S[w]["members"]) for w in widths}},
                     checks=[direction_check("|λ_min|/λ_max <= 0.05 for every width and seed (exact spectra)",
                                             [r <= 0.05 for r in ratios])]))
    return out


def figures(results: dict[str, Any], spec: HessianSpectrumSpec, out: Path) -> list[str]:
    C = results["n_classes"]
    pts = results["outliers"]["points"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for p in pts:
        axes[0].semilogy(range(1, len(p["top"]) + 1), p["top"], ".-", alpha=0.6, lw=0.8,
                         label=f"seed {p['seed']}, loss {p['loss']:.2f}")
    axes[0].axvline(C + 0.5, ls=":", c="gray")
    axes[0].set(xlabel="k", ylabel="λ_k", title=f"(a) top {2 * C + 1} eigenvalues, MLP 40-100-100-10")
    axes[0].legend(fontsize=6, ncol=2)
    counts = [p["outliers"] for p in pts]
    axes[1].scatter([p["loss"] for p in pts], counts)
    axes[1].axhline(C, ls=":", c="gray", label=f"C = {C}")
    axes[1].set(xlabel="training loss", ylabel="outliers k* (eigengap rule)", title="(b) outlier count")
    axes[1].legend(fontsize=8)
    S = results["sweep"]
    for w, v in sorted(S.items(), key=lambda kv: int(kv[0])):
        eigs = torch.tensor(v["members"][0]["spectrum"])
        scaled = eigs / eigs[0]
        axes[2].hist(torch.sign(scaled) * torch.log10(1 + scaled.abs() * 1e4), bins=80, histtype="step",
                     label=f"h={w} ({v['n_params']:.0f} params): bulk {v['bulk_share']:.2f}")
    axes[2].set(xlabel="sign(λ)·log10(1 + 10⁴|λ|/λ_max)", ylabel="count", yscale="log",
                title="(c) exact spectra, MLP 40-h-10 (seed 0)")
    axes[2].legend(fontsize=7)
    data = {"top": [{k: p[k] for k in ("seed", "step", "loss", "top", "outliers")} for p in pts],
            "bulk_share": {w: v["bulk_share"] for w, v in S.items()},
            "neg_ratio": {w: v["neg_ratio"] for w, v in S.items()}}
    return [save_figure(fig, data, out, "hessian_spectrum")]


EXPERIMENT = Experiment(
    name="hessian-spectrum",
    title="The Hessian spectrum: a bulk near zero plus about C outliers",
    paper="Sagun, Bottou & LeCun 2017 / Sagun, Evci, Güney, Dauphin & Bottou 2018; Papyan 2019",
    claim="bulk near zero + ~C outliers; the bulk grows with the parameters; negative eigenvalues are small",
    quick_wall_s=112,  # wall of its quick run in CI (2 jobs on 2 cores, one thread each), 2026-12-07
    seed_fields=("seeds", "sweep_seeds"), max_seeds=6, seed_block=3,  # new seeds cost one block
    on_digits=True,
    presets={
        "smoke": HessianSpectrumSpec(
            data=DataSpec(n_train=300, n_test=100), model=ModelSpec(width=16, depth=2), seeds=(0,),
            train=TrainSpec(lr=1e-2, batch_size=100, steps=30, eval_every=10), window=(0.0, 10.0), widths=(4, 8),
            sweep_seeds=(0, 1), sweep_train=TrainSpec(lr=1e-2, batch_size=100, steps=20, eval_points=2, fit_loss=2.2,
                                                      fit_check_every=5, stop_at_fit=True)),
        "quick": HessianSpectrumSpec(),
        "full": HessianSpectrumSpec(seeds=(0, 1, 2, 3, 4), widths=(8, 16, 32, 64), sweep_seeds=(0, 1, 2),
                                    train=TrainSpec(lr=1e-3, batch_size=100, steps=2400, eval_every=200)),
    },
    run=run, claims=claims, figures=figures,
)
