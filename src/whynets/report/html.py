"""One self-contained HTML report: claims table, figures embedded as base64 PNGs, provenance."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

from .claims import fmt, status

__all__ = ["render_html"]

_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;width:100%;font-size:.9em}td,th{border:1px solid #ccc;padding:.3em .5em;vertical-align:top}
th{background:#f3f3f3}.PASS{color:#176b2c;font-weight:bold}.FAIL{color:#b00020;font-weight:bold}
.EXPECTED-FAIL{color:#a06000;font-weight:bold}img{max-width:100%;border:1px solid #eee;margin:.5em 0}
code{background:#f6f6f6;padding:0 .2em}details{margin:.5em 0}pre{background:#f6f6f6;padding:.5em;overflow-x:auto}"""


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(path.name)}" src="data:image/png;base64,{data}">'


def render_html(records: list[tuple[dict[str, Any], Path]], title: str = "whynets report") -> str:
    """``records``: (results.json record, its run folder) pairs."""
    e = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{e(title)}</title><style>{_CSS}</style></head><body>",
             f"<h1>{e(title)}</h1>"]
    all_claims = [c for rec, _ in records for c in rec["claims"]]
    counts = {s: sum(status(c) == s for c in all_claims) for s in ("PASS", "FAIL", "EXPECTED-FAIL")}
    parts.append(f"<p>{len(records)} experiment run(s), {len(all_claims)} claims: "
                 + ", ".join(f"<span class='{k}'>{v} {k}</span>" for k, v in counts.items()) + "</p>")
    parts.append("<h2>Claims</h2><table><tr><th>claim</th><th>source</th><th>criterion</th><th>paper</th>"
                 "<th>measured</th><th>result</th></tr>")
    for c in all_claims:
        s = status(c)
        parts.append(f"<tr><td><code>{e(c['id'])}</code><br>{e(c['statement'])}</td><td>{e(c['source'])}</td>"
                     f"<td><code>{e(c['criterion'])}</code></td><td>{e(fmt(c['paper']))}</td>"
                     f"<td>{e(fmt(c['measured']))}</td><td class='{s}'>{s}</td></tr>")
    parts.append("</table>")
    expected = [c for c in all_claims if status(c) == "EXPECTED-FAIL"]
    if expected:
        parts.append("<h3>Did not reproduce at this scale (expected findings)</h3><ul>")
        parts += [f"<li><code>{e(c['id'])}</code>: {e(c['expected_failure'])}</li>" for c in expected]
        parts.append("</ul>")
    for rec, folder in records:
        parts.append(f"<h2>{e(rec['experiment'])} — {e(rec['title'])}</h2><p><i>{e(rec['paper'])}</i><br>"
                     f"preset <code>{e(rec['preset'])}</code>, spec hash <code>{e(rec['spec_hash'])}</code>, "
                     f"wall time {rec['wall_s']:.1f} s, git {e(str(rec.get('env', {}).get('git_commit')))}, "
                     f"torch {e(str(rec.get('env', {}).get('torch')))} on {e(str(rec.get('env', {}).get('device')))}</p>")
        for name in rec.get("figures", []):
            path = folder / "figures" / name
            if path.exists():
                parts.append(_img(path))
        parts.append(f"<details><summary>spec</summary><pre>{e(str(rec['spec']))}</pre></details>")
    parts.append("</body></html>")
    return "\n".join(parts)
