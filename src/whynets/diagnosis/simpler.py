"""Question 1 — could a simpler model do as well?

Three kinds of simpler model, each a point on one chart of test score against size:

* lottery tickets (Frankle & Carbin 2019; Frankle, Dziugaite, Roy & Carbin 2020): iterative magnitude pruning of
  the user's architecture, re-trained with the user's recipe — layer-wise and global, survivors rewound to
  initialization (the user's ``--init`` when given) or to an early step k — with the paper's two controls at the
  sparsest round: the same mask with a fresh initialization, and a random mask of the same per-layer sparsity;
* students (Ba & Caruana 2014): one-hidden-layer MLPs (and the user's architecture at smaller widths, when the
  factory's width keyword is known) trained to match the user's model's logits on a transfer set larger than the
  training set, beside the same students trained on the labels alone;
* classical baselines (the "simpler thing I tried"): logistic regression, an RBF kernel machine, boosted trees,
  k-nearest neighbours (``solvers.classical``), each with its size.

Each point is judged against the user's own test score: within ε (points of accuracy, or percent of MSE) on the
side of its interval, paired with the user's model on the same test examples (``stats.paired_score_interval``: the
test-sample noise and the re-training seeds' noise both enter; a model fit once carries the test-sample part only),
kept inside the metric's range. A degenerate interval (no variation at all) gives no verdict.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

import math

import numpy as np

from whynets.claims import Check
from whynets.stats import paired_score_interval, t_interval
from whynets.data import Dataset, DataSpec, save_tensors_file
from whynets.engine import Population, mix_seed, population_for
from whynets.engine.state import load_tensors, save_tensors
from whynets.measure.distill import transfer_set
from whynets.measure.pruning import layer_rates, magnitude_masks, mask_stats, prunable, random_masks, sparsity_for_rounds
from whynets.models import ModelSpec
from whynets.spec import SpecError
from whynets.solvers.classical import classical_baselines

from .core import init_state_cell, n_params
from .spec import DiagnoseSpec

__all__ = ["question_simpler", "score_of", "within", "score_table", "reference_row"]

MASKS = "masks.safetensors"


def score_of(result_final: dict[str, list[float]], regression: bool) -> list[float]:
    """Per-member test score: accuracy in points, or test MSE."""
    return [v if regression else 100 * v for v in result_final["test_loss" if regression else "test_acc"]]


def score_table(outcomes: list[list], n: int, regression: bool) -> np.ndarray:
    """Seeds × test examples: 100 (right) / 0 (wrong) per example from the wrong indices, or the squared errors."""
    if regression:
        return np.asarray(outcomes, dtype=np.float64).reshape(len(outcomes), n)
    table = np.full((len(outcomes), n), 100.0)
    for k, wrong in enumerate(outcomes):
        table[k, wrong] = 0.0
    return table


def reference_row(ref: dict[str, Any], regression: bool) -> np.ndarray:
    """The user's model on each test example, in the units of ``score_table``."""
    return score_table([ref["test_sq_errors"] if regression else ref["test_wrong"]], ref["n_test"], regression)[0]


def within(name: str, table: np.ndarray, ref_row: np.ndarray, ref: float, eps: float, regression: bool) -> Check:
    """Does the method reach the user's score within ε (points of accuracy / percent of MSE)? Decided on the
    interval paired with the user's model on the same test examples."""
    iv = paired_score_interval(table, ref_row, binary=not regression, bounds=(0.0, math.inf) if regression else
                               (0.0, 100.0))
    if regression:
        return Check(name=f"{name}: test MSE (yours {ref:.4g} +{eps:g}%)", op="<=", threshold=ref * (1 + eps / 100),
                     interval=iv, values=table.mean(1).tolist())
    return Check(name=f"{name}: test accuracy (yours {ref:.2f} − ε={eps:g})", op=">=", threshold=ref - eps,
                 interval=iv, values=table.mean(1).tolist())


def _verdict_of(check: Check) -> dict[str, Any]:
    iv = check.interval
    degenerate = iv.method.startswith("degenerate")
    return {"verdict": "no verdict" if degenerate else check.verdict, "estimate": iv.estimate,
            "interval": [iv.lo, iv.hi], "method": iv.method, "criterion": check.criterion}


def _round_masks(ctx, spec: DiagnoseSpec, trained: dict[str, Any], previous: dict[str, torch.Tensor] | None,
                 scope: str, round_: int) -> dict[str, torch.Tensor]:
    """A cell: the masks after ``round_`` rounds, from the weights the previous round trained (kept in a file)."""
    def fn(cell_dir: Path) -> dict[str, Any]:
        params = ctx.state(trained).params
        names = prunable(params, stacked=True)
        if scope == "layerwise":
            rates = {n: sparsity_for_rounds(round_, r) for n, r in layer_rates(names, spec.prune_rate).items()}
            masks = magnitude_masks(params, 0.0, scope="layerwise", previous=previous, rates=rates, stacked=True)
        else:
            out = names[-1]  # the output layer at half the rate, outside the global pool (Frankle & Carbin)
            masks = magnitude_masks(params, sparsity_for_rounds(round_, spec.prune_rate), scope="global",
                                    previous=previous, rates={out: sparsity_for_rounds(round_, spec.prune_rate / 2)},
                                    stacked=True)
        save_tensors({n: m.to(torch.uint8) for n, m in masks.items()}, cell_dir / MASKS)
        stats = mask_stats(masks, stacked=True)
        return {"cell": cell_dir.name, "sparsity": stats["sparsity"], "kept_fraction": stats["kept_fraction"]}

    cell = ctx.cell({"stage": "masks", "scope": scope, "round": round_}, fn, require=(MASKS,), trained=trained["cell"],
                    rate=spec.prune_rate)
    tensors, _ = load_tensors(ctx.store.cell_dir(cell["cell"]) / MASKS)
    return {n: t.bool() for n, t in tensors.items()}


def _nonzero(total: int, masks: dict[str, torch.Tensor], member: int) -> int:
    pruned = sum(int((~m[member]).sum()) for m in masks.values())
    return total - pruned


def _tickets(ctx, spec: DiagnoseSpec, ds: Dataset, train, regression: bool) -> dict[str, Any]:
    """The dense re-training, the IMP series (scope × rewind point), and the two controls."""
    seeds = list(spec.seeds)
    label = {"stage": "dense"}
    init = init_state_cell(ctx, spec, ds, seeds)
    k = spec.rewind_step
    to_k = ctx.train(dict(label, phase="to-k"), spec.model, spec.data, train, seeds, until=k, parent=init)
    dense = ctx.train(label, spec.model, spec.data, train, seeds, parent=to_k, keep_state=True, outcomes=True)
    rewinds = {k: to_k}
    if k > 0:
        rewinds[0] = init or ctx.train(dict(label, phase="init"), spec.model, spec.data, train, seeds, until=0)
    total = n_params(population_for(spec.model, ds, [seeds[0]]).member(0))
    series, last = [], None
    for scope in spec.prune_scopes:
        for point in sorted(rewinds) if scope == "layerwise" else [max(rewinds)]:
            rows, trained, masks = [], dense, None
            for r in range(1, spec.prune_rounds + 1):
                masks = _round_masks(ctx, spec, trained, masks, scope, r)
                trained = ctx.train({"stage": "ticket", "scope": scope, "rewind": point, "round": r}, spec.model,
                                    spec.data, train, seeds, parent=rewinds[point], fresh_optimizer=point > 0,
                                    masks=masks, keep_state=True, outcomes=True)
                rows.append({"round": r, "scores": score_of(trained["final"], regression),
                             "outcomes": trained["test_outcomes"],
                             "nonzero": [_nonzero(total, masks, m) for m in range(len(seeds))],
                             "train_scores": score_of({"test_loss": trained["final"]["train_loss"],
                                                       "test_acc": trained["final"]["train_acc"]}, regression)})
            series.append({"scope": scope, "rewind": point, "rows": rows})
            if last is None:
                last = (scope, point, masks)
    scope, point, masks = last
    reinit = ctx.train({"stage": "control", "kind": "fresh-init", "scope": scope}, spec.model, spec.data, train,
                       [mix_seed(s, "fresh-init") % 2**31 for s in seeds], masks=masks, outcomes=True)
    rand = random_masks(masks, torch.Generator().manual_seed(mix_seed(seeds[0], "random-mask")), stacked=True)
    random_ = ctx.train({"stage": "control", "kind": "random-mask", "scope": scope}, spec.model, spec.data, train, seeds,
                        parent=rewinds[point], fresh_optimizer=point > 0, masks=rand, outcomes=True)
    nonzero = [_nonzero(total, masks, m) for m in range(len(seeds))]
    return {"params": total, "dense": score_of(dense["final"], regression), "dense_outcomes": dense["test_outcomes"],
            "series": series,
            "controls": {"scope": scope, "rewind": point, "nonzero": nonzero,
                         "fresh_init": score_of(reinit["final"], regression),
                         "random_mask": score_of(random_["final"], regression),
                         "outcomes": {"fresh_init": reinit["test_outcomes"], "random_mask": random_["test_outcomes"]}}}


def _transfer_file(ctx, spec: DiagnoseSpec, ds: Dataset, teacher: torch.nn.Module, teacher_key: str,
                   regression: bool) -> str:
    """A cell: the transfer set (training inputs plus new ones) labelled with the teacher's outputs, as a file."""
    def fn(cell_dir: Path) -> dict[str, Any]:
        extra = spec.transfer_factor * len(ds.y)
        if spec.data.name == "mnist1d":  # fresh signals from the generator (another seed): the paper's setting
            more = ctx.data(replace(spec.data, samples=int(extra / 0.8) + 1, seed=spec.data.seed + 7919,
                                    n_train=0, n_test=0))
            new = more.x[:extra]
        else:  # mixed and noisy copies; for discrete inputs (token ids) features swapped between training inputs
            kind = "swap" if bool(torch.all(ds.x == ds.x.round())) else "both"
            new = transfer_set(ds.x, extra, torch.Generator().manual_seed(mix_seed(0, "transfer")), kind=kind)[len(ds.x):]
        x = torch.cat([ds.x, new])
        with torch.no_grad():
            logits = Population([teacher]).eval()(x)[0]
        path = cell_dir / "transfer.safetensors"
        save_tensors_file(path, x=x.numpy(), y=(logits.squeeze(-1) if regression else logits).numpy(),
                          x_test=ds.x_test.numpy(), y_test=ds.y_test.numpy())
        return {"cell": cell_dir.name, "n": len(x), "file": "transfer.safetensors"}

    cell = ctx.cell({"stage": "transfer"}, fn, require=("transfer.safetensors",), teacher=teacher_key,
                    factor=spec.transfer_factor)
    return str(ctx.store.cell_dir(cell["cell"]) / "transfer.safetensors")


def _students(ctx, spec: DiagnoseSpec, ds: Dataset, train, teacher: torch.nn.Module, teacher_key: str,
              regression: bool) -> list[dict]:
    path = _transfer_file(ctx, spec, ds, teacher, teacher_key, regression)
    transfer = DataSpec(name="safetensors", path=path)
    mimic_train = replace(train, loss="mse" if regression else "kl", temperature=spec.temperature)
    archs = [(f"MLP 1×{w}", ModelSpec(kind="mlp", width=w, depth=1)) for w in spec.student_widths]
    if spec.width_arg:
        args = json.loads(spec.model.factory_args or "{}")
        if spec.width_arg in args:
            for f in (1 / 16, 1 / 4):
                w = max(1, int(round(args[spec.width_arg] * f)))
                archs.append((f"yours, {spec.width_arg}={w}",
                              replace(spec.model, factory_args=json.dumps(dict(args, **{spec.width_arg: w})))))
    out = []
    for name, arch in archs:
        try:
            size = n_params(population_for(arch, ds, [0]).member(0))
        except SpecError as err:  # e.g. attention heads that do not divide a narrower width
            out.append({"arch": name, "skipped": f"not covered: your factory refuses it ({err})"})
            continue
        mimic = ctx.train({"stage": "student", "arch": name, "kind": "mimic"}, arch, transfer, mimic_train,
                          list(spec.seeds), outcomes=True)
        labels = ctx.train({"stage": "student", "arch": name, "kind": "labels"}, arch, spec.data, train,
                           list(spec.seeds), outcomes=True)
        out.append({"arch": name, "params": size, "mimic": score_of(mimic["final"], regression),
                    "labels": score_of(labels["final"], regression),
                    "outcomes": {"mimic": mimic["test_outcomes"], "labels": labels["test_outcomes"]}})
    return out


def _classical(ctx, spec: DiagnoseSpec, ds: Dataset, regression: bool) -> list[dict]:
    def fn(_: Path) -> dict[str, Any]:
        results = classical_baselines(ds.x.flatten(1).numpy(), ds.y.numpy(), ds.x_test.flatten(1).numpy(),
                                      ds.y_test.numpy(), task="regression" if regression else "classification",
                                      seed=0, which=classical_for(spec.classical, regression), choose_scaling=True,
                                      threads=torch.get_num_threads())  # sklearn's OpenMP: the same budget as torch
        return {"baselines": [r.to_dict() for r in results]}
    return ctx.cell({"stage": "classical"}, fn, data=spec.data, which=list(spec.classical), scaling="cv",
                    outcomes=True)["baselines"]


def classical_for(names: tuple[str, ...], regression: bool) -> tuple[str, ...]:
    """The asked baselines that apply: logistic regression to a classifier, ridge regression to a regressor."""
    skip = "logistic" if regression else "ridge"
    return tuple(n for n in names if n != skip)


def question_simpler(ctx, spec: DiagnoseSpec, ds: Dataset, train, teacher: torch.nn.Module, teacher_key: str,
                     ref: dict[str, Any], regression: bool) -> dict[str, Any]:
    """All three kinds, each point judged against the user's score on the same test examples; the simplest that
    reaches it, in words."""
    yours = ref["test_loss"] if regression else 100 * ref["test_acc"]
    eps = spec.epsilon
    n = ref["n_test"]
    mine = reference_row(ref, regression)
    ctx.log("diagnose: question 1 — lottery tickets (iterative magnitude pruning)")
    tickets = _tickets(ctx, spec, ds, train, regression)
    ctx.log("diagnose: question 1 — students (mimic and labels)")
    students = _students(ctx, spec, ds, train, teacher, teacher_key, regression)
    ctx.log("diagnose: question 1 — classical baselines")
    classical = _classical(ctx, spec, ds, regression)
    points = []

    def judged(name: str, outcomes: list[list]) -> dict[str, Any]:
        return _verdict_of(within(name, score_table(outcomes, n, regression), mine, yours, eps, regression))

    for s in tickets["series"]:
        for r in s["rows"]:
            name = (f"{100 * sum(r['nonzero']) / len(r['nonzero']) / tickets['params']:.1f}%-dense subnetwork "
                    f"({s['scope']} IMP, rewound to step {s['rewind']})")
            points.append({"kind": "ticket", "name": name, "size": sum(r["nonzero"]) / len(r["nonzero"]),
                           "size_note": "non-zero parameters", "values": r["scores"], "series": f"{s['scope']}/{s['rewind']}",
                           **judged(name, r["outcomes"])})
    c = tickets["controls"]
    for kind in ("fresh_init", "random_mask"):
        name = f"control: {kind.replace('_', ' ')} ({c['scope']}, sparsest round)"
        points.append({"kind": "control", "name": name, "size": sum(c["nonzero"]) / len(c["nonzero"]),
                       "size_note": "non-zero parameters", "values": c[kind], "series": kind,
                       **judged(name, c["outcomes"][kind])})
    for st in students:
        if st.get("skipped"):
            continue
        for kind in ("mimic", "labels"):
            name = f"student {st['arch']} ({'mimicking your model' if kind == 'mimic' else 'on the labels'})"
            points.append({"kind": f"student-{kind}", "name": name, "size": st["params"], "size_note": "parameters",
                           "values": st[kind], "series": kind, **judged(name, st["outcomes"][kind])})
    for b in classical:
        if b.get("skipped"):
            continue
        name = b["name"].replace("_", " ")
        if b["name"] in ("rbf_kernel", "knn") and "standardized" in b.get("params", {}):
            name += " (standardized inputs)" if b["params"]["standardized"] else " (raw inputs)"
        score = b["test_score"] if regression else 100 * b["test_score"]
        points.append({"kind": "classical", "name": name, "size": b["size"], "size_note": b["size_note"],
                       "values": [score], "series": "classical", "fit_seconds": b["fit_seconds"],
                       **judged(name, [b["test_outcomes"]])})
    for p in points:  # a candidate's interval never leaves the metric's range (MSE >= 0, accuracy in [0, 100])
        p["interval"] = [max(0.0, p["interval"][0]), p["interval"][1] if regression else min(100.0, p["interval"][1])]
    notes = _ticket_notes(tickets, n, regression) + _retrained_note(tickets["dense"], yours, regression)
    verdict = _sentence(points, yours, eps, ref["params"], regression)
    if notes:
        verdict["text"] += " " + " ".join(notes)
        verdict["notes"] = notes
    for t in tickets["series"]:  # the per-example outcomes stay in the cells, not in the record
        for r in t["rows"]:
            r.pop("outcomes", None)
    tickets.pop("dense_outcomes", None)
    tickets["controls"].pop("outcomes", None)
    for st in students:
        st.pop("outcomes", None)
    refused = [f"student {st['arch']}: {st['skipped']}" for st in students if st.get("skipped")]
    if refused:
        verdict["text"] += " " + "; ".join(refused) + "."
    classical = [{k: v for k, v in b.items() if k != "test_outcomes"} for b in classical]
    return {"yours": {"score": yours, "params": ref["params"]}, "epsilon": eps, "regression": regression,
            "tickets": tickets, "students": students, "classical": classical, "points": points, "verdict": verdict}


def _ticket_notes(tickets: dict[str, Any], n: int, regression: bool) -> list[str]:
    """Do the tickets beat the paper's two controls (the same sparsity: a fresh initialization, a random mask)?
    Paired on the same test examples; said either way, since a ticket that does not beat them is no lottery."""
    c = tickets["controls"]
    series = next(s for s in tickets["series"] if s["scope"] == c["scope"] and s["rewind"] == c["rewind"])
    last = series["rows"][-1]
    ticket = score_table(last["outcomes"], n, regression)
    unit = "" if regression else " points"
    out, lost = [], []
    for kind in ("fresh_init", "random_mask"):
        iv = paired_score_interval(ticket, score_table(c["outcomes"][kind], n, regression), binary=not regression,
                                   difference=True)
        better = iv.hi < 0 if regression else iv.lo > 0
        what = f"{kind.replace('_', ' ')} {iv.estimate:+.3g}{unit} [{iv.lo:+.3g}, {iv.hi:+.3g}]"
        (out if better else lost).append(what)
    if lost:
        return [f"The sparsest {c['scope']} ticket does not beat its control(s) at the same sparsity ({'; '.join(lost)}, "
                f"ticket minus control{', MSE: lower is better' if regression else ''}): what is left after pruning "
                "works as well without the ticket's own initial values or mask — no lottery ticket in Frankle & "
                "Carbin's sense here."]
    return [f"The sparsest {c['scope']} ticket beats both controls at the same sparsity ({'; '.join(out)}): its "
            "mask and initial values matter (Frankle & Carbin 2019)."]


def _retrained_note(dense: list[float], yours: float, regression: bool) -> list[str]:
    """Your model against your architecture re-trained with this recipe: outside the range a new seed would land
    in (95% prediction interval over the seeds), the comparisons are with a different model than yours."""
    iv = t_interval(dense)
    if iv.n < 2 or not math.isfinite(iv.lo):
        return []
    from scipy import stats as st
    spread = float(np.std(dense, ddof=1)) * math.sqrt(1 + 1 / iv.n) * float(st.t.ppf(0.975, iv.n - 1))
    lo, hi = iv.estimate - spread, iv.estimate + spread
    if lo <= yours <= hi:
        return []
    better = (yours < lo) if regression else (yours > hi)
    fmt = (lambda v: f"{v:.4g}") if regression else (lambda v: f"{v:.1f}%")
    return [f"Note: your model ({fmt(yours)}) lies {'above' if better else 'below'} the range your architecture "
            f"reaches when re-trained with this recipe ({fmt(lo)}–{fmt(hi)}, 95% prediction interval over "
            f"{iv.n} seeds; mean {fmt(iv.estimate)}): a {'lucky' if better else 'unlucky'} seed, or a recipe unlike "
            "the one that trained yours (set it with --set train.…) — the re-trained candidates are compared with "
            "your model as it is."]


def _sentence(points: list[dict], yours: float, eps: float, params: int, regression: bool) -> dict[str, Any]:
    unit = "% MSE" if regression else " point(s) of accuracy"
    ok = sorted((p for p in points if p["verdict"] == "pass" and p["kind"] != "control"), key=lambda p: p["size"])
    open_ = sorted((p for p in points if p["verdict"] == "inconclusive" and p["kind"] != "control"),
                   key=lambda p: p["size"])
    fmt = (lambda v: f"{v:.4g}") if regression else (lambda v: f"{v:.1f}%")

    def describe(p: dict) -> str:
        lo, hi = p["interval"]
        spread = "" if lo == hi else f" (95% interval {fmt(lo)}–{fmt(hi)}, {p['method']})"
        note = p["size_note"].split("(")[0].split(":")[0].strip()  # the short name of the size unit
        return f"{p['name']}: {fmt(p['estimate'])}{spread}, size {p['size']:.0f} ({note}) vs your {params} parameters"

    if ok:
        best = ok[0]
        text = (f"Yes: {describe(best)} — reaches your test {'MSE' if regression else 'accuracy'} "
                f"({fmt(yours)}) within {eps:g}{unit}.")
    else:
        best = min((p for p in points if p["kind"] != "control"),
                   key=lambda p: p["estimate"] if regression else -p["estimate"], default=None)
        text = (f"Nothing simpler came within {eps:g}{unit} of your {fmt(yours)}"
                + (f"; the closest: {describe(best)}." if best else "."))
    if open_ and not ok:
        text += f" Undecided at this number of seeds: {open_[0]['name']}."
    # a candidate whose whole interval beats your model (not merely within ε): the user should hear of it
    better = [p for p in points if p["kind"] != "control" and p["verdict"] != "no verdict"
              and (p["interval"][1] < yours if regression else p["interval"][0] > yours)]
    if better:
        top = min(better, key=lambda p: p["estimate"]) if regression else max(better, key=lambda p: p["estimate"])
        text += (f" Better than your model on its whole interval: {top['name']}, {fmt(top['estimate'])} "
                 f"({fmt(top['interval'][0])}–{fmt(top['interval'][1])}).")
    refused = [p["name"] for p in points if p["verdict"] == "no verdict"]
    if refused:
        text += (f" No verdict for {', '.join(refused[:3])}{' …' if len(refused) > 3 else ''}: its interval is "
                 "degenerate (no variation at all), which would overclaim.")
    return {"text": text, "better": [p["name"] for p in better], "simplest": ok[0]["name"] if ok else None,
            "undecided": [p["name"] for p in open_], "no_verdict": refused}
