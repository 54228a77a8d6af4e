"""Question 5 in the report: the recommendations in words, the per-layer signal propagation against mean field, and
the learning-rate sweep against its prediction (a figure), all drawn from the record."""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

from whynets.plotting import plt, save_figure

__all__ = ["recommend_html", "figure_lr_sweep"]


def figure_lr_sweep(q: dict[str, Any], out: Path) -> str:
    """Left: the first steps' training loss at each step size f·2/λ_max (seed 0); right: each seed's onset bracket
    against the predicted band [2/3, 3/2]."""
    lr = q["checks"]["lr"]
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [3, 2]})
    cmap = plt.get_cmap("viridis")
    factors = sorted(float(f) for f in lr["curves"])
    for i, f in enumerate(factors):
        losses = lr["curves"][f"{f:.3g}"]
        finite = [v if v is not None and math.isfinite(v) else float("nan") for v in losses]
        ax.plot(range(len(finite)), finite, color=cmap(i / max(1, len(factors) - 1)), label=f"{f:.3g}·2/λ_max")
    ax.set(xlabel="full-batch gradient-descent step", ylabel="training loss", yscale="log",
           title="first steps at each step size (seed 0)")
    ax.legend(fontsize=7, ncol=2)
    bx.axvspan(2 / 3, 1.5, color="green", alpha=0.12, label="predicted onset: [2/3, 3/2]·2/λ_max")
    for j, o in enumerate(lr["onsets"]):
        prev, on = o["bracket"]
        if on is None:
            bx.plot([3.0], [j], "r>", ms=9)
            continue
        bx.plot([prev or 0.4, on], [j, j], "-", lw=6, color="C0", solid_capstyle="butt")
    bx.set(xscale="log", xlim=(0.4, 4), ylim=(-0.8, len(lr["onsets"]) - 0.2), xlabel="step / (2/λ_max)",
           yticks=range(len(lr["onsets"])), yticklabels=[f"seed {o['seed']}" for o in lr["onsets"]],
           title="where the loss first stops falling")
    ticks = (0.5, 2 / 3, 1, 1.5, 2, 3)  # the sweep's factors, in plain numbers (a log axis's minor labels overlap)
    bx.set_xticks(ticks, ["0.5", "2/3", "1", "1.5", "2", "3"])
    bx.minorticks_off()
    bx.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return save_figure(fig, {"curves": lr["curves"], "onsets": lr["onsets"]}, out, "diagnose_lr_sweep")


def recommend_html(q: dict[str, Any], figs: Path) -> list[str]:
    from .report import _fmt, _img

    e = html.escape
    parts = ["<h2>5. What does theory recommend — initialization, learning rate, shape — checked on your model?</h2>",
             "<div class='answer'>" + "<br>".join(e(line) for line in q["verdict"]) + "</div>"]
    if q["checks"].get("lr"):
        parts.append(_img(figs / figure_lr_sweep(q, figs)))
    init = q["init"]
    sig = init["signals"]
    if sig is None:
        return parts
    rows = (init.get("stack") or {}).get("rows")
    parts.append("<h3>Signal propagation at initialization</h3><table><tr><th>layer</th><th>q (squared length)</th>"
                 "<th>c (two inputs' correlation)</th><th>χ (perturbation growth from the layer below)</th>"
                 + ("<th>q, mean field</th><th>χ, mean field</th><th>σ_w²</th><th>σ_b²</th>" if rows else "") + "</tr>")
    for i, name in enumerate(sig["layers"]):
        cells = [_fmt(sig["q"][i]), _fmt(sig["c"][i]), _fmt(sig["chi"][i]) if i else "—"]
        if rows:
            r = rows[i]
            cells += [_fmt(r["q_mean_field"]), _fmt(r["chi_mean_field"]), _fmt(r["sigma_w2"]), _fmt(r["sigma_b2"])]
        parts.append(f"<tr><td>{e(name)}</td>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    parts.append(f"</table><p class='note'>Inputs' correlation {sig['c_in']:.3g} → outputs' {sig['c_out']:.3g}; "
                 f"end-to-end Jacobian gain {sig['end_to_end_gain']:.3g}. "
                 + ("" if rows else f"The mean-field prediction does not cover this model: {e(init['why_not'])}.")
                 + "</p>")
    return parts
