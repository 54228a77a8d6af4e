"""simplicity-bias — random networks put exponentially more probability on simple Boolean functions.

Valle-Pérez, Camargo & Louis 2019 ("Deep learning generalizes because the parameter-function map is biased towards
simple functions", Fig. 1): sample the parameters of a 7-40-40-1 ReLU net at random, read the function it computes on
all 2⁷ = 128 Boolean inputs as a 128-bit truth table, and count how often each function comes up: the probability
spans many orders of magnitude over the rank (a Zipf-like law), and it falls exponentially with the function's
Lempel–Ziv complexity C_LZ (Dingle et al. 2018's estimator, ``whynets.kernels.complexity``). De Palma, Kiani & Lloyd
2019 ("Random deep neural networks are biased towards simple functions") prove a related bias for deep ReLU nets.

Here: inputs {0, 1}⁷ in binary counting order; weights N(0, σ_w²/fan_in), biases N(0, σ_b²), σ_w² = 1, σ_b² = 1
(the setting whose numbers PHENOMENA calibrated: 24 vs 75); each seed is an independent sample of ``nets`` nets
drawn as blocks of batched matmuls (``kernels.sample_functions``). Per seed:

* Spearman(log P̂, C_LZ) over the functions seen at least twice (a function seen once has an unresolved P̂ = 1/N,
  and the ~90% of singletons tie at the bottom rank);
* the mean C_LZ of frequent functions (P̂ ≥ 4·10⁻⁵, i.e. ≥ 20 of 5·10⁵) against that of functions seen once (a
  random sample of ``once_sample`` of them, C_LZ being ~0.05 ms per string in pure Python).

σ_b = 0.1 (σ_b² = 0.01) is reported beside (PHENOMENA: report σ_b ∈ {.1, 1}). The open question — do deeper random
nets, at equal parameters, have more or less simplicity bias than shallow ones? — is measured on MLPs of 1, 2, 4, 8
hidden layers with ≈ 2000 parameters each (the 7-40-40-1 net's 2001), for both settings: the net-average C_LZ of the
function a random net computes (lower = more probability on simple functions), the probability of a constant
function, and the net-average C_LZ among non-constant functions. Reported, whichever way it comes out.

    whynets run simplicity-bias --preset quick
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.stats import spearmanr

from whynets.kernels.complexity import (boolean_inputs, count_functions, lz_complexities, mlp_param_count,
                                        pack_tables, sample_functions, unpack_tables, width_for_params)
from whynets.plotting import plt, save_figure
from whynets.spec import Spec, SpecError

from .base import Claim, Experiment, mean, mean_check, paired_check

__all__ = ["SimplicityBiasSpec", "EXPERIMENT", "function_stats"]

VALLE = "Valle-Pérez, Camargo & Louis 2019, Deep learning generalizes because the parameter-function map is biased"
RHO_MAX, RATIO_MAX = -0.5, 0.6  # PHENOMENA criteria (calibrated there at 5·10⁵ nets: −.65; 24 vs 75)


@dataclass(frozen=True)
class SimplicityBiasSpec(Spec):
    n_inputs: int = field(default=7, metadata={"help": "Boolean inputs (2^n points per truth table)"})
    hidden: tuple[int, ...] = field(default=(40, 40), metadata={"help": "hidden widths of the main net (paper: 40, 40)"})
    activation: str = field(default="relu", metadata={"help": "relu | tanh | erf | linear"})
    sigma_w2: float = field(default=1.0, metadata={"help": "weight variance × fan_in"})
    sigma_b2: float = field(default=1.0, metadata={"help": "bias variance of the gated claims (σ_b = 1)"})
    report_sigma_b2: tuple[float, ...] = field(default=(0.01,), metadata={"help": "bias variances reported beside"})
    nets: int = field(default=50_000, metadata={"help": "random nets per seed"})
    seeds: tuple[int, ...] = field(default=(0, 1, 2), metadata={"help": "one independent sample of nets per seed"})
    once_sample: int = field(default=2000, metadata={"help": "functions seen once whose C_LZ is computed"})
    frequent_p: float = field(default=4e-5, metadata={"help": "P̂ of a frequent function (20 of 5·10⁵)"})
    depths: tuple[int, ...] = field(default=(1, 2, 4, 8), metadata={"help": "hidden layers of the equal-parameter nets"})
    depth_settings: tuple[tuple[float, float], ...] = field(default=((1.0, 1.0), (2.0, 0.01)),
                                                            metadata={"help": "(σ_w², σ_b²) of the depth study"})
    depth_nets: int = field(default=3000, metadata={"help": "random nets per seed, depth and setting"})
    block: int = field(default=1024, metadata={"help": "nets per batched matmul"})

    def validate(self) -> None:
        super().validate()
        if not 2 <= self.n_inputs <= 10:
            raise SpecError(f"n_inputs={self.n_inputs}: 2..10 Boolean inputs (truth tables of 4..1024 bits)")
        if self.nets < 100 or self.depth_nets < 100:
            raise SpecError(f"nets={self.nets}, depth_nets={self.depth_nets}: sample at least 100 nets")
        if not 0 < self.frequent_p < 1:
            raise SpecError(f"frequent_p={self.frequent_p}: a probability in (0, 1)")


def function_stats(tables: torch.Tensor, counts: torch.Tensor, m: int, once_sample: int, frequent_p: float,
                   seed: int) -> dict[str, Any]:
    """Per-sample statistics of counted truth tables (``count_functions``): C_LZ of every function seen twice or
    more and of a random sample of those seen once; Spearman(log P̂, C_LZ) over the former; mean C_LZ of frequent
    functions and of singletons; the probability of the two constant functions."""
    n = int(counts.sum())
    rep = counts >= 2
    once = torch.nonzero(counts == 1)[:, 0]
    pick = once[torch.randperm(len(once), generator=torch.Generator().manual_seed(seed))[:once_sample]]
    lz_rep = lz_complexities(unpack_tables(tables[rep], m))
    lz_once = lz_complexities(unpack_tables(tables[pick], m))
    c = counts[rep].double()
    frequent = c >= max(2.0, frequent_p * n)
    rho = float(spearmanr(c.numpy(), lz_rep.numpy()).statistic) if int(rep.sum()) > 2 else float("nan")
    ones = pack_tables(torch.ones(1, m, dtype=torch.uint8))
    constant = float(counts[(tables == 0).all(1) | (tables == ones).all(1)].sum()) / n
    return {"nets": n, "distinct": len(counts), "singletons": len(once), "counts": c.long().tolist(),
            "lz": lz_rep.tolist(), "lz_once": lz_once.tolist(), "spearman": rho,
            "frequent_lz": float(lz_rep[frequent].mean()) if bool(frequent.any()) else float("nan"),
            "once_lz": float(lz_once.mean()) if len(lz_once) else float("nan"),
            "n_frequent": int(frequent.sum()), "p_constant": constant}


def _main_cell(spec: SimplicityBiasSpec, ctx, sigma_b2: float, seed: int) -> dict[str, Any]:
    def fn(_: Path) -> dict[str, Any]:
        x = boolean_inputs(spec.n_inputs)
        packed = sample_functions(x, spec.hidden, spec.nets, spec.sigma_w2, sigma_b2, spec.activation,
                                  generator=torch.Generator().manual_seed(90_000 + seed), block=spec.block)
        tables, counts = count_functions(packed)
        return function_stats(tables, counts, 2 ** spec.n_inputs, spec.once_sample, spec.frequent_p, seed)
    return ctx.cell({"part": "functions", "sigma_b2": sigma_b2, "seed": seed}, fn, n=spec.n_inputs,
                    hidden=list(spec.hidden), act=spec.activation, sigma_w2=spec.sigma_w2, nets=spec.nets,
                    block=spec.block, once=spec.once_sample, frequent=spec.frequent_p)


def _depth_cell(spec: SimplicityBiasSpec, ctx, depth: int, setting: tuple[float, float], seed: int) -> dict[str, Any]:
    params = mlp_param_count(spec.n_inputs, list(spec.hidden))
    width = width_for_params(spec.n_inputs, depth, params)

    def fn(_: Path) -> dict[str, Any]:
        x = boolean_inputs(spec.n_inputs)
        packed = sample_functions(x, [width] * depth, spec.depth_nets, setting[0], setting[1], spec.activation,
                                  generator=torch.Generator().manual_seed(70_000 + 97 * depth + seed), block=spec.block)
        tables, counts = count_functions(packed)
        lz = lz_complexities(unpack_tables(tables, 2 ** spec.n_inputs))
        w = counts.double() / counts.sum()
        const = lz <= np.log2(2 ** spec.n_inputs) + 1e-9
        p_const = float(w[const].sum())
        return {"width": width, "params": mlp_param_count(spec.n_inputs, [width] * depth),
                "mean_lz": float((w * lz).sum()), "p_constant": p_const,
                "mean_lz_nonconstant": float((w[~const] * lz[~const]).sum() / (1 - p_const)) if p_const < 1 else float("nan"),
                "distinct": len(counts)}
    return ctx.cell({"part": "depth", "depth": depth, "sigma_w2": setting[0], "sigma_b2": setting[1], "seed": seed},
                    fn, n=spec.n_inputs, params=params, act=spec.activation, nets=spec.depth_nets, block=spec.block)


def run(spec: SimplicityBiasSpec, ctx) -> dict[str, Any]:
    strip = lambda d: {k: v for k, v in d.items() if k != "cell"}  # noqa: E731
    main = {str(b): [strip(_main_cell(spec, ctx, b, s)) for s in spec.seeds]
            for b in (spec.sigma_b2, *spec.report_sigma_b2)}
    depth = {f"{w}/{b}": {str(d): [strip(_depth_cell(spec, ctx, d, (w, b), s)) for s in spec.seeds] for d in spec.depths}
             for w, b in spec.depth_settings}
    return {"main": main, "gated_sigma_b2": str(spec.sigma_b2), "depth": depth,
            "params": mlp_param_count(spec.n_inputs, list(spec.hidden))}


def _seed_values(samples: list[dict[str, Any]], key: str) -> list[float]:
    return [s[key] for s in samples]


def claims(results: dict[str, Any], spec: SimplicityBiasSpec) -> list[Claim]:
    out = []
    gated = results["main"][results["gated_sigma_b2"]]
    arch = "-".join(map(str, (spec.n_inputs, *spec.hidden, 1)))
    n = gated[0]["nets"] if gated else spec.nets
    out.append(Claim(id="simplicity-bias/probability-complexity", source=f"{VALLE} (Fig. 1)",
                     paper=f"P falls exponentially with C_LZ (Fig. 1, no coefficient given); <= {RHO_MAX}: PHENOMENA "
                           "criterion, calibrated there at −.65",
                     statement=f"random {arch} ReLU nets (σ_w² = {spec.sigma_w2}, σ_b² = {results['gated_sigma_b2']}, "
                               f"{n} per seed): Spearman(log P̂, C_LZ) over functions seen twice or more <= {RHO_MAX}",
                     checks=[mean_check("Spearman(log P̂, C_LZ), functions seen >= 2 times", _seed_values(gated, "spearman"),
                                        "<=", RHO_MAX)]))
    ratio = [s["frequent_lz"] / s["once_lz"] for s in gated]
    out.append(Claim(id="simplicity-bias/frequent-are-simple", source=f"{VALLE} (Fig. 1)",
                     paper=f"<= {RATIO_MAX} (PHENOMENA calibration at 5·10⁵ nets: C_LZ 24 vs 75)",
                     statement=f"functions with P̂ >= {spec.frequent_p:g} have a mean C_LZ <= {RATIO_MAX} × that of "
                               "functions seen once",
                     measured={"frequent": mean(_seed_values(gated, "frequent_lz")),
                               "once": mean(_seed_values(gated, "once_lz")), "ratio": mean(ratio)},
                     checks=[mean_check("mean C_LZ frequent / seen once, per sample", ratio, "<=", RATIO_MAX)]))
    others = [k for k in results["main"] if k != results["gated_sigma_b2"]]
    if others:
        checks, measured = [], {}
        for b in others:
            other = results["main"][b]
            checks += [mean_check(f"Spearman, σ_b² = {b}", _seed_values(other, "spearman"), "<=", RHO_MAX),
                       mean_check(f"C_LZ frequent / once, σ_b² = {b}", [s["frequent_lz"] / s["once_lz"] for s in other],
                                  "<=", RATIO_MAX)]
            measured[f"σ_b² = {b}"] = {k: mean(_seed_values(other, k))
                                       for k in ("spearman", "frequent_lz", "once_lz", "p_constant")}
        out.append(Claim(id="simplicity-bias/bias-scale", source=f"{VALLE} (PHENOMENA: report σ_b ∈ {{.1, 1}})",
                         paper="reported, not gated", reported=True, measured=measured, checks=checks,
                         statement="the same two statistics at the other bias scales: " + ", ".join(f"σ_b² = {b}"
                                                                                                    for b in others)))
    checks, measured = [], {}
    for setting, by_depth in results["depth"].items():
        w2, b2 = setting.split("/")
        depths = sorted(by_depth, key=int)
        shallow, deep = depths[0], depths[-1]
        checks += [paired_check(f"net-average C_LZ, {deep} − {shallow} layers (σ_w² = {w2}, σ_b² = {b2})",
                                _seed_values(by_depth[deep], "mean_lz"), _seed_values(by_depth[shallow], "mean_lz"),
                                "<", 0.0),
                   paired_check(f"the same over non-constant functions (σ_w² = {w2}, σ_b² = {b2})",
                                _seed_values(by_depth[deep], "mean_lz_nonconstant"),
                                _seed_values(by_depth[shallow], "mean_lz_nonconstant"), "<", 0.0)]
        measured[f"σ_w² = {w2}, σ_b² = {b2}"] = {
            f"{d} layers × {by_depth[d][0]['width']}": {
                "mean_lz": round(mean(_seed_values(by_depth[d], "mean_lz")), 2),
                "p_constant": round(mean(_seed_values(by_depth[d], "p_constant")), 3),
                "mean_lz_nonconstant": round(mean(_seed_values(by_depth[d], "mean_lz_nonconstant")), 2)}
            for d in depths}
    if checks:
        out.append(Claim(id="simplicity-bias/depth-equal-parameters", source="open question after Valle-Pérez et al. "
                         "2019 and De Palma et al. 2019 (reported)", paper="open: more or less bias with depth?",
                         statement=f"at ≈{results['params']} parameters, is the function a random deep net computes "
                                   "simpler (lower net-average C_LZ) than a shallow net's, and is it still when the "
                                   "constant functions are left out?", reported=True, measured=measured, checks=checks))
    return out


def figures(results: dict[str, Any], spec: SimplicityBiasSpec, out: Path) -> list[str]:
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.6))
    data = {}
    for i, (b, samples) in enumerate(results["main"].items()):
        s = samples[0]
        n = s["nets"]
        counts = np.asarray(s["counts"], float)
        ranks = np.arange(1, len(counts) + 1)
        tail = np.array([len(counts) + 1, len(counts) + s["singletons"]])
        axes[0].loglog(ranks, counts / n, c=f"C{i}", label=f"σ_b² = {b} ({n} nets)")
        axes[0].loglog(tail, [1 / n, 1 / n], c=f"C{i}", ls=":")
        jitter = np.random.default_rng(0).uniform(-0.15, 0.15, len(s["lz_once"]))
        axes[1].scatter(s["lz"], np.log10(counts / n), s=6, alpha=0.5, c=f"C{i}", label=f"σ_b² = {b}, seen >= 2")
        axes[1].scatter(s["lz_once"], np.log10(1 / n) + jitter, s=3, alpha=0.15, c=f"C{i}")
        data[b] = {"counts": s["counts"], "lz": s["lz"], "singletons": s["singletons"], "nets": n}
    axes[0].set(xlabel="rank", ylabel="P̂(f)", title="(a) rank–probability (dotted: functions seen once)")
    axes[0].legend(fontsize=8)
    axes[1].set(xlabel="C_LZ(f)", ylabel="log10 P̂(f)", title="(b) probability vs complexity (bottom band: seen once)")
    axes[1].legend(fontsize=8)
    for i, (setting, by_depth) in enumerate(results["depth"].items()):
        depths = sorted(by_depth, key=int)
        y = [mean(_seed_values(by_depth[d], "mean_lz")) for d in depths]
        y2 = [mean(_seed_values(by_depth[d], "mean_lz_nonconstant")) for d in depths]
        w2, b2 = setting.split("/")
        axes[2].plot([int(d) for d in depths], y, "o-", c=f"C{i}", label=f"all, σ_w² = {w2}, σ_b² = {b2}")
        axes[2].plot([int(d) for d in depths], y2, "s--", c=f"C{i}", label="non-constant only")
        data[f"depth {setting}"] = {"depths": depths, "mean_lz": y, "mean_lz_nonconstant": y2}
    axes[2].set(xscale="log", xlabel="hidden layers (≈2000 parameters each)", ylabel="net-average C_LZ",
                title="(c) the open question: depth at equal parameters")
    axes[2].set_xticks([int(d) for d in sorted(next(iter(results["depth"].values())), key=int)],
                       [str(d) for d in sorted(next(iter(results["depth"].values())), key=int)])
    axes[2].xaxis.set_minor_formatter(plt.NullFormatter())
    axes[2].legend(fontsize=7)
    return [save_figure(fig, data, out, "simplicity_bias")]


EXPERIMENT = Experiment(
    name="simplicity-bias",
    title="Simplicity bias: random nets favour low-complexity Boolean functions",
    paper="Valle-Pérez, Camargo & Louis 2019; De Palma, Kiani & Lloyd 2019",
    claim="random 7-40-40-1 ReLU nets put exponentially more probability on low Lempel–Ziv functions: Spearman(log P, "
          "C_LZ) <= −.5 and frequent functions' C_LZ <= .6 × that of rare ones; depth at equal parameters reported",
    quick_wall_s=21,  # wall of its quick run in CI (2 jobs on 2 cores, one thread each), 2026-12-07
    seed_fields=("seeds",), max_seeds=6,
    presets={
        "smoke": SimplicityBiasSpec(nets=3000, seeds=(0, 1), once_sample=200, depths=(1, 2), depth_nets=500,
                                    depth_settings=((1.0, 1.0),), block=1024),
        "quick": SimplicityBiasSpec(),
        "full": SimplicityBiasSpec(nets=500_000, seeds=(0, 1, 2, 3, 4), once_sample=20_000, depth_nets=100_000,
                                   depths=(1, 2, 3, 4, 6, 8), report_sigma_b2=(0.01, 0.1)),
    },
    run=run, claims=claims, figures=figures,
)
