"""HTML fragments for Jupyter (``_repr_html_``): a run record, a claims table, a diagnosis.

A notebook shows every output in one page, so a fragment brings no ``<html>``/``<body>`` and its style is scoped to
``.whynets`` (the reports' own CSS sets ``body``, which would restyle the whole notebook). Figures are embedded as
base64 PNGs, so a saved notebook keeps them. Built from the records alone, like every report.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any, Iterable

from .claims import fmt, fmt_interval, fmt_margin, status
from .html import interval_svg

__all__ = ["claims_html", "record_html", "diagnosis_html", "STYLE"]

STYLE = """<style>.whynets table{border-collapse:collapse;font-size:.86em;margin:.4em 0}
.whynets td,.whynets th{border:1px solid #ccc;padding:.25em .45em;vertical-align:top;text-align:left}
.whynets th{background:#f3f3f3}.whynets .PASS,.whynets .pass{color:#176b2c;font-weight:bold}
.whynets .FAIL,.whynets .fail{color:#b00020;font-weight:bold}.whynets .EXPECTED-FAIL{color:#a06000;font-weight:bold}
.whynets .INCONCLUSIVE,.whynets .inconclusive{color:#8a1a9b;font-weight:bold}.whynets .REPORTED{color:#1a5e8a}
.whynets .SKIPPED{color:#777}.whynets img{max-width:100%;margin:.3em 0}.whynets .note{color:#555;font-size:.85em}
.whynets code{background:#f6f6f6;padding:0 .2em}</style>"""


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(path.name)}" src="data:image/png;base64,{data}">'


def _claim_row(c: dict[str, Any]) -> str:
    e, s = html.escape, status(c)
    checks = "".join(f"<div>{interval_svg(k)} <code>{e(k['criterion'])}</code>: {e(fmt_interval(k))} "
                     f"<span class='note'>({e(k['verdict'])}; {e(k['method'])})</span></div>"
                     for k in c.get("checks", []))
    expected = c.get("expected")
    if expected:
        checks += "".join(f"<div class='note'>predicted instead ({e(expected['outcome'])}): {interval_svg(k)} "
                          f"<code>{e(k['criterion'])}</code>: {e(fmt_interval(k))} ({e(k['verdict'])})</div>"
                          for k in expected["checks"])
    return (f"<tr class='claim'><td><code>{e(c['id'])}</code><br>{e(c.get('statement', ''))}</td>"
            f"<td>{checks or e(c.get('criterion', ''))}</td><td>{e(fmt(c.get('paper')))}</td>"
            f"<td>{e(fmt_margin(c.get('margin')))}</td><td class='{s}'>{s}</td></tr>")


def _claims_table(claims: list[dict[str, Any]]) -> str:
    counts: dict[str, int] = {}
    for c in claims:
        counts[status(c)] = counts.get(status(c), 0) + 1
    head = ", ".join(f"<span class='{k}'>{v} {k}</span>" for k, v in counts.items())
    return (f"<p>{len(claims)} claim(s): {head}. <span class='note'>Each check: its 95% interval (bar), estimate "
            "(dot) and threshold (red line).</span></p><table><tr><th>claim</th><th>checks: estimate [95% interval]"
            "</th><th>paper</th><th>margin</th><th>result</th></tr>"
            + "".join(_claim_row(c) for c in claims) + "</table>")


def claims_html(claims: list[dict[str, Any]]) -> str:
    """A claims table: one row per claim, every check with its interval drawn against its threshold."""
    return f"<div class='whynets'>{STYLE}{_claims_table(claims)}</div>"


def record_html(record: dict[str, Any], figures: Iterable[Path] = ()) -> str:
    """A run: what was run (experiment, preset, spec hash, wall time), its claims, and its figures inline."""
    e = html.escape
    env = record.get("env", {})
    head = (f"<h3>{e(str(record.get('experiment')))} — {e(str(record.get('title', '')))}</h3>"
            f"<p><i>{e(str(record.get('paper', '')))}</i><br><span class='note'>preset "
            f"<code>{e(str(record.get('preset')))}</code>, spec hash <code>{e(str(record.get('spec_hash')))}</code>, "
            f"{float(record.get('wall_s') or 0):.1f} s, torch {e(str(env.get('torch')))} on "
            f"{e(str(env.get('device')))}</span></p>")
    imgs = "".join(_img(p) for p in figures)
    return f"<div class='whynets'>{STYLE}{head}{_claims_table(list(record.get('claims', [])))}{imgs}</div>"


def _num(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else html.escape(str(v))


def diagnosis_html(record: dict[str, Any], summary: str, figures: Iterable[Path] = ()) -> str:
    """A diagnosis: the answers in words, the candidates of question 1 with their intervals, the figures inline."""
    e = html.escape
    lines = summary.splitlines()
    parts = [f"<div class='whynets'>{STYLE}<h3>{e(lines[0])}</h3>",
             "<p>" + "<br>".join(e(line) for line in lines[1:]) + "</p>"]
    simpler = (record.get("answers") or {}).get("simpler")
    if simpler:
        parts.append("<table><tr><th>could this do as well?</th><th>size</th><th>test score [95% interval]</th>"
                     "<th>within ε?</th></tr>")
        for p in sorted(simpler["points"], key=lambda p: p["size"]):
            lo, hi = p["interval"]
            parts.append(f"<tr><td>{e(p['name'])}</td><td>{p['size']:.0f}</td><td>{_num(p['estimate'])} "
                         f"[{_num(lo)}, {_num(hi)}]</td><td class='{e(p['verdict'])}'>{e(p['verdict'])}</td></tr>")
        parts.append("</table>")
    parts += [_img(p) for p in figures]
    parts.append("</div>")
    return "".join(parts)
