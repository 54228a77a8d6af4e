"""Rebuild figures, the claims table (Markdown + JSON) and the HTML report from the store alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from whynets.experiments import get
from whynets.store import atomic_write_json, atomic_write_text, read_json

from .claims import markdown_table
from .html import render_html

__all__ = ["find_records", "build_report", "redraw"]


def find_records(root: Path, only: Sequence[Path] | None = None) -> list[tuple[dict[str, Any], Path]]:
    """Every complete run (a results.json) under ``root``, or just the folders in ``only``."""
    root = Path(root)
    folders = list(only) if only is not None else sorted(p.parent for p in root.glob("*/*/results.json"))
    return [(read_json(f / "results.json"), f) for f in folders if (f / "results.json").exists()]


def redraw(record: dict[str, Any], folder: Path) -> list[str]:
    experiment = get(record["experiment"])
    spec = experiment.spec_type.from_dict(record["spec"])
    return list(experiment.figures(record["results"], spec, folder / "figures"))


def build_report(root: str | Path, only: Sequence[Path] | None = None, redraw_figures: bool = True,
                 out: str | Path | None = None) -> dict[str, Path]:
    root = Path(root)
    out_dir = Path(out) if out else root
    records = find_records(root, only)
    if not records:
        raise FileNotFoundError(f"{root}: no results.json found under <experiment>/<hash>/; run `whynets run` first")
    for rec, folder in records:
        if redraw_figures:
            rec["figures"] = redraw(rec, folder)
    claims = [c for rec, _ in records for c in rec["claims"]]
    wall = {f"{rec['experiment']} ({rec['preset']})": rec["wall_s"] for rec, _ in records}
    paths = {"claims": out_dir / "claims.json", "markdown": out_dir / "claims.md", "html": out_dir / "report.html"}
    atomic_write_json(paths["claims"], claims)
    atomic_write_text(paths["markdown"], markdown_table(claims, wall))
    atomic_write_text(paths["html"], render_html(records))
    return paths
