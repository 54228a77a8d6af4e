"""The claims table: Markdown, JSON and a rich table for the terminal, each with the interval and margin.

How to read a row: ``estimate [lo, hi]`` is the 95% interval of the number the criterion thresholds (its
method is in the claim's JSON: t over seeds, bootstrap, Clopper–Pearson); ``margin`` is how far the estimate
sits from the threshold on the passing side, in interval widths (>= +0.5: the whole interval passes; <= -0.5:
the whole interval fails; in between: INCONCLUSIVE, the interval straddles the threshold).
"""

from __future__ import annotations

import math
from typing import Any

from whynets.claims import STATUSES, status

__all__ = ["fmt", "fmt_interval", "fmt_margin", "markdown_table", "summary", "status", "LEGEND"]

LEGEND = ("estimate [95% interval] of the thresholded number; margin = distance of the estimate from the threshold "
          "on the passing side, in interval widths (|margin| < 0.5: the interval straddles the threshold, "
          "INCONCLUSIVE)")


def fmt(value: Any) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(fmt(v) for v in value) + "]"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {fmt(v)}" for k, v in value.items())
    return "—" if value is None else str(value)


def fmt_interval(check: dict[str, Any]) -> str:
    est, (lo, hi) = check["estimate"], check["interval"]
    if check["op"] == "all":
        return check["method"]
    if lo == hi:
        return f"{fmt(est)} (exact)"
    return f"{fmt(est)} [{fmt(lo)}, {fmt(hi)}]"


def fmt_margin(margin: float | None) -> str:
    if margin is None:
        return "—"
    if math.isinf(margin):
        return "+∞" if margin > 0 else "−∞"
    return f"{margin:+.2f}"


def _checks_text(claim: dict[str, Any], sep: str) -> str:
    """The paper's checks, then the declared prediction's (an expected finding, declared before the verdict)."""
    rows = [f"{c['criterion']}: {fmt_interval(c)} ({c['verdict']})" for c in claim.get("checks", [])]
    expected = claim.get("expected")
    if expected:
        rows += [f"predicted instead ({expected['outcome']}): {c['criterion']}: {fmt_interval(c)} ({c['verdict']})"
                 for c in expected["checks"]]
    return sep.join(rows)


def markdown_table(claims: list[dict[str, Any]], wall: dict[str, float] | None = None,
                   robustness: dict | None = None) -> str:
    lines = [f"_{LEGEND}_", "", "| claim | source | checks: estimate [95% interval] | paper | margin | result |",
             "|---|---|---|---|---|---|"]
    for c in claims:
        checks = _checks_text(c, "<br>") or f"`{c['criterion']}`"
        lines.append(f"| `{c['id']}` — {c['statement']} | {c['source']} | {checks} | {fmt(c['paper'])} | "
                     f"{fmt_margin(c.get('margin'))} | **{status(c)}** |")
    for label, kind, key in (("Claims that did not reproduce at this scale (expected findings, listed apart):",
                              "EXPECTED-FAIL", "expected_failure"),
                             ("Inconclusive claims (the interval straddles the threshold; more seeds would decide):",
                              "INCONCLUSIVE", "expected_failure"),
                             ("Claims this preset did not measure:", "SKIPPED", "skipped")):
        rows = [c for c in claims if status(c) == kind]
        if rows:
            lines += ["", label, ""]
            lines += [f"- `{c['id']}`: {c.get(key) or _checks_text(c, '; ')}" for c in rows]
    if robustness:
        settings = robustness["settings"]
        lines += ["", "Robustness (each claim rerun in other settings; reported, not gated):", "",
                  "| claim | " + " | ".join(settings) + " |", "|---|" + "---|" * len(settings)]
        lines += [f"| `{cid}` | " + " | ".join(by.get(s, "—") for s in settings) + " |"
                  for cid, by in robustness["claims"].items()]
    if wall:
        lines += ["", "| experiment | wall time (s) |", "|---|---|"]
        lines += [f"| {k} | {v:.1f} |" for k, v in wall.items()]
    return "\n".join(lines) + "\n"


def summary(claims: list[dict[str, Any]]) -> dict[str, int]:
    out = {s: 0 for s in STATUSES}
    for c in claims:
        out[status(c)] += 1
    return {k: v for k, v in out.items() if v or k in ("PASS", "FAIL", "INCONCLUSIVE", "EXPECTED-FAIL")}
