"""effective-dimensionality — Maddox, Benton & Wilson 2020, "Rethinking parameter counting in deep models".

N_eff(H, z) = Σ λ_i / (λ_i + z) over the eigenvalues of the training-loss Hessian counts the parameter
directions the data determine. Over a model-wise double-descent sweep the parameter count grows
monotonically, while N_eff rises up to the interpolation threshold and falls beyond it, tracking
the test loss's double descent: a wider net that interpolates sits in a flatter minimum.

Here: MLPs 40-h-h-10 on n = 1000 MNIST-1D examples with 15% label noise, SGD to interpolation (no
weight decay, no early stopping). All widths of a bucket train as one population padded to its widest
member (``models.padding``: exact), with ``keep_params`` so a second cell per bucket can take each
trained net (unpadded), its top-50 Hessian eigenvalues on the training set by Lanczos
(``measure.lanczos.hessian_eigenpairs``) and N_eff with z = 1 (``measure.effdim``). This sweep is
its own (n = 1000 keeps it within the CI budget); the double-descent experiment runs the n = 4000 one.

    whynets run effective-dimensionality --preset quick
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch.nn.functional as F

from whynets.data import DataSpec
from whynets.engine import TrainSpec, mix_seed
from whynets.measure.effdim import effective_dimensionality
from whynets.measure.lanczos import hessian_eigenpairs
from whynets.models import ModelSpec, n_params
from whynets.engine import padded_population, width_buckets
from whynets.models.padding import unpad_mlp
from whynets.plotting import plt, save_figure
from whynets.spec import Spec, SpecError

from whynets.stats import contrast_interval, simulated_interval

from .base import Check, Claim, Experiment, direction_check, mean, mean_check

SOURCE = "Maddox, Benton & Wilson 2020, Rethinking parameter counting in deep models, double descent"


@dataclass(frozen=True)
class EffectiveDimensionalitySpec(Spec):
    data: DataSpec = field(default_factory=lambda: DataSpec(n_train=1000, label_noise=0.15))
    model: ModelSpec = field(default_factory=lambda: ModelSpec(kind="mlp", depth=2))
    widths: tuple[int, ...] = field(default=(4, 6, 8, 11, 16, 23, 32, 45, 64, 128, 256),
                                    metadata={"help": "hidden units h of the MLP 40-h-h-10 (ascending)"})
    seeds: tuple[int, ...] = field(default=(0, 1), metadata={"help": "one padded sweep of all widths per seed"})
    buckets: int = field(default=3, metadata={"help": "populations per sweep, each padded to its widest member"})
    top_k: int = field(default=50, metadata={"help": "Hessian eigenvalues (largest) entering N_eff"})
    z: float = field(default=1.0, metadata={"help": "N_eff regularization scale (prior precision)"})
    lanczos_steps: int = field(default=120, metadata={"help": "most Hessian-vector products per net"})
    lanczos_tol: float = field(default=1e-3, metadata={"help": "relative eigenvalue-error target of Lanczos"})
    fit_threshold: float = field(default=0.01, metadata={"help": "train error counted as interpolation"})
    # SGD lr .01, momentum .9, batch 100, no weight decay: 4000 steps = 400 epochs of 1000 examples
    train: TrainSpec = field(default_factory=lambda: TrainSpec(optimizer="sgd", lr=0.01, momentum=0.9, batch_size=100,
                                                               steps=4000, eval_points=10))


def lanczos_seed(width: int, seed: int) -> int:
    """The Lanczos start vector's seed for one (width, seed) net: independent of its place in a bucket."""
    return mix_seed(width, seed, "lanczos") % 2**31


def _hessians(ctx, spec, bucket: list[int], ws: list[int], ss: list[int], trained: dict[str, Any]) -> dict[str, Any]:
    def fn(cell_dir: Path) -> dict[str, Any]:
        ds = ctx.data(spec.data).to(ctx.device)
        pop = padded_population(spec.model, ws, ds.input_shape, ds.n_classes, ss, device=ctx.device)
        state = ctx.state(trained)
        pop.load_state_dict({"params": state.params, "buffers": state.buffers})
        rows = []
        for i, w in enumerate(ws):
            net = unpad_mlp(pop.member(i), w).eval()
            pairs = hessian_eigenpairs(net, F.cross_entropy, [(ds.x, ds.y)], k=min(spec.top_k, n_params(net)),
                                       max_steps=spec.lanczos_steps, tol=spec.lanczos_tol, criterion="eigenvalue",
                                       seed=lanczos_seed(w, ss[i]))
            lam = pairs.eigenvalues.double().cpu()
            rows.append({"width": w, "seed": ss[i], "params": n_params(net), "eigenvalues": lam.tolist(),
                         "n_eff": effective_dimensionality(lam, spec.z), "converged": pairs.converged,
                         "matvecs": pairs.num_matvecs})
        return {"rows": rows}

    return ctx.cell({"hessian": "-".join(map(str, bucket))}, fn, trained=trained["cell"], k=spec.top_k,
                    steps=spec.lanczos_steps, tol=spec.lanczos_tol, z=spec.z)


def run(spec: EffectiveDimensionalitySpec, ctx) -> dict[str, Any]:
    if list(spec.widths) != sorted(set(spec.widths)):
        raise SpecError("effective-dimensionality: widths must be distinct and ascending")
    per: dict[int, list[dict[str, Any]]] = {w: [] for w in spec.widths}
    wall = 0.0
    for bucket in width_buckets(spec.widths, spec.buckets):
        ws = [w for w in bucket for _ in spec.seeds]
        ss = [s for _ in bucket for s in spec.seeds]
        out = ctx.train({"widths": "-".join(map(str, bucket))}, spec.model, spec.data, spec.train, ss, widths=ws,
                        keep_state=True)
        wall += out["wall_s"]
        hess = _hessians(ctx, spec, bucket, ws, ss, out)
        for i, row in enumerate(hess["rows"]):
            final = {name: values[i] for name, values in out["final"].items()}
            per[row["width"]].append(dict(row, train_err=1 - final["train_acc"], test_err=1 - final["test_acc"],
                                          test_loss=final["test_loss"], train_loss=final["train_loss"]))
    ws = list(spec.widths)
    avg = lambda name: [mean([r[name] for r in per[w]]) for w in ws]
    return {"widths": ws, "params": [per[w][0]["params"] for w in ws], "n_eff": avg("n_eff"),
            "test_loss": avg("test_loss"), "test_err": avg("test_err"), "train_err": avg("train_err"),
            "top_eigenvalue": [mean([r["eigenvalues"][0] for r in per[w]]) for w in ws],
            "per_seed": {str(w): [{k: r[k] for k in ("seed", "n_eff", "test_loss", "test_err", "train_err", "converged",
                                                     "matvecs", "eigenvalues")} for r in per[w]] for w in ws},
            "compute_s": wall}


def _argmax(values) -> int:
    values = list(values)
    return max(range(len(values)), key=lambda i: values[i])


def _table(results: dict[str, Any], key: str) -> list[list[float]]:
    """seeds × widths (the members of one seed share its data order across widths: paired)."""
    ws = results["widths"]
    return [[results["per_seed"][str(w)][j][key] for w in ws] for j in range(len(results["per_seed"][str(ws[0])]))]


def claims(results: dict[str, Any], spec: EffectiveDimensionalitySpec) -> list[Claim]:
    """Seed noise pooled over the widths: contrasts for differences, a parametric bootstrap of the same noise
    for the location of a peak (an argmax, which no t-interval describes)."""
    ws, neff, loss = results["widths"], results["n_eff"], results["test_loss"]
    neff_t, loss_t = _table(results, "n_eff"), _table(results, "test_loss")
    i_neff, i_loss = _argmax(neff), _argmax(loss)
    last = len(ws) - 1
    fit = next((w for w, e in zip(ws, results["train_err"]) if e <= spec.fit_threshold), None)
    per_seed = {str(s): {"n_eff_peak": ws[_argmax(n)], "test_loss_peak": ws[_argmax(t)]}
                for s, n, t in zip(spec.seeds, neff_t, loss_t)}

    def contrast(table, i, j):
        w = [0.0] * len(ws)
        w[i] += 1.0
        w[j] -= 1.0
        return contrast_interval(table, w)

    interior = Check(name="argmax test loss (grid index)", op="within", threshold=(1.0, last - 1.0),
                     interval=simulated_interval(lambda c: float(_argmax(c)), loss_t))
    return [
        Claim(id="effective-dimensionality/test-loss-double-descent", source=SOURCE, paper="double descent of test loss",
              statement=f"with {spec.data.label_noise:.0%} label noise the test loss rises to a peak and falls again "
                        "with width",
              measured={"peak_width": ws[i_loss], "peak": loss[i_loss], "widest": loss[-1], "first_fit_width": fit},
              checks=[interior, Check(name=f"test loss(peak h={ws[i_loss]}) − test loss(widest)", op=">", threshold=0.0,
                                      interval=contrast(loss_t, i_loss, last))]),
        Claim(id="effective-dimensionality/neff-tracks-test-loss", source=SOURCE, paper="N_eff and test loss peak together",
              statement="N_eff of the Hessian peaks where the test loss peaks",
              measured={"n_eff_peak_width": ws[i_neff], "test_loss_peak_width": ws[i_loss], "per_seed": per_seed},
              checks=[Check(name=f"argmax N_eff − argmax test loss (grid steps; widths {ws}; N_eff from top-{spec.top_k} "
                                 f"Lanczos eigenvalues, z = {spec.z:g})", op="within", threshold=(-1.0, 1.0),
                            interval=simulated_interval(lambda a, b: float(_argmax(a) - _argmax(b)), neff_t, loss_t)),
                      direction_check("within one grid step in every seed",
                                      [abs(_argmax(n) - _argmax(t)) <= 1 for n, t in zip(neff_t, loss_t)])]),
        # the parameter count grows with width by construction of the grid: stated, not gated
        Claim(id="effective-dimensionality/params-grow-neff-falls", source=SOURCE,
              statement="while the parameter count grows with width (by construction), N_eff falls past its peak",
              paper="N_eff decreases for wider interpolating models",
              measured={"params": [results["params"][0], results["params"][-1]], "n_eff_peak": neff[i_neff],
                        "n_eff_widest": neff[-1]},
              checks=[mean_check(f"N_eff(widest) / N_eff(h={ws[i_neff]}), per seed", [n[-1] / n[i_neff] for n in neff_t],
                                 "<=", 0.5),
                      Check(name="N_eff(peak) − N_eff(widest)", op=">", threshold=0.0,
                            interval=contrast(neff_t, i_neff, last))]),
    ]


def figures(results: dict[str, Any], spec: EffectiveDimensionalitySpec, out: Path) -> list[str]:
    ws = results["widths"]
    fig, axes = plt.subplots(1, 2, figsize=(13, 4), gridspec_kw={"wspace": 0.5})
    axes[0].plot(ws, results["test_loss"], "o-", c="C0", label="test loss")
    axes[0].set(xscale="log", xlabel="hidden units h", ylabel="test loss (cross-entropy)", title="(a) double descent")
    err = axes[0].twinx()
    err.plot(ws, [100 * e for e in results["test_err"]], "s--", c="C1", label="test error")
    err.plot(ws, [100 * e for e in results["train_err"]], "^:", c="C2", label="train error")
    err.set_ylabel("error (%)")
    lines = axes[0].get_lines() + err.get_lines()
    axes[0].legend(lines, [ln.get_label() for ln in lines], loc="center right", fontsize=8)
    axes[1].plot(ws, results["n_eff"], "o-", c="C3", label=f"N_eff (top {spec.top_k}, z = {spec.z:g})")
    axes[1].set(xscale="log", xlabel="hidden units h", ylabel="effective dimensionality",
                title="(b) N_eff vs parameter count")
    par = axes[1].twinx()
    par.plot(ws, results["params"], "s--", c="gray", label="parameters")
    par.set(yscale="log", ylabel="parameters")
    lines = axes[1].get_lines() + par.get_lines()
    axes[1].legend(lines, [ln.get_label() for ln in lines], loc="upper right", fontsize=8)
    data = {k: results[k] for k in ("widths", "params", "n_eff", "test_loss", "test_err", "train_err")}
    return [save_figure(fig, data, out, "effective_dimensionality")]


EXPERIMENT = Experiment(
    name="effective-dimensionality",
    title="Effective dimensionality tracks double descent; parameter count does not",
    paper="Maddox, Benton & Wilson 2020, Rethinking parameter counting in deep models: "
          "effective dimensionality revisited",
    claim="N_eff of the Hessian peaks with the test loss at the interpolation threshold and falls for wider nets, "
          "while the parameter count keeps growing",
    quick_wall_s=28,  # wall of its quick run in CI (2 jobs on 2 cores, one thread each), 2026-12-07
    seed_fields=("seeds",), max_seeds=4,
    on_digits=True,
    presets={
        "smoke": EffectiveDimensionalitySpec(data=DataSpec(n_train=100, n_test=100, label_noise=0.15),
                                             widths=(2, 4, 8, 16), seeds=(0,), buckets=2, top_k=5, lanczos_steps=20,
                                             train=TrainSpec(optimizer="sgd", lr=0.01, momentum=0.9, batch_size=50,
                                                             steps=30, eval_points=3)),
        "quick": EffectiveDimensionalitySpec(),
        "full": EffectiveDimensionalitySpec(data=DataSpec(label_noise=0.15), seeds=(0, 1, 2),
                                            widths=(2, 4, 5, 8, 11, 17, 24, 35, 50, 71, 102, 146, 209, 300),
                                            lanczos_steps=200, train=TrainSpec(optimizer="sgd", lr=0.01, momentum=0.9,
                                                                               batch_size=100, steps=20000,
                                                                               eval_points=30)),
    },
    run=run, claims=claims, figures=figures,
)
