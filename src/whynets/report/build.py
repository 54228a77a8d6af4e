"""Rebuild figures, the claims table (Markdown + JSON) and the HTML report from the store alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from whynets.experiments import get
from whynets.store import StoreError, atomic_write_json, atomic_write_text, read_json
from whynets.store.io import is_writable

from .claims import markdown_table
from .html import render_html

__all__ = ["find_records", "build_report", "redraw"]


def find_records(root: Path, only: Sequence[Path] | None = None) -> list[tuple[dict[str, Any], Path]]:
    """Every complete run (a results.json) under ``root``, or just the folders in ``only``."""
    root = Path(root)
    folders = list(only) if only is not None else sorted(p.parent for p in root.glob("*/*/results.json")
                                                         if p.parent.name != "cells")
    return [(read_json(f / "results.json"), f) for f in folders if (f / "results.json").exists()]


def redraw(record: dict[str, Any], folder: Path) -> list[str]:
    experiment = get(record["experiment"])
    spec = experiment.spec_type.from_dict(record["spec"])
    return list(experiment.figures(record["results"], spec, folder / "figures"))


def build_report(root: str | Path, only: Sequence[Path] | None = None, redraw_figures: bool = True,
                 out: str | Path | None = None, robustness: dict | None = None) -> dict[str, Path]:
    """claims.json, claims.md and report.html of the runs under ``root`` (or the folders ``only``), written to
    ``out`` (default: ``root``). Figures are redrawn from the stored results where the store is writable; a
    read-only store keeps the figures it has. ``robustness``: the table of ``reproduce --robustness``. The
    claims of the default setting are the table; other settings appear only in the robustness section."""
    root = Path(root)
    out_dir = Path(out) if out else root
    records = find_records(root, only)
    if not records:
        raise StoreError(f"{root}: no finished run (a results.json under <experiment>/<spec hash>/); run "
                         "`whynets run NAME` or `whynets reproduce` first")
    for rec, folder in records:
        if redraw_figures and is_writable(folder):
            rec["figures"] = redraw(rec, folder)
    default = [(rec, folder) for rec, folder in records if rec.get("setting", "default") == "default"] or records
    claims = [c for rec, _ in default for c in rec["claims"]]
    wall = {f"{rec['experiment']} ({rec['preset']}{'' if rec.get('setting', 'default') == 'default' else ', ' + rec['setting']})":
            rec["wall_s"] for rec, _ in records}
    paths = {"claims": out_dir / "claims.json", "markdown": out_dir / "claims.md", "html": out_dir / "report.html"}
    atomic_write_json(paths["claims"], claims)
    atomic_write_text(paths["markdown"], markdown_table(claims, wall, robustness))
    atomic_write_text(paths["html"], render_html(default, robustness=robustness))
    if robustness:
        paths["robustness"] = out_dir / "robustness.json"
        atomic_write_json(paths["robustness"], robustness)
    return paths
