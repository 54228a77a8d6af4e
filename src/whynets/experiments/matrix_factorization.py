"""matrix-factorization — implicit regularization of deep matrix factorization (Gunasekar et al. 2017,
"Implicit regularization in matrix factorization"; Arora, Cohen, Hu & Luo 2019, "Implicit regularization
in deep matrix factorization").

Complete a random rank-r matrix (100×100, r = 5, ‖M‖_F = sqrt(mn)) from a uniformly random subset of
its entries by plain full-batch gradient descent on W = W_N ⋯ W_1 (N = 1, 2, 3) from a small
initialization (1e-3, as Arora et al.); nothing in the loss asks for low rank. We sweep the number of
observed entries and compare with the minimum-nuclear-norm completion (ADMM with a dual certificate,
``whynets.solvers.matrix_completion``). Expected: depth 1 leaves the unobserved entries at ~0 (error 1);
depth 2 finds roughly the minimum-nuclear-norm completion (Gunasekar et al.'s conjecture); deeper
factorizations find lower effective rank and recover M from fewer entries (Arora et al., Fig. 2).

    whynets run matrix-factorization --preset quick
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from whynets.solvers.matrix_completion import (factorized_gd, low_rank_matrix, min_nuclear_norm_completion,
                                               observation_mask)
from whynets.plotting import plt, save_figure
from whynets.spec import Spec, SpecError

from .base import Claim, Experiment, Prediction, direction_check, mean, mean_check, paired_check

SOURCE = "Gunasekar et al. 2017; Arora et al. 2019, Fig. 2"


@dataclass(frozen=True)
class MatrixFactorizationSpec(Spec):
    size: int = field(default=100, metadata={"help": "the matrix is size × size"})
    rank: int = field(default=5, metadata={"help": "rank of the ground-truth matrix"})
    matrix_seed: int = field(default=0, metadata={"help": "seed of the ground-truth matrix"})
    mask_seeds: tuple[int, ...] = field(default=(0, 1), metadata={"help": "one random observation mask per seed"})
    observations: tuple[int, ...] = field(default=(1000, 1500, 2000, 2500, 3000, 4000),
                                          metadata={"help": "numbers of observed entries (sweep)"})
    depths: tuple[int, ...] = field(default=(1, 2, 3), metadata={"help": "factorization depths N"})
    init_scale: float = field(default=1e-3, metadata={"help": "end-to-end init scale α (Arora et al.: 1e-3)"})
    steps: int = field(default=10000, metadata={"help": "GD steps (lr: the instrument's default, ~¼ of stability)"})
    recover_tol: float = field(default=0.1, metadata={"help": "claim: relative error on unobserved entries = recovered"})
    nuclear_tol: float = field(default=0.05, metadata={"help": "claim: |‖W_depth2‖_* / min ‖X‖_* − 1|"})
    gate_observations: int = field(default=2000, metadata={"help": "#observed entries the claims gate at (PHENOMENA: "
                                                                   "2000); the sweep is reported around it"})


def _cell(spec: MatrixFactorizationSpec, n_obs: int, mask_seed: int) -> dict[str, Any]:
    truth = low_rank_matrix(spec.size, spec.size, spec.rank, seed=spec.matrix_seed)
    mask = observation_mask(spec.size, spec.size, n_obs, seed=mask_seed)
    observed_sq = float(((truth * mask) ** 2).sum())
    out: dict[str, Any] = {}
    for depth in spec.depths:
        wall, cpu = time.perf_counter(), time.process_time()
        r = factorized_gd(truth, mask, depth, init_scale=spec.init_scale, steps=spec.steps, seed=mask_seed)
        out[f"depth={depth}"] = {
            "test_error": r["test_error"], "effective_rank": r["effective_rank"], "nuclear_norm": r["nuclear_norm"],
            "relative_train_residual": (2 * r["train_loss"] / observed_sq) ** 0.5, "steps": r["steps"], "lr": r["lr"],
            "wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}
    wall, cpu = time.perf_counter(), time.process_time()
    r = min_nuclear_norm_completion(truth, mask)
    out["min-nuclear"] = {
        "test_error": r["test_error"], "effective_rank": r["effective_rank"], "nuclear_norm": r["nuclear_norm"],
        "lower_bound": r["lower_bound"], "certified_gap": (r["nuclear_norm"] - r["lower_bound"]) / r["nuclear_norm"],
        "converged": r["converged"], "iterations": r["iterations"],
        "wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}
    out["wall_s"] = sum(v["wall_s"] for v in out.values())
    return out


def _logged(ctx, key: dict[str, Any], cell: dict[str, Any]) -> dict[str, Any]:
    """Append the freshly computed cell's numbers to the run's metrics.jsonl."""
    row = {"n_obs": key["n_obs"], "mask_seed": key["mask_seed"], "wall_s": cell["wall_s"]}
    row.update({f"{m}/{k}": v[k] for m, v in cell.items() if isinstance(v, dict)
                for k in ("test_error", "effective_rank", "nuclear_norm", "wall_s")})
    ctx.store.append_metrics(row)
    return cell


def run(spec: MatrixFactorizationSpec, ctx) -> dict[str, Any]:
    if not spec.depths or min(spec.depths) < 1:
        raise SpecError(f"matrix-factorization: depths must be >= 1, got {spec.depths}")
    cells: dict[str, dict[str, Any]] = {}
    with ctx.bar("matrix-factorization", len(spec.observations) * len(spec.mask_seeds)) as advance:
        for n_obs in spec.observations:
            for seed in spec.mask_seeds:
                key = {"n_obs": n_obs, "mask_seed": seed}
                cell = ctx.cell(key, lambda _: _logged(ctx, key, _cell(spec, n_obs, seed)), size=spec.size,
                                rank=spec.rank, matrix_seed=spec.matrix_seed, init=spec.init_scale, steps=spec.steps,
                                depths=list(spec.depths))
                cells[f"{n_obs}/{seed}"] = cell
                ctx.log(f"matrix-factorization: {n_obs} entries, mask {seed}: {cell['wall_s']:.1f}s")
                advance(1)
    methods = [f"depth={d}" for d in spec.depths] + ["min-nuclear"]
    sweep = {}  # method -> metric -> list over observations (mean over mask seeds)
    for m in methods:
        sweep[m] = {metric: [mean([cells[f"{n}/{s}"][m][metric] for s in spec.mask_seeds]) for n in spec.observations]
                    for metric in ("test_error", "effective_rank", "nuclear_norm")}
    if "depth=2" in sweep:
        sweep["depth=2"]["nuclear_ratio"] = [
            mean([cells[f"{n}/{s}"]["depth=2"]["nuclear_norm"] / cells[f"{n}/{s}"]["min-nuclear"]["nuclear_norm"]
                  for s in spec.mask_seeds]) for n in spec.observations]
    truth = low_rank_matrix(spec.size, spec.size, spec.rank, seed=spec.matrix_seed)
    return {"observations": list(spec.observations), "sweep": sweep, "cells": cells,
            "truth_nuclear_norm": float(torch.linalg.svdvals(truth).sum()),
            "max_certified_gap": max(c["min-nuclear"]["certified_gap"] for c in cells.values())}


def _first_recovery(errors: list[float], observations: list[int], tol: float) -> int | None:
    ok = [n for n, e in zip(observations, errors) if e <= tol]
    return min(ok) if ok else None


def claims(results: dict[str, Any], spec: MatrixFactorizationSpec) -> list[Claim]:
    """Gated at ``gate_observations`` entries (PHENOMENA's 2000), over the observation masks (t-intervals);
    the sweep around it is reported and checked per mask (direction checks)."""
    obs, cells, tol, at = results["observations"], results["cells"], spec.recover_tol, spec.gate_observations
    masks = spec.mask_seeds
    if at not in obs:
        return [Claim(id="matrix-factorization/deep-recovers", source=SOURCE, paper="recovery at depth >= 2",
                      statement="depth >= 2 recovers the unobserved entries", skipped=f"{at} entries not in the sweep")]
    err = {d: [cells[f"{at}/{m}"][f"depth={d}"]["test_error"] for m in masks] for d in spec.depths}
    nuc = [cells[f"{at}/{m}"]["min-nuclear"]["test_error"] for m in masks]
    out = []
    if 1 in spec.depths:
        out.append(Claim(id="matrix-factorization/shallow-fails", source=SOURCE, paper="error 1 (nothing learned off "
                         "the observed entries)", statement=f"depth 1 (plain GD on W) leaves the unobserved entries "
                         f"at ~0: relative error ~1 at {at} entries",
                         checks=[mean_check(f"mean relative test error (depth 1, {at} entries)", err[1], ">=", 0.9)]))
    for d in [d for d in spec.depths if d >= 2]:
        name = f"mean relative test error (depth {d}, {at} entries)"
        track = f"error(depth 2) − error(min-nuclear completion), {at} entries (paired over masks)"
        out.append(Claim(id=f"matrix-factorization/depth{d}-recovers", source=SOURCE,
                         paper={"Arora et al. 2019, Fig. 2": "depth >= 2 recovers a low-rank matrix from few entries",
                                "our calibration (PHENOMENA pilot)": "depth 2 .043, depth 3 .000 at 2000 entries"},
                         statement=f"a depth-{d} factorization from small init recovers the matrix from {at} entries",
                         measured={f"depth={d}": mean(err[d]), "min-nuclear": mean(nuc)},
                         checks=[mean_check(name, err[d], "<=", tol)],
                         expected=Prediction(
                             outcome="depth 2 lands on the minimum-nuclear-norm completion (its error within "
                                     f"{tol:g} of that completion's), so it recovers exactly where that completion "
                                     "does",
                             why="Gunasekar et al. 2017: gradient descent on a depth-2 factorization from small init "
                                 "converges to the minimum-nuclear-norm completion; whether that recovers a rank-"
                                 f"{spec.rank} matrix from {at} entries is nuclear-norm minimization's own threshold",
                             checks=[paired_check(track, err[2], nuc, "within", (-tol, tol))]) if d == 2 else None))
    if 2 in spec.depths and 3 in spec.depths:
        out.append(Claim(id="matrix-factorization/depth3-beats-depth2", source="Arora et al. 2019, Fig. 2", paper="lower",
                         statement=f"at {at} entries depth 3 completes with lower error and rank <= 6",
                         checks=[paired_check(f"error(depth 2) − error(depth 3) at {at} entries", err[2], err[3], ">", 0.0),
                                 mean_check(f"mean effective rank (depth 3, {at} entries)",
                                            [cells[f"{at}/{m}"]["depth=3"]["effective_rank"] for m in masks], "<=", 6.0)]))
    if "depth=2" in results["sweep"]:
        ratios = [cells[f"{at}/{m}"]["depth=2"]["nuclear_norm"] / cells[f"{at}/{m}"]["min-nuclear"]["nuclear_norm"]
                  for m in masks]
        out.append(Claim(id="matrix-factorization/depth2-min-nuclear", source="Gunasekar et al. 2017, Conjecture / Fig. 1",
                         statement="the depth-2 solution's nuclear norm is that of the minimum-nuclear-norm completion",
                         paper=1.0, measured={"at_gate": mean(ratios), "sweep": dict(zip(map(str, obs),
                                                                                         results["sweep"]["depth=2"]["nuclear_ratio"]))},
                         checks=[mean_check(f"mean ‖W₂‖_* / min‖X‖_* at {at} entries (ADMM certified gap <= "
                                            f"{results['max_certified_gap']:.1e})", ratios, "within",
                                            (1 - spec.nuclear_tol, 1 + spec.nuclear_tol))]))
    names = [d for d in sorted(spec.depths)]
    if len(names) >= 2:
        ordered = [all(cells[f"{n}/{m}"][f"depth={a}"]["effective_rank"] >= cells[f"{n}/{m}"][f"depth={b}"]["effective_rank"]
                       for a, b in zip(names, names[1:])) for n in obs for m in masks]
        out.append(Claim(id="matrix-factorization/deeper-lower-rank", source="Arora et al. 2019, Fig. 2 (right)",
                         statement="deeper factorizations find completions of lower effective rank",
                         paper="decreasing with depth", measured={f"depth={d}": dict(zip(map(str, obs), results["sweep"][f"depth={d}"]["effective_rank"])) for d in names},
                         checks=[direction_check("effective rank non-increasing in depth, at every #observations and "
                                                 "mask", ordered)]))
        big = max(obs) + 1
        firsts = []
        for m in masks:
            per = [_first_recovery([cells[f"{n}/{m}"][f"depth={d}"]["test_error"] for n in obs], obs, tol) for d in names]
            firsts.append(per)
        fewer = [all((big if a is None else a) > (big if b is None else b) for a, b in zip(p, p[1:])) and p[-1] is not None
                 for p in firsts]
        out.append(Claim(id="matrix-factorization/deeper-needs-fewer", source="Arora et al. 2019, Fig. 2 (left)",
                         statement="deeper factorizations recover the matrix from fewer observed entries",
                         paper="decreasing with depth", measured={f"mask {m}": dict(zip(map(str, names), p))
                                                                  for m, p in zip(masks, firsts)},
                         checks=[direction_check(f"fewest #observations with error <= {tol:g} strictly decreases with "
                                                 "depth, every mask", fewer)]))
    return out


def figures(results: dict[str, Any], spec: MatrixFactorizationSpec, out: Path) -> list[str]:
    obs, sweep = results["observations"], results["sweep"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    for m, v in sweep.items():
        style = "k--" if m == "min-nuclear" else "o-"
        axes[0].plot(obs, [max(e, 1e-6) for e in v["test_error"]], style, label=m)
        axes[1].plot(obs, v["effective_rank"], style, label=m)
    axes[0].axhline(spec.recover_tol, ls=":", c="gray")
    axes[0].set(yscale="log", xlabel="observed entries", ylabel="relative error on unobserved entries",
                title=f"(a) recovery, {spec.size}×{spec.size} rank {spec.rank}")
    axes[1].axhline(spec.rank, ls=":", c="gray", label="true rank")
    axes[1].set(yscale="log", xlabel="observed entries", ylabel="effective rank", title="(b) effective rank")
    data = {"observations": obs, "sweep": sweep}
    if "depth=2" in sweep:
        axes[2].plot(obs, sweep["depth=2"]["nuclear_ratio"], "o-", c="C1")
        axes[2].axhspan(1 - spec.nuclear_tol, 1 + spec.nuclear_tol, color="gray", alpha=0.2, label="claim band")
        axes[2].set(xlabel="observed entries", ylabel="‖W₂‖_* / min ‖X‖_*", title="(c) depth 2 vs min nuclear norm")
        axes[2].legend(fontsize=8)
    for ax in axes[:2]:
        ax.legend(fontsize=8)
    fig.tight_layout()
    return [save_figure(fig, data, out, "matrix_factorization")]


EXPERIMENT = Experiment(
    name="matrix-factorization",
    title="Deep matrix factorization: implicit low-rank / low-nuclear-norm regularization",
    paper="Gunasekar et al. 2017, Implicit regularization in matrix factorization; Arora, Cohen, Hu & Luo 2019, "
          "Implicit regularization in deep matrix factorization",
    claim="GD on depth >= 2 factorizations from small init completes low-rank matrices; deeper needs fewer entries",
    quick_wall_s=63,  # wall of its quick run in CI (2 jobs on 2 cores, one thread each), 2026-12-07
    seed_fields=("mask_seeds",), max_seeds=4,
    presets={
        "smoke": MatrixFactorizationSpec(size=20, rank=1, mask_seeds=(0, 1), observations=(120, 250), steps=600,
                                         gate_observations=250),
        "quick": MatrixFactorizationSpec(),
        "full": MatrixFactorizationSpec(mask_seeds=(0, 1, 2, 3, 4),
                                        observations=(1000, 1500, 2000, 2500, 3000, 3500, 4000, 5000), steps=20000),
    },
    run=run, claims=claims, figures=figures,
    cpu_on_auto=("tiny factor matrices, thousands of small steps: "
                 "over 470 s on an H100 shared by 4-6 runs, against 227 s on one CPU core")
)
