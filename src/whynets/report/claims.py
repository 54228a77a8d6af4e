"""The claims table: Markdown, JSON and a rich table for the terminal."""

from __future__ import annotations

from typing import Any

__all__ = ["fmt", "markdown_table", "summary", "status"]


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


def status(claim: dict[str, Any]) -> str:
    if claim["passed"]:
        return "PASS"
    return "EXPECTED-FAIL" if claim.get("expected_failure") else "FAIL"


def markdown_table(claims: list[dict[str, Any]], wall: dict[str, float] | None = None) -> str:
    lines = ["| claim | source | criterion | paper | measured | result |", "|---|---|---|---|---|---|"]
    for c in claims:
        lines.append(f"| `{c['id']}` — {c['statement']} | {c['source']} | `{c['criterion']}` | {fmt(c['paper'])} | "
                     f"{fmt(c['measured'])} | **{status(c)}** |")
    expected = [c for c in claims if status(c) == "EXPECTED-FAIL"]
    if expected:
        lines += ["", "Claims that did not reproduce at this scale (expected findings, listed apart):", ""]
        lines += [f"- `{c['id']}`: {c['expected_failure']}" for c in expected]
    if wall:
        lines += ["", "| experiment | wall time (s) |", "|---|---|"]
        lines += [f"| {k} | {v:.1f} |" for k, v in wall.items()]
    return "\n".join(lines) + "\n"


def summary(claims: list[dict[str, Any]]) -> dict[str, int]:
    out = {"PASS": 0, "FAIL": 0, "EXPECTED-FAIL": 0}
    for c in claims:
        out[status(c)] += 1
    return out
