"""One self-contained HTML report: claims table (intervals drawn against thresholds), figures embedded as
base64 PNGs, provenance; it opens in a browser with no server."""

from __future__ import annotations

import base64
import html
import math
from pathlib import Path
from typing import Any

from .claims import LEGEND, fmt, fmt_interval, fmt_margin, status

__all__ = ["render_html", "interval_svg"]

_CSS = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;width:100%;font-size:.88em}td,th{border:1px solid #ccc;padding:.3em .5em;vertical-align:top}
th{background:#f3f3f3}.PASS{color:#176b2c;font-weight:bold}.FAIL{color:#b00020;font-weight:bold}
.EXPECTED-FAIL{color:#a06000;font-weight:bold}.INCONCLUSIVE{color:#8a1a9b;font-weight:bold}
.REPORTED{color:#1a5e8a;font-weight:bold}.SKIPPED{color:#777}img{max-width:100%;border:1px solid #eee;margin:.5em 0}
code{background:#f6f6f6;padding:0 .2em}details{margin:.5em 0}pre{background:#f6f6f6;padding:.5em;overflow-x:auto}
.check{margin:.15em 0}.legend{color:#555;font-size:.85em}svg{vertical-align:middle}
table.claims{table-layout:fixed}table.claims td{overflow-wrap:break-word}.note{color:#555;font-size:.85em;margin-top:.3em}"""


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(path.name)}" src="data:image/png;base64,{data}">'


def interval_svg(check: dict[str, Any], width: int = 150, height: int = 16) -> str:
    """A small drawing of a check: its interval (bar), estimate (dot) and threshold (red line)."""
    if check["op"] == "all" or check["threshold"] is None:
        return ""
    est, (lo, hi) = check["estimate"], check["interval"]
    thr = list(check["threshold"]) if isinstance(check["threshold"], (list, tuple)) else [check["threshold"]]
    finite = [v for v in [est, lo, hi, *thr] if isinstance(v, (int, float)) and math.isfinite(v)]
    if not finite:
        return ""
    a, b = min(finite), max(finite)
    pad = (b - a) * 0.15 or abs(a) * 0.1 or 1.0
    a, b = a - pad, b + pad
    x = lambda v: 4 + (width - 8) * (min(max(v, a), b) - a) / (b - a)  # noqa: E731
    color = {"pass": "#176b2c", "fail": "#b00020"}.get(check["verdict"], "#8a1a9b")
    lo_x = x(lo if math.isfinite(lo) else a)
    hi_x = x(hi if math.isfinite(hi) else b)
    parts = [f'<svg width="{width}" height="{height}" role="img" aria-label="interval">',
             f'<line x1="4" x2="{width - 4}" y1="{height / 2}" y2="{height / 2}" stroke="#ddd"/>',
             f'<rect x="{lo_x:.1f}" y="{height / 2 - 3}" width="{max(hi_x - lo_x, 1.5):.1f}" height="6" fill="{color}" '
             'opacity=".35"/>',
             f'<circle cx="{x(est):.1f}" cy="{height / 2}" r="3" fill="{color}"/>']
    parts += [f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="1" y2="{height - 1}" stroke="#b00020" stroke-width="1.5"/>'
              for t in thr]
    return "".join(parts) + "</svg>"


def _claim_row(c: dict[str, Any]) -> str:
    e, s = html.escape, status(c)
    checks = "".join(f"<div class='check'>{interval_svg(k)} <code>{e(k['criterion'])}</code>: {e(fmt_interval(k))} "
                     f"<i>({e(k['verdict'])}; {e(k['method'])})</i></div>" for k in c.get("checks", []))
    note = c.get("expected_failure") or c.get("skipped")
    note_html = f"<div class='note'>{e(note)}</div>" if note else ""  # under the checks it explains
    return (f"<tr class='claim'><td><code>{e(c['id'])}</code><br>{e(c['statement'])}</td><td>{e(c['source'])}</td>"
            f"<td>{checks or e(c['criterion'])}{note_html}</td><td>{e(fmt(c['paper']))}</td>"
            f"<td>{e(fmt_margin(c.get('margin')))}</td><td class='{s}'>{s}</td></tr>")


def _robustness(table: dict | None) -> list[str]:
    if not table:
        return []
    e, settings = html.escape, table["settings"]
    out = ["<h2>Robustness: does each claim travel?</h2><p class='legend'>each column reruns the experiment in "
           "another setting: new model seeds and a fresh data draw (new-draw); scikit-learn digits in place of "
           "MNIST-1D where the experiment applies there (digits). Reported, not gated.</p>",
           "<table><tr><th>claim</th>" + "".join(f"<th>{e(s)}</th>" for s in settings) + "</tr>"]
    for cid, by in table["claims"].items():
        cells = "".join(f"<td class='{e(by.get(s, ''))}'>{e(by.get(s, '—'))}</td>" for s in settings)
        out.append(f"<tr><td><code>{e(cid)}</code></td>{cells}</tr>")
    out.append("</table>")
    return out


def render_html(records: list[tuple[dict[str, Any], Path]], title: str = "whynets report",
                robustness: dict | None = None) -> str:
    """``records``: (results.json record, its run folder) pairs."""
    e = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{e(title)}</h1>"]
    all_claims = [c for rec, _ in records for c in rec["claims"]]
    counts = {s: sum(status(c) == s for c in all_claims) for s in
              ("PASS", "FAIL", "INCONCLUSIVE", "EXPECTED-FAIL", "REPORTED", "SKIPPED")}
    parts.append(f"<p>{len(records)} experiment run(s), {len(all_claims)} claims: "
                 + ", ".join(f"<span class='{k}'>{v} {k}</span>" for k, v in counts.items() if v) + "</p>")
    parts.append(f"<p class='legend'>{e(LEGEND)}. The drawing: interval (bar), estimate (dot), threshold (red).</p>")
    parts.append("<h2>Claims</h2><table class='claims'><colgroup><col style='width:21%'><col style='width:14%'>"
                 "<col style='width:37%'><col style='width:12%'><col style='width:6%'><col style='width:10%'></colgroup>"
                 "<tr><th>claim</th><th>source</th><th>checks: estimate [95% interval]</th>"
                 "<th>paper</th><th>margin</th><th>result</th></tr>")
    parts += [_claim_row(c) for c in all_claims]
    parts.append("</table>")
    for label, kind, key in (("Did not reproduce at this scale (expected findings)", "EXPECTED-FAIL", "expected_failure"),
                             ("Inconclusive (more seeds would decide)", "INCONCLUSIVE", "expected_failure")):
        rows = [c for c in all_claims if status(c) == kind]
        if rows:
            parts.append(f"<h3>{e(label)}</h3><ul>")
            parts += [f"<li><code>{e(c['id'])}</code>: {e(c.get(key) or c['criterion'])}</li>" for c in rows]
            parts.append("</ul>")
    parts += _robustness(robustness)
    for rec, folder in records:
        env = rec.get("env", {})
        esc = rec.get("escalation") or []
        more = f", seeds raised {len(esc)} time(s) for inconclusive claims" if esc else ""
        parts.append(f"<h2>{e(rec['experiment'])} — {e(rec['title'])}</h2><p><i>{e(rec['paper'])}</i><br>"
                     f"preset <code>{e(rec['preset'])}</code>, spec hash <code>{e(rec['spec_hash'])}</code>, "
                     f"wall time {rec['wall_s']:.1f} s{e(more)}, git {e(str(env.get('git_commit')))}, "
                     f"torch {e(str(env.get('torch')))} on {e(str(env.get('device')))}</p>")
        for name in rec.get("figures", []):
            path = folder / "figures" / name
            if path.exists():
                parts.append(_img(path))
        parts.append(f"<details><summary>spec</summary><pre>{e(str(rec['spec']))}</pre></details>")
    parts.append("</body></html>")
    return "\n".join(parts)
