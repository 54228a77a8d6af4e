"""edge-of-stability — Cohen, Kaur, Li, Kolter & Talwalkar 2021, "Gradient descent on neural networks typically
occurs at the edge of stability"; and the catapult of Lewkowycz, Bahri, Dyer, Sohl-Dickstein & Gur-Ari 2020.

(1) Edge of stability. Cohen et al.'s fc-tanh network (two hidden layers of 200 tanh units, PyTorch's default init)
on MNIST-1D with squared error on one-hot targets, trained by full-batch gradient descent at several steps η. The
probe ``Sharpness`` reads λ_max of the training-loss Hessian (Lanczos) at every measurement. Gradient descent on a
quadratic with curvature λ is stable only while λ < 2/η; the sharpness rises during training (progressive sharpening)
until it reaches 2/η, then hovers there while the loss keeps falling, non-monotonically.

(2) Catapult. A wide one-hidden-layer ReLU net (NTK parametrization) at initialization has sharpness λ₀ (the same
Lanczos reading). With η < 2/λ₀ training is lazy: the loss falls monotonically and the curvature barely moves. With
2/λ₀ < η < 4/λ₀ (the catapult window of Lewkowycz et al.'s model) the loss first grows, the curvature collapses until
λ < 2/η, and training converges in that flatter region. Each seed's step is set from its own λ₀.

Calibrated from PHENOMENA's proposal (1000 examples, 2/η in {30, 60, 120}) to 500 examples and 2/η in {20, 30, 60},
from pilot runs (seed 0): with 1000 examples the net reached 2/η = 60 only after ~2250 steps (loss 0.42) and its loss
was 0.33 at step 3000, so the 0.3× drop at the edge needs several thousand steps more than a quick budget; at
2/η = 120 the sharpness never reached 120 — 114 at step 8000 with 500 examples, when the loss had already converged to
0.03 (74 at step 8000 with 1000 examples and a 100-100-100 net) — so that run has no edge phase and the claim's
premise fails. 2/η = 20 (from λ_max(0) ≈ 13-16) keeps three step sizes on one figure.

    whynets run edge-of-stability --preset quick
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from whynets.data import DataSpec
from whynets.engine import TrainSpec, population_for
from whynets.models import ModelSpec
from whynets.plotting import plt, save_figure
from whynets.spec import Spec, SpecError

from ._dynamics import Sharpness, sharpness
from .base import Claim, Experiment, direction_check, fact_check, mean, mean_check

COHEN = "Cohen et al. 2021, Fig. 1 caption and abstract (fc-tanh, squared loss, full-batch GD)"
LEWKOWYCZ = ("Lewkowycz et al. 2020, §2 (catapult phase 2/λ₀ < η < 4/λ₀ of their solvable model) and §3 (wide nets, "
             "MSE); section numbers as recalled, not verified: the stored copies hold the abstract only")


@dataclass(frozen=True)
class EdgeOfStabilitySpec(Spec):
    data: DataSpec = field(default_factory=lambda: DataSpec(n_train=500, n_test=100))
    model: ModelSpec = field(default_factory=lambda: ModelSpec(kind="mlp", width=200, depth=2, activation="tanh"),
                             metadata={"help": "Cohen et al.'s fc-tanh: two hidden layers of 200, PyTorch init"})
    seeds: tuple[int, ...] = field(default=(0, 1, 2), metadata={"help": "members per step size"})
    limits: tuple[float, ...] = field(default=(20.0, 30.0, 60.0),
                                      metadata={"help": "2/η of each run (the step is η = 2/limit)"})
    budgets: tuple[int, ...] = field(default=(1500, 2100, 4500), metadata={"help": "steps of each run"})
    measurements: int = field(default=30, metadata={"help": "sharpness readings per run (evenly spaced)"})
    lanczos_tol: float = field(default=1e-3, metadata={"help": "Lanczos residual tolerance (relative to λ_max)"})
    band: tuple[float, float] = field(default=(0.9, 1.2),
                                      metadata={"help": "median sharpness after reaching 2/η, in units of 2/η"})
    loss_drop: float = field(default=0.3, metadata={"help": "final loss / loss where λ_max first reached 2/η"})
    edge_by: float = field(default=2 / 3, metadata={"help": "λ_max must reach 2/η within this share of the steps"})
    catapult_data: DataSpec = field(default_factory=lambda: DataSpec(n_train=256, n_test=100))
    catapult_model: ModelSpec = field(default_factory=lambda: ModelSpec(
        kind="mlp", width=1024, depth=1, activation="relu", init="gaussian", parametrization="ntk", sigma_w2=2.0),
        metadata={"help": "a wide net in NTK parametrization"})
    catapult_seeds: tuple[int, ...] = field(default=(0, 1, 2), metadata={"help": "one run per seed and step"})
    catapult_steps: tuple[float, float] = field(default=(1.0, 3.0),
                                                metadata={"help": "η·λ₀ of the lazy control and of the catapult run"})
    catapult_budget: int = field(default=100, metadata={"help": "steps of each catapult run"})
    converge_to: float = field(default=0.1, metadata={"help": "catapult: final loss / initial loss at most this"})


def _first_edge(rows: list[dict[str, Any]], k: int, limit: float) -> int | None:
    for i, r in enumerate(rows):
        value = r["sharpness"][k]
        if value is not None and value >= limit:
            return i
    return None


def _member(rows: list[dict[str, Any]], k: int, limit: float, diverged: bool) -> dict[str, Any]:
    i = None if diverged else _first_edge(rows, k, limit)
    out: dict[str, Any] = {"lambda0": rows[0]["sharpness"][k], "edge_step": None, "median_ratio": None,
                           "loss_at_edge": None, "final_loss": rows[-1]["train_loss"][k], "loss_ratio": None,
                           "diverged": diverged}
    if i is not None:
        after = [r["sharpness"][k] for r in rows[i:] if r["sharpness"][k] is not None]
        loss = [r["train_loss"][k] for r in rows[i:]]
        out.update(edge_step=rows[i]["step"], median_ratio=statistics.median(after) / limit,
                   loss_at_edge=loss[0], loss_ratio=loss[-1] / loss[0],
                   loss_rises=sum(b > a for a, b in zip(loss, loss[1:])), readings_after=len(loss) - 1)
    return out


def _edge_runs(spec: EdgeOfStabilitySpec, ctx) -> dict[str, Any]:
    if len(spec.limits) != len(spec.budgets) or not spec.limits:
        raise SpecError(f"edge-of-stability: limits={spec.limits} and budgets={spec.budgets} need one budget per limit")
    runs = {}
    for limit, steps in zip(spec.limits, spec.budgets):
        every = max(1, steps // spec.measurements)
        train = TrainSpec(optimizer="sgd", momentum=0.0, batch_size=0, lr=2.0 / limit, steps=steps, loss="mse",
                          eval_every=every)
        out = ctx.train({"part": "edge", "limit": limit}, spec.model, spec.data, train, spec.seeds,
                        probe=Sharpness(loss="mse", tol=spec.lanczos_tol))
        rows = [r for r in out["history"] if "sharpness" in r]
        runs[str(limit)] = {
            "limit": limit, "lr": 2.0 / limit, "steps": steps, "wall_s": out["wall_s"],
            "members": [_member(rows, k, limit, out["diverged"][k]) for k in range(len(spec.seeds))],
            "curve": {"step": [r["step"] for r in rows], "sharpness": [r["sharpness"] for r in rows],
                      "train_loss": [r["train_loss"] for r in rows]}}
    return runs


def _catapult(spec: EdgeOfStabilitySpec, ctx) -> dict[str, Any]:
    if len(spec.catapult_steps) != 2:
        raise SpecError("edge-of-stability: catapult_steps needs two values of η·λ₀ (lazy, catapult)")

    def init(_) -> dict[str, Any]:
        ds = ctx.data(spec.catapult_data)
        pop = population_for(spec.catapult_model, ds, spec.catapult_seeds)
        return {"lambda0": [sharpness(pop.member(k), ds, "mse", "float64", 1e-4, max_steps=60) for k in range(pop.size)]}

    lam0 = ctx.cell({"part": "catapult-init"}, init, model=spec.catapult_model, data=spec.catapult_data,
                    seeds=list(spec.catapult_seeds))["lambda0"]
    out: dict[str, Any] = {"lambda0": lam0, "runs": {}}
    for factor in spec.catapult_steps:
        members = []
        for seed, l0 in zip(spec.catapult_seeds, lam0):
            train = TrainSpec(optimizer="sgd", momentum=0.0, batch_size=0, lr=factor / l0, steps=spec.catapult_budget,
                              loss="mse", eval_points=25)
            res = ctx.train({"part": "catapult", "factor": factor, "seed": seed}, spec.catapult_model,
                            spec.catapult_data, train, [seed], probe=Sharpness(loss="mse", tol=1e-3, max_steps=30))
            rows = [r for r in res["history"] if "sharpness" in r]
            loss = [r["train_loss"][0] for r in rows]
            finite = [v for v in loss if v is not None and math.isfinite(v)]
            end = rows[-1]["sharpness"][0]
            members.append({"seed": seed, "lr": factor / l0, "diverged": res["diverged"][0], "wall_s": res["wall_s"],
                            "initial_loss": loss[0], "peak_ratio": max(finite) / loss[0], "final_ratio": loss[-1] / loss[0],
                            "final_loss": loss[-1], "end_sharpness": end,
                            "end_over_limit": None if end is None else end * factor / l0 / 2,
                            "step": [r["step"] for r in rows], "loss": loss,
                            "sharpness": [r["sharpness"][0] for r in rows]})
        out["runs"][str(factor)] = {"factor": factor, "members": members}
    return out


def run(spec: EdgeOfStabilitySpec, ctx) -> dict[str, Any]:
    edge = _edge_runs(spec, ctx)
    catapult = _catapult(spec, ctx)
    wall = sum(r["wall_s"] for r in edge.values())
    wall += sum(m["wall_s"] for r in catapult["runs"].values() for m in r["members"])
    return {"edge": edge, "catapult": catapult, "wall_s": wall}


def _vals(run: dict[str, Any], key: str) -> list[float | None]:
    return [m[key] for m in run["members"]]


def claims(results: dict[str, Any], spec: EdgeOfStabilitySpec) -> list[Claim]:
    edge = sorted(results["edge"].values(), key=lambda r: r["limit"])
    sharpen, hover, fall = [], [], []
    for r in edge:
        limit, eta = r["limit"], f"η = 2/{r['limit']:g}"
        reached = [m["edge_step"] is not None and m["edge_step"] <= spec.edge_by * r["steps"] for m in r["members"]]
        sharpen += [direction_check(f"{eta}: λ_max(0) < 2/η", [m["lambda0"] is not None and m["lambda0"] < limit
                                                              for m in r["members"]]),
                    direction_check(f"{eta}: λ_max reaches 2/η within {spec.edge_by:.0%} of {r['steps']} steps",
                                    reached)]
        if not all(m["edge_step"] is not None for m in r["members"]):
            # the premise (every member at the edge) failed: these claims fail; raise budgets=... to fix it
            missing = fact_check(f"{eta}: every member reached 2/η (the premise)", False)
            hover.append(missing)
            fall.append(missing)
            continue
        hover.append(mean_check(f"{eta}: median λ_max after reaching 2/η, in units of 2/η",
                                _vals(r, "median_ratio"), "within", tuple(spec.band)))
        fall.append(mean_check(f"{eta}: final loss / loss where λ_max reached 2/η", _vals(r, "loss_ratio"), "<=",
                               spec.loss_drop))
    measured = {f"2/{r['limit']:g}": {"lambda0": mean(_vals(r, "lambda0")), "edge_step": _vals(r, "edge_step"),
                                      "median_ratio": _vals(r, "median_ratio"), "loss_ratio": _vals(r, "loss_ratio"),
                                      "loss rises between readings at the edge": [m.get("loss_rises")
                                                                                  for m in r["members"]]}
                for r in edge}
    out = [Claim(id="edge-of-stability/progressive-sharpening", source=COHEN,
                 statement="for every η the sharpness starts below 2/η and rises to it (progressive sharpening)",
                 paper="λ_max rises to 2/η for every η (Fig. 1, bottom row)", checks=sharpen,
                 measured={k: {"lambda0": v["lambda0"], "edge_step": v["edge_step"]} for k, v in measured.items()}),
           Claim(id="edge-of-stability/hovers-at-2-over-eta", source=COHEN,
                 statement="once λ_max reaches 2/η it hovers there for the rest of training, for every η",
                 paper={"Fig. 1": "hovers right at, or just above, 2/η",
                        "our calibration (PHENOMENA)": f"median in [{spec.band[0]:g}, {spec.band[1]:g}]·2/η"},
                 checks=hover, measured={k: v["median_ratio"] for k, v in measured.items()}),
           Claim(id="edge-of-stability/loss-keeps-falling", source=COHEN,
                 statement="at the edge of stability the training loss keeps falling over the long run",
                 paper={"Fig. 1": "the loss decreases over long timescales, non-monotonically",
                        "our calibration (PHENOMENA)": f"final <= {spec.loss_drop:g} × the loss on reaching 2/η"},
                 checks=fall, measured={k: {"final/at the edge": v["loss_ratio"],
                                            "rises between readings (non-monotone)":
                                                v["loss rises between readings at the edge"]}
                                        for k, v in measured.items()})]
    return out + _catapult_claims(results["catapult"], spec)


def _catapult_claims(cat: dict[str, Any], spec: EdgeOfStabilitySpec) -> list[Claim]:
    lazy_f, jump_f = spec.catapult_steps
    lazy, jump = cat["runs"][str(lazy_f)], cat["runs"][str(jump_f)]
    logs = [math.log(v) if v and v > 0 else None for v in _vals(jump, "peak_ratio")]
    spike = Claim(id="edge-of-stability/catapult-spike", source=LEWKOWYCZ,
                  statement=f"above η = 2/λ₀ (η·λ₀ = {jump_f:g}) the loss first grows; below it (η·λ₀ = {lazy_f:g}) "
                            "it never exceeds its initial value",
                  paper={"§2": "the loss grows early in training for 2/λ₀ < η < 4/λ₀; lazy below 2/λ₀",
                         "our calibration": "the peak is at least twice the initial loss"},
                  measured={"peak/initial loss": {str(lazy_f): _vals(lazy, "peak_ratio"),
                                                  str(jump_f): _vals(jump, "peak_ratio")}},
                  checks=[mean_check(f"log(peak loss / initial loss) at η·λ₀ = {jump_f:g}", logs, ">=", math.log(2.0)),
                          direction_check(f"η·λ₀ = {lazy_f:g}: the loss never exceeds its initial value",
                                          [v is not None and v <= 1.0 for v in _vals(lazy, "peak_ratio")])])
    flatter = Claim(id="edge-of-stability/catapult-flatter", source=LEWKOWYCZ,
                    statement=f"the catapult run (η·λ₀ = {jump_f:g}) ends where λ_max < 2/η, flatter than where it "
                              "started; the lazy run's curvature stays put",
                    paper="λ_max decreases below 2/η during the catapult and training converges there (§2)",
                    measured={"λ_end·η/2": {str(lazy_f): _vals(lazy, "end_over_limit"),
                                            str(jump_f): _vals(jump, "end_over_limit")},
                              "λ₀": cat["lambda0"]},
                    checks=[mean_check(f"λ_max(end) / (2/η) at η·λ₀ = {jump_f:g}", _vals(jump, "end_over_limit"),
                                       "<", 1.0)])
    finite = [not m["diverged"] and m["final_loss"] is not None and math.isfinite(m["final_loss"])
              for m in jump["members"]]
    converges = Claim(id="edge-of-stability/catapult-converges", source=LEWKOWYCZ,
                      statement=f"after the spike the catapult run (η·λ₀ = {jump_f:g}) converges",
                      paper={"§2": "converges for η < η_max = 4/λ₀ (the model's bound)",
                             "our calibration": f"final loss <= {spec.converge_to:g} × initial in "
                                                f"{spec.catapult_budget} steps"},
                      measured={"final/initial loss": _vals(jump, "final_ratio")},
                      checks=[direction_check("no catapult run diverged", finite),
                              mean_check(f"final loss / initial loss at η·λ₀ = {jump_f:g}",
                                         [v if ok else None for v, ok in zip(_vals(jump, "final_ratio"), finite)],
                                         "<=", spec.converge_to)])
    return [spike, flatter, converges]


def figures(results: dict[str, Any], spec: EdgeOfStabilitySpec, out: Path) -> list[str]:
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    edge = sorted(results["edge"].values(), key=lambda r: r["limit"])
    for i, r in enumerate(edge):
        c, color = r["curve"], colors[i % len(colors)]
        for k in range(len(r["members"])):
            label = f"η = 2/{r['limit']:g}" if k == 0 else None
            axes[0, 0].plot(c["step"], [row[k] for row in c["train_loss"]], color=color, alpha=0.7, lw=1, label=label)
            axes[0, 1].plot(c["step"], [row[k] for row in c["sharpness"]], color=color, alpha=0.7, lw=1, label=label)
        axes[0, 1].axhline(r["limit"], color=color, ls="--", lw=1)
    axes[0, 0].set(yscale="log", xlabel="step", ylabel="training loss (MSE)", title="(a) full-batch GD, fc-tanh")
    axes[0, 1].set(xlabel="step", ylabel="sharpness λ_max", title="(b) sharpness rises to 2/η (dashed) and hovers")
    axes[0, 0].legend(fontsize=8)
    axes[0, 1].legend(fontsize=8)
    cat = results["catapult"]
    for i, (factor, r) in enumerate(sorted(cat["runs"].items(), key=lambda kv: float(kv[0]))):
        color = colors[(i + 3) % len(colors)]
        for k, m in enumerate(r["members"]):
            label = f"η·λ₀ = {float(factor):g}" if k == 0 else None
            axes[1, 0].plot(m["step"], m["loss"], color=color, alpha=0.7, lw=1, label=label)
            axes[1, 1].plot(m["step"], [None if s is None else s / cat["lambda0"][k] for s in m["sharpness"]],
                            color=color, alpha=0.7, lw=1, label=label)
        axes[1, 1].axhline(2 / float(factor), color=color, ls="--", lw=1)
    axes[1, 0].set(yscale="log", xlabel="step", ylabel="training loss (MSE)",
                   title="(c) catapult: a wide ReLU net, η above 2/λ₀")
    axes[1, 1].set(xlabel="step", ylabel="λ_max / λ₀", title="(d) the catapult lands below its 2/η (dashed)")
    for ax in axes[1]:
        ax.set_xscale("symlog", linthresh=1.0)
        ax.set_xlim(0, spec.catapult_budget)
    axes[1, 0].legend(fontsize=8)
    axes[1, 1].legend(fontsize=8)
    fig.tight_layout()
    data = {"edge": {str(r["limit"]): r["curve"] for r in edge},
            "catapult": {f: [{k: m[k] for k in ("step", "loss", "sharpness")} for m in r["members"]]
                         for f, r in cat["runs"].items()}}
    return [save_figure(fig, data, out, "edge_of_stability")]


_SMOKE = EdgeOfStabilitySpec(
    data=DataSpec(n_train=100, n_test=20), model=ModelSpec(kind="mlp", width=16, depth=2, activation="tanh"),
    seeds=(0, 1), limits=(5.0, 8.0), budgets=(60, 60), measurements=6,
    catapult_data=DataSpec(n_train=40, n_test=10), catapult_seeds=(0, 1), catapult_budget=30,
    catapult_model=ModelSpec(kind="mlp", width=64, depth=1, activation="relu", init="gaussian", parametrization="ntk"))

EXPERIMENT = Experiment(
    name="edge-of-stability",
    title="Full-batch gradient descent runs at the edge of stability; large steps catapult to flatter regions",
    paper="Cohen, Kaur, Li, Kolter & Talwalkar 2021; Lewkowycz, Bahri, Dyer, Sohl-Dickstein & Gur-Ari 2020",
    claim="λ_max rises to 2/η and hovers there while the loss keeps falling; a step above 2/λ₀ spikes the loss and "
          "lands where λ_max < 2/η",
    quick_wall_s=91,  # wall of its quick run in CI (2 jobs on 2 cores, one thread each), 2026-12-07
    seed_fields=("seeds", "catapult_seeds"), max_seeds=6, seed_block=3,
    presets={
        "smoke": _SMOKE,
        "quick": EdgeOfStabilitySpec(),
        "full": EdgeOfStabilitySpec(seeds=(0, 1, 2, 3, 4), limits=(20.0, 30.0, 60.0, 90.0),
                                    budgets=(2000, 3000, 5000, 9000), measurements=60,
                                    catapult_seeds=(0, 1, 2, 3, 4), catapult_budget=300),
    },
    run=run, claims=claims, figures=figures,
)
