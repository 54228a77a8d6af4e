"""Question 2 — is the over-parameterization essential?

A width sweep of the user's own architecture (the factory's width keyword, ``--width-arg``), from 1/32× to 2× the
user's width, each width re-trained with the user's recipe on the same seeds (the same data orders: comparisons
between widths are paired by seed): train and test score against width, the interpolation threshold (the first width
that fits the training set), a double-descent peak if there is one (the largest rise of the test error above its
running minimum, with the seed noise pooled over the widths), and where the user's width sits. Beside it on one
chart, question 1's lottery-ticket curve: "narrower from scratch" and "sparser after training" read together.
"""

from __future__ import annotations

import html
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from whynets.engine import population_for
from whynets.spec import SpecError
from whynets.stats import contrast_interval

from .core import n_params
from .simpler import reference_row, score_of, score_table, within
from .spec import DiagnoseSpec

__all__ = ["question_width", "width_html"]


def _rise_peak(errors: list[float]) -> tuple[int | None, int | None, float]:
    """(peak index, index of the running minimum it rises from, the rise): the largest rise of a curve above its
    running minimum (0 when the curve never goes up)."""
    best, peak, low_at, low = 0.0, None, None, float("inf")
    arg_low = 0
    for i, e in enumerate(errors):
        if e < low:
            low, arg_low = e, i
        if e - low > best:
            best, peak, low_at = e - low, i, arg_low
    return peak, low_at, best


def question_width(ctx, spec: DiagnoseSpec, ds, train, ref: dict[str, Any], regression: bool,
                   simpler: dict[str, Any] | None) -> dict[str, Any]:
    args = json.loads(spec.model.factory_args or "{}")
    if not spec.width_arg:
        return {"needs": "width_arg", "verdict": "needs --width-arg NAME: the keyword of your factory that scales width "
                "(e.g. --width-arg hidden); then the architecture is re-trained from 1/32x to 2x your width"}
    if spec.width_arg not in args:
        return {"needs": "width_arg", "verdict": f"--width-arg {spec.width_arg}: pass your width too "
                f"(--model-arg {spec.width_arg}=N), so the sweep knows where your model sits"}
    yours = int(args[spec.width_arg])
    widths = sorted({max(1, int(round(yours * f))) for f in spec.width_factors} | {yours})
    seeds = list(spec.seeds)[:max(2, min(3, len(spec.seeds)))]
    fit_train = replace(train, fit_acc=0.0 if regression else 0.99, fit_check_every=max(1, train.steps // 40))
    rows, table = [], []
    ref_score = ref["test_loss"] if regression else 100 * ref["test_acc"]
    mine = reference_row(ref, regression)
    ctx.log(f"diagnose: question 2 — width sweep {widths} ({spec.width_arg}), {len(seeds)} seeds each")
    refused = []
    for w in widths:
        model = replace(spec.model, factory_args=json.dumps(dict(args, **{spec.width_arg: w})))
        if w != yours:
            try:
                population_for(model, ds, [0])
            except SpecError as err:  # the factory does not build this width (e.g. heads that do not divide it)
                refused.append({"width": w, "why": str(err)})
                continue
        r = ctx.train({"stage": "width", spec.width_arg: w}, model, spec.data, fit_train, seeds, outcomes=True)
        test = score_of(r["final"], regression)
        train_score = score_of({"test_loss": r["final"]["train_loss"], "test_acc": r["final"]["train_acc"]}, regression)
        # within ε of yours: decided paired with your model on the same test examples (test and seed noise)
        check = within(f"width {w}", score_table(r["test_outcomes"], ref["n_test"], regression), mine, ref_score,
                       spec.epsilon, regression)
        iv = check.interval
        rows.append({"width": w, "params": n_params(population_for(model, ds, [0]).member(0)),
                     "test": {"estimate": iv.estimate, "interval": [iv.lo, iv.hi], "values": test, "method": iv.method},
                     "within_eps": "no verdict" if iv.method.startswith("degenerate") else check.verdict,
                     "train": sum(train_score) / len(train_score), "fit_step": r["fit_step"]})
        table.append(test)
    per_seed = [list(col) for col in zip(*table)]  # seeds × widths
    errors = [r["test"]["estimate"] if regression else 100 - r["test"]["estimate"] for r in rows]
    fit = next((r["width"] for r in rows if (not regression and r["train"] >= 99.0)), None)
    peak, low, rise = _rise_peak(errors)
    peak_out = None
    if peak is not None and rise > 0:
        weights = [0.0] * len(rows)
        weights[peak], weights[low] = (1.0, -1.0) if regression else (-1.0, 1.0)
        iv = contrast_interval(per_seed, weights)  # test score at the running min − at the peak (a rise > 0)
        peak_out = {"width": rows[peak]["width"], "from_width": rows[low]["width"], "rise": rise,
                    "interval": [iv.lo, iv.hi], "verdict": "pass" if iv.lo > 0 else "inconclusive" if iv.hi > 0 else
                    "fail", "method": iv.method + " (peak picked from the same data: biased upward)"}
    eps = spec.epsilon
    unit = "%" if regression else " point(s)"
    narrower = [r for r in rows if r["width"] < yours]
    ok = [r for r in narrower if r["within_eps"] == "pass"]
    open_ = [r for r in narrower if r["within_eps"] == "inconclusive"]
    smallest = min(ok, key=lambda r: r["width"]) if ok else None
    mine = next(r for r in rows if r["width"] == yours)
    wider = next((r for r in rows if r["width"] > yours), None)

    def score(r: dict[str, Any]) -> str:
        return f"{r['test']['estimate']:.4g} [{r['test']['interval'][0]:.4g}, {r['test']['interval'][1]:.4g}]"

    if smallest:
        verdict = (f"not essential: width {smallest['width']} ({smallest['params']} parameters vs your {mine['params']}) "
                   f"re-trained from scratch reaches your test score within {eps:g}{unit}: {score(smallest)}")
    elif open_:
        w = min(open_, key=lambda r: r["width"])
        verdict = (f"undecided: no narrower width is within {eps:g}{unit} of your score on its interval; the narrowest "
                   f"that might be, width {w['width']} ({w['params']} parameters): {score(w)} straddles the line "
                   "(more seeds would decide)")
    elif narrower:
        w = max(narrower, key=lambda r: r["width"])
        verdict = (f"yes, at this recipe: every narrower width falls short of your score by more than {eps:g}{unit} "
                   f"(the widest of them, {w['width']}: {score(w)})")
    else:
        verdict = "no narrower width was swept"
    verdict += (f"; re-trained at your width ({yours}) the architecture scores {score(mine)} (your model: "
                f"{ref_score:.4g})")
    buys = []
    if wider is not None:
        gain = wider["test"]["estimate"] - mine["test"]["estimate"]
        d = contrast_interval(per_seed, [1.0 if r["width"] == wider["width"] else -1.0 if r["width"] == yours else 0.0
                                         for r in rows])
        better = (d.hi < 0) if regression else (d.lo > 0)
        what = "test MSE" if regression else "test accuracy"
        buys.append(f"{wider['width'] / yours:g}x your width changes the {what} by {gain:+.3g} (95% interval "
                    f"{d.lo:+.3g}..{d.hi:+.3g}{'; lower is better' if regression else ''}): "
                    f"{('it buys a lower error' if regression else 'it buys accuracy') if better else 'no measurable gain'}")
    steps = [(r["width"], sum(s for s in r["fit_step"] if s is not None) / max(1, sum(s is not None for s in r["fit_step"])))
             for r in rows if all(s is not None for s in r["fit_step"])]
    if len(steps) >= 2:
        buys.append(f"steps to fit the training set: {', '.join(f'{w}: {s:.0f}' for w, s in steps)}"
                    + (" (wider fits faster: width buys optimization)" if steps[-1][1] < steps[0][1] else ""))
    if buys:
        verdict += "; " + "; ".join(buys)
    if fit:
        verdict += f"; the training set is first fit at width {fit}"
    if refused:
        verdict += (f"; not covered: width(s) {', '.join(str(r['width']) for r in refused)}, which your factory "
                    f"refuses ({refused[0]['why']})")
    if peak_out and peak_out["verdict"] == "pass":
        verdict += f"; a double-descent peak at width {peak_out['width']} (test error up {rise:.3g})"
    out = {"width_arg": spec.width_arg, "your_width": yours, "rows": rows, "interpolation_width": fit,
           "peak": peak_out, "smallest_within_eps": None if smallest is None else smallest["width"],
           "regression": regression, "verdict": verdict, "refused": refused}
    if simpler is not None and simpler.get("tickets"):
        series = simpler["tickets"]["series"][0]
        out["tickets"] = {"label": f"lottery tickets ({series['scope']}, rewound to step {series['rewind']})",
                          "rows": [{"nonzero": sum(r["nonzero"]) / len(r["nonzero"]),
                                    "score": sum(r["scores"]) / len(r["scores"])} for r in series["rows"]]}
    out["your_params"], out["your_score"] = mine["params"], ref_score
    return out


def width_html(q: dict[str, Any], figs: Path) -> list[str]:
    from .report import _img, figure_width

    e = html.escape
    parts = ["<h2>2. Is the over-parameterization essential?</h2>", f"<div class='answer'>{e(q['verdict'])}</div>"]
    if q.get("needs"):
        return parts
    parts.append(_img(figs / figure_width(q, figs)))
    parts.append("<table><tr><th>width</th><th>parameters</th><th>test (mean [95% interval])</th><th>within ε?</th>"
                 "<th>train</th><th>steps to fit the training set (per seed)</th></tr>")
    for r in q["rows"]:
        mark = " (yours)" if r["width"] == q["your_width"] else ""
        parts.append(f"<tr><td>{r['width']}{mark}</td><td>{r['params']}</td><td>{r['test']['estimate']:.4g} "
                     f"[{r['test']['interval'][0]:.4g}, {r['test']['interval'][1]:.4g}]</td>"
                     f"<td class='{r.get('within_eps', '')}'>{r.get('within_eps', '')}</td><td>{r['train']:.4g}</td>"
                     f"<td>{', '.join('not fit' if s is None else f'{s:.0f}' for s in r['fit_step'])}</td></tr>")
    parts.append("</table>")
    return parts
