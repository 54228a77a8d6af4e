"""The diagnosis report: one self-contained HTML page (figures embedded, no server), drawn from the record alone.

Figures are also written as PNG + JSON beside the page (``figures/``), like every whynets figure.
"""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path
from typing import Any

from matplotlib.ticker import NullFormatter, ScalarFormatter

from whynets.plotting import plt, save_figure

__all__ = ["render", "figure_simpler", "figure_spectra", "figure_width"]

_CSS = """body{font-family:system-ui,sans-serif;max-width:1150px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;width:100%;font-size:.86em;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .45em}
th{background:#f3f3f3}.pass{color:#176b2c;font-weight:bold}.fail{color:#b00020}.inconclusive{color:#8a1a9b}
.no.verdict{color:#8a6d00}
.answer{background:#f4f8ff;border-left:4px solid #3a6fd8;padding:.6em 1em;margin:1em 0}img{max-width:100%}
.note{color:#555;font-size:.85em}code{background:#f6f6f6;padding:0 .2em}"""


def _img(path: Path) -> str:
    return f'<img alt="{html.escape(path.name)}" src="data:image/png;base64,{base64.b64encode(path.read_bytes()).decode()}">'


def figure_simpler(q: dict[str, Any], out: Path) -> str:
    """Test score against size (log axis): tickets, controls, students, classical baselines; yours marked."""
    fig, ax = plt.subplots(figsize=(9, 6))
    reg = q["regression"]
    data: dict[str, Any] = {"yours": q["yours"], "points": []}
    groups: dict[str, list[dict]] = {}
    for p in q["points"]:
        groups.setdefault(p["series"] if p["kind"] == "ticket" else p["kind"], []).append(p)
    markers = {"control": "x", "student-mimic": "^", "student-labels": "v", "classical": "s"}
    for name, pts in groups.items():
        pts = sorted(pts, key=lambda p: p["size"])
        xs, ys = [p["size"] for p in pts], [p["estimate"] for p in pts]
        err = [[max(0.0, p["estimate"] - p["interval"][0]) if math.isfinite(p["interval"][0]) else 0 for p in pts],
               [max(0.0, p["interval"][1] - p["estimate"]) if math.isfinite(p["interval"][1]) else 0 for p in pts]]
        label = {"student-mimic": "students, mimicking yours", "student-labels": "students, on labels",
                 "control": "ticket controls (fresh init / random mask)", "classical": "classical baselines"}.get(
                     name, f"tickets ({name.replace('/', ', rewind ')})")
        ax.errorbar(xs, ys, yerr=err, fmt=markers.get(name, "o") + ("-" if name not in markers else ""), ms=5,
                    capsize=2, label=label)
        if name == "classical":  # names alternate above and below their point, so neighbours do not overlap
            for i, p in enumerate(pts):
                ax.annotate(p["name"].split(" (")[0], (p["size"], p["estimate"]), fontsize=7,
                            xytext=(4, 6 if i % 2 == 0 else -11), textcoords="offset points")
        data["points"] += [{k: p[k] for k in ("name", "size", "estimate", "interval", "verdict")} for p in pts]
    yours = q["yours"]["score"]
    ax.plot([q["yours"]["params"]], [yours], "*", ms=16, c="k", label="your model", zorder=5)
    bound = yours * (1 + q["epsilon"] / 100) if reg else yours - q["epsilon"]
    ax.axhline(bound, ls=":", c="gray", label=f"within ε = {q['epsilon']:g}{'%' if reg else ' point(s)'}")
    ax.set(xscale="log", xlabel="size (parameters, or non-zero parameters for tickets)",
           ylabel="test MSE" if reg else "test accuracy (%)", title="Could a simpler model do as well?")
    if reg:
        ax.set_yscale("log")
    else:  # intervals are clipped to [0, 100]%: the axis stays there too
        lo, hi = ax.get_ylim()
        ax.set_ylim(max(lo, 0.0), min(hi, 100.0))
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, frameon=False)
    fig.tight_layout()
    return save_figure(fig, data, out, "diagnose_simpler")


def figure_spectra(q: dict[str, Any], out: Path) -> str:
    """Per layer: α (bootstrap interval) of yours and of the two controls, on a log axis (the intervals of layers
    whose tail holds few eigenvalues reach far up); a hollow marker is a fit the quality test did not accept."""
    s = q["spectra"]
    names = [l["name"] for l in s["yours"]["layers"]]
    many = len(names) > 12  # a transformer's dozens of matrices: a wider figure, upright labels, the legend on top
    fig, ax = plt.subplots(figsize=(min(30.0, max(9.0, 0.3 * len(names) + 3)), 6.5 if many else 4.8))
    data: dict[str, Any] = {}
    offset = 0.22
    control = s.get("control", "random labels")
    for j, (key, label) in enumerate((("yours", "yours"), ("at_init", "same architecture at init"),
                                      ("random_labels", f"trained on {control}"))):
        if not s.get(key):
            continue
        layers = {l["name"]: l for l in s[key]["layers"]}
        for i, n in enumerate(names):
            if n not in layers or not l_ok(layers[n]):
                continue
            l = layers[n]
            ci = l.get("alpha_ci") or (l["alpha"], l["alpha"])
            fits = (l.get("verdict") or {}).get("verdict") == "power law"
            ax.errorbar([i + (j - 1) * offset], [l["alpha"]], yerr=[[max(0.0, l["alpha"] - ci[0])],
                                                                   [max(0.0, ci[1] - l["alpha"])]],
                        fmt="o", color=f"C{j}", mfc=f"C{j}" if fits else "white", capsize=3,
                        label=label if i == 0 else None)
        data[key] = {n: layers[n]["alpha"] for n in names if n in layers}
    ax.axhspan(2, 6, color="green", alpha=0.08, label="2 ≤ α ≤ 6 (Martin & Mahoney's typical range)")
    ax.plot([], [], "o", color="gray", mfc="white", label="hollow: the power law does not fit (or is undecided)")
    ax.set_xticks(range(len(names)), names, rotation=90 if many else 30, fontsize=7 if many else 8)
    ax.set_xlim(-0.6, len(names) - 0.4)
    ax.set_yscale("log")
    ax.yaxis.set_major_formatter(ScalarFormatter())
    ax.yaxis.set_minor_formatter(NullFormatter())
    ax.set_yticks([t for t in (1, 2, 3, 4, 6, 10, 20, 40, 100) if ax.get_ylim()[0] <= t <= ax.get_ylim()[1]])
    ax.set(xlabel="layer", ylabel="α of the layer's ESD (95% interval)")
    ax.set_title("What do the learned parameters say? (per layer)", pad=30 if many else 6)
    if many:
        ax.legend(fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=4, frameon=False)
    else:
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3, frameon=False)
    fig.tight_layout()
    return save_figure(fig, data, out, "diagnose_spectra")


def l_ok(layer: dict[str, Any]) -> bool:
    a = layer.get("alpha")
    return isinstance(a, (int, float)) and a == a and a > 0


def figure_width(q: dict[str, Any], out: Path) -> str:
    """Score against size on one log axis: the width sweep (parameters; each point labelled with its width) and
    question 1's lottery-ticket curve (non-zero parameters): narrower from scratch beside sparser after training."""
    fig, ax = plt.subplots(figsize=(8, 5.5))
    rows = q["rows"]
    p = [r["params"] for r in rows]
    ax.errorbar(p, [r["test"]["estimate"] for r in rows],
                yerr=[[r["test"]["estimate"] - r["test"]["interval"][0] for r in rows],
                      [r["test"]["interval"][1] - r["test"]["estimate"] for r in rows]], fmt="o-", capsize=2,
                label="narrower/wider from scratch: test (mean, 95% interval)")
    ax.plot(p, [r["train"] for r in rows], "s--", c="C0", alpha=0.5, label="… train")
    for r in rows:
        ax.annotate(f"{r['width']}", (r["params"], r["test"]["estimate"]), textcoords="offset points", xytext=(0, -14),
                    ha="center", fontsize=7, color="C0")
    tickets = q.get("tickets")
    if tickets:
        ax.plot([t["nonzero"] for t in tickets["rows"]], [t["score"] for t in tickets["rows"]], "^-", c="C2",
                label=f"sparser after training: {tickets['label']}, test")
    if q.get("your_params") is not None:
        ax.plot([q["your_params"]], [q["your_score"]], "k*", ms=14, label="your model")
    if q.get("interpolation_width"):
        fit = next(r for r in rows if r["width"] == q["interpolation_width"])
        ax.axvline(fit["params"], c="gray", ls="--", lw=0.8, label=f"first width that fits the training set ({fit['width']})")
    ax.set(xscale="log", xlabel=f"parameters (non-zero for tickets); points labelled with {q['width_arg']}",
           ylabel="error" if q["regression"] else "accuracy (%)", title="Is the over-parameterization essential?")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    fig.tight_layout()
    return save_figure(fig, {"rows": rows, "tickets": tickets}, out, "diagnose_width")


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.4g}"
    if isinstance(v, (list, tuple)) and len(v) == 2 and all(isinstance(x, (int, float)) for x in v):
        return f"[{_fmt(float(v[0]))}, {_fmt(float(v[1]))}]"
    return html.escape(str(v))


def _simpler_html(q: dict[str, Any], figs: Path) -> list[str]:
    e = html.escape
    parts = ["<h2>1. Could a simpler model do as well?</h2>", f"<div class='answer'>{e(q['verdict']['text'])}</div>",
             _img(figs / figure_simpler(q, figs)),
             "<table><tr><th>candidate</th><th>size</th><th>test score (estimate [95% interval])</th><th>within ε?</th>"
             "<th>how decided</th></tr>"]
    for p in sorted(q["points"], key=lambda p: p["size"]):
        parts.append(f"<tr><td>{e(p['name'])}</td><td>{p['size']:.0f} {e(p['size_note'])}</td>"
                     f"<td>{_fmt(p['estimate'])} {_fmt(p['interval'])}</td><td class='{p['verdict']}'>{p['verdict']}</td>"
                     f"<td class='note'>{e(p['criterion'])}; {e(p['method'])}</td></tr>")
    parts.append("</table><p class='note'>Tickets: iterative magnitude pruning re-trained with your recipe "
                 "(Frankle & Carbin 2019; rewinding: Frankle et al. 2020); controls: the sparsest mask with a fresh "
                 "initialization, and a random mask of the same per-layer sparsity. Students: Ba & Caruana 2014. "
                 "Classical baselines tuned by cross-validation on the training data only.</p>")
    return parts


def _parameters_html(q: dict[str, Any], figs: Path) -> list[str]:
    e = html.escape
    notes = q["notes"]
    parts = ["<h2>4. What do the learned parameters say?</h2>", "<div class='answer'>"
             + "<br>".join(e(line) for line in q["reading"]) + "</div>", _img(figs / figure_spectra(q, figs))]
    cols = ("alpha", "alpha_ci", "verdict", "alpha_weighted", "log_spectral_norm", "log_norm", "stable_rank",
            "mp_softrank", "num_spikes")
    control = q["spectra"].get("control", "random labels")
    for key, title in (("yours", "your model"), ("at_init", "control: the same architecture at initialization"),
                       ("random_labels", f"control: trained on {control}")):
        if not q["spectra"].get(key):
            continue
        parts.append(f"<h3>Weight spectra — {e(title)}</h3><table><tr><th>layer</th>"
                     + "".join(f"<th title='{e(notes.get(c, ''))}'>{e(c)}</th>" for c in cols) + "</tr>")
        for l in q["spectra"][key]["layers"]:
            cells = []
            for c in cols:
                v = l.get(c)
                if c == "verdict":
                    v = (v or {}).get("verdict", "—") if isinstance(v, dict) else v
                cells.append(f"<td>{_fmt(v)}</td>")
            parts.append(f"<tr><td>{e(l['name'])} {e(str(tuple(l['shape'])))}</td>{''.join(cells)}</tr>")
        skipped = q["spectra"][key]["summary"].get("skipped") or []
        vectors = [n for n, w in skipped if w.startswith("a vector")]
        others = [f"{n}: {w}" for n, w in skipped if not w.startswith("a vector")]
        text = "; ".join(others + ([f"{len(vectors)} vector(s) — biases, normalization scales and shifts — have no "
                                    f"spectrum ({', '.join(vectors[:6])}{' …' if len(vectors) > 6 else ''})"]
                                   if vectors else []))
        parts.append("</table>" + (f"<p class='note'>not analyzed: {e(text)}</p>" if text else ""))
    c = q["curvature"]
    if c.get("skipped"):
        parts.append(f"<h3>Curvature</h3><p class='note'>not measured: {e(c['skipped'])}</p>")
    else:
        trace = c.get("trace")
        rows = [("lambda_max", c["lambda_max"]),
                ("trace", f"{trace['estimate']:.4g} [{trace['interval'][0]:.4g}, {trace['interval'][1]:.4g}]"
                 if trace else None),
                ("n_eff", c["n_eff"]), ("fisher_trace", c.get("fisher_trace")), ("eps_sharpness", c["eps_sharpness"]),
                ("l2_sharpness", c["l2_sharpness"]), ("adaptive_sharpness", c["adaptive_sharpness"])]
        parts.append(f"<h3>Curvature (training loss on {c['examples']} examples)</h3><table><tr><th>measure</th>"
                     "<th>value</th><th>what it indicates</th></tr>")
        parts += [f"<tr><td>{e(k)}</td><td>{_fmt(v)}</td><td class='note'>{e(notes.get(k, ''))}</td></tr>"
                  for k, v in rows if v is not None]
        parts.append("</table>")
        if c.get("plan"):
            from .memory_plan import describe
            parts.append(f"<p class='note'>planned against the memory budget: {e(describe(c['plan']))}</p>")
    if "distance_from_init" in q:
        parts.append("<h3>Distance from initialization</h3><table><tr><th>parameter</th><th>‖w − w₀‖/‖w₀‖</th>"
                     "<th>‖w − w₀‖</th></tr>")
        for k, v in q["distance_from_init"].items():
            v = v if isinstance(v, dict) else {"relative": v, "absolute": None}
            rel = "— (starts at zero)" if v.get("relative") is None else _fmt(v["relative"])
            parts.append(f"<tr><td>{e(k)}</td><td>{rel}</td><td>{_fmt(v.get('absolute'))}</td></tr>")
        parts.append(f"</table><p class='note'>{e(notes['distance_from_init'])}</p>")
    parts.append("<h3>Reading the spectra</h3><ul>" + "".join(
        f"<li><b>{e(k)}</b>: {e(v)}</li>" for k, v in notes.items() if k in cols or k == "alpha") + "</ul>")
    return parts


def render(record: dict[str, Any], folder: Path) -> str:
    e = html.escape
    figs = Path(folder) / "figures"
    ref = record["reference"]
    reg = record["regression"]
    head = (f"<h1>whynets diagnosis</h1><p><b>{e(record['model'])}</b> {e(record.get('model_args') or '')} — "
            f"{ref['params']} parameters, on <code>{e(record['data'])}</code>; loss {e(record['loss'])}. Your model: "
            f"test {'MSE' if reg else 'accuracy'} <b>{ref['test_loss'] if reg else 100 * ref['test_acc']:.4g}"
            f"{'' if reg else '%'}</b>, train {ref['train_loss'] if reg else 100 * ref['train_acc']:.4g}"
            f"{'' if reg else '%'}. Re-trainings use the recipe <code>{e(str(record.get('recipe', record['spec']['train'])))}"
            f"</code> with seeds {record['spec']['seeds']}"
            + (f"; {e(record['vectorized'])}" if record.get("vectorized") else "") + ".</p>")
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>whynets diagnosis</title><style>{_CSS}</style>"
             f"</head><body>{head}"]
    answers = record["answers"]
    if "simpler" in answers:
        parts += _simpler_html(answers["simpler"], figs)
    if "overparameterization" in answers:
        from .width import width_html
        parts += width_html(answers["overparameterization"], figs)
    if "bound" in answers:
        from .bound import bound_html
        parts += bound_html(answers["bound"])
    if "parameters" in answers:
        parts += _parameters_html(answers["parameters"], figs)
    if "recommend" in answers:
        from .recommend_report import recommend_html
        parts += recommend_html(answers["recommend"], figs)
    env = record.get("env", {})
    parts.append(f"<p class='note'>{record['wall_s']:.0f} s; {record['cells']['computed']} cells computed, "
                 f"{record['cells']['loaded']} reused; git {e(str(env.get('git_commit')))}, torch {e(str(env.get('torch')))} "
                 f"on {e(str(env.get('device')))}. Every number: diagnosis.json.</p></body></html>")
    return "\n".join(parts)
