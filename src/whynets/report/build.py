"""Rebuild figures, the claims table (Markdown + JSON) and the HTML report from the store alone.

A store may hold what the report cannot read (a damaged ``results.json``, a diagnosis beside the experiments, a
run of an experiment this version no longer knows): each is skipped with one line that names it and says why, and
the report is built from the rest. With ``out`` elsewhere than the store, figures are redrawn there, never into
the store (which may be full or read-only).
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from whynets.experiments import get
from whynets.store import StoreError, atomic_write_json, atomic_write_text, read_json
from whynets.store.io import ensure_folder, is_writable

from .claims import markdown_table, status
from .html import render_html

__all__ = ["find_records", "build_report", "redraw", "read_record", "read_robustness"]

_REQUIRED = {"experiment": str, "title": str, "paper": str, "preset": str, "spec_hash": str, "spec": dict,
             "results": dict, "claims": list, "wall_s": (int, float)}


def read_record(folder: Path) -> dict[str, Any]:
    """The record in ``folder/results.json``, checked against what the report reads; ``ValueError`` says why not."""
    path = folder / "results.json"
    try:
        rec = read_json(path)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"unreadable ({type(err).__name__}: {err})") from None
    if not isinstance(rec, dict):
        raise ValueError(f"holds a JSON {type(rec).__name__}, not a run record")
    if "experiment" not in rec and ("answers" in rec or folder.parent.name == "diagnose"):
        raise ValueError("a diagnosis (whynets diagnose), not an experiment run; its report is report.html beside it")
    wrong = [k for k, t in _REQUIRED.items() if not isinstance(rec.get(k), t)]
    if wrong:
        raise ValueError(f"not a run record: {', '.join(wrong)} missing or of the wrong type")
    if rec["spec_hash"] != folder.name or rec["experiment"] != folder.parent.name:
        raise ValueError(f"the record of {rec['experiment']}/{rec['spec_hash']}, not of this folder")
    try:
        get(rec["experiment"])
        for c in rec["claims"]:
            status(c)
        markdown_table(rec["claims"], {"x": float(rec["wall_s"])})
        render_html([(dict(rec, figures=[]), folder)])
    except Exception as err:  # noqa: BLE001 - whatever the report cannot render, it names and skips
        raise ValueError(f"cannot be reported ({type(err).__name__}: {err})") from None
    return rec


def find_records(root: Path, only: Sequence[Path] | None = None,
                 skipped: list[str] | None = None) -> list[tuple[dict[str, Any], Path]]:
    """Every complete run (a readable results.json) under ``root``, or just the folders in ``only``; what cannot be
    read is left out, and said in ``skipped`` (one line each)."""
    root = Path(root)
    folders = list(only) if only is not None else sorted(p.parent for p in root.glob("*/*/results.json")
                                                         if p.parent.name != "cells")
    records = []
    for folder in folders:
        if not (folder / "results.json").exists():
            continue
        try:
            records.append((read_record(folder), folder))
        except ValueError as err:
            if skipped is not None:
                skipped.append(f"skipped {folder / 'results.json'}: {err}")
    return records


def read_robustness(path: Path, skipped: list[str] | None = None) -> dict | None:
    """The ``robustness.json`` of ``reproduce --robustness``, or None (said in ``skipped``) if it cannot be read."""
    if not path.exists():
        return None
    try:
        table = read_json(path)
        ok = (isinstance(table, dict) and isinstance(table.get("settings"), list)
              and isinstance(table.get("claims"), dict) and all(isinstance(v, dict) for v in table["claims"].values()))
        if not ok:
            raise ValueError("not a robustness table (settings, claims)")
        return table
    except (OSError, UnicodeDecodeError, ValueError) as err:
        if skipped is not None:
            skipped.append(f"skipped {path}: {type(err).__name__}: {err}")
        return None


def redraw(record: dict[str, Any], folder: Path) -> list[str]:
    experiment = get(record["experiment"])
    spec = experiment.spec_type.from_dict(record["spec"])
    return list(experiment.figures(record["results"], spec, folder / "figures"))


def _figures(rec: dict[str, Any], folder: Path, target: Path, log: Callable[[str], None]) -> Path:
    """Redraw ``rec``'s figures under ``target`` (its folder in the report's output); the folder whose figures the
    HTML embeds. If they cannot be redrawn, the stored ones are copied (and said)."""
    try:
        rec["figures"] = redraw(rec, target)
        return target
    except StoreError:
        raise
    except Exception as err:  # noqa: BLE001 - a figure the stored results cannot draw: keep the stored one
        log(f"{folder}: figures not redrawn ({type(err).__name__}: {err}); using the stored ones")
        if target != folder and (folder / "figures").is_dir():
            ensure_folder(target / "figures")
            for name in rec.get("figures", []):
                if (folder / "figures" / name).exists():
                    shutil.copy2(folder / "figures" / name, target / "figures" / name)
            return target
        return folder


def build_report(root: str | Path, only: Sequence[Path] | None = None, redraw_figures: bool = True,
                 out: str | Path | None = None, robustness: dict | None = None,
                 log: Callable[[str], None] | None = None) -> dict[str, Path]:
    """claims.json, claims.md and report.html of the runs under ``root`` (or the folders ``only``), written to
    ``out`` (default: ``root``). Figures are redrawn from the stored results: into the store when the report goes
    there and it is writable (a read-only store keeps the figures it has), else under ``out/<experiment>/<hash>/``.
    ``robustness``: the table of ``reproduce --robustness``. The claims of the default setting are the table; other
    settings appear only in the robustness section. ``log`` is told, one line each, what was skipped and why."""
    root = Path(root)
    log = log or (lambda msg: None)
    out_dir = Path(out) if out else root
    elsewhere = out_dir.resolve() != root.resolve()
    skipped: list[str] = []
    records = find_records(root, only, skipped)
    for line in skipped:
        log(line)
    if not records:
        raise StoreError(f"{root}: no finished run (a results.json under <experiment>/<spec hash>/)"
                         f"{' that can be read' if skipped else ''}; run `whynets run NAME` or `whynets reproduce` first")
    ensure_folder(out_dir)
    shown = []
    started = said = time.monotonic()
    for i, (rec, folder) in enumerate(records, 1):
        if redraw_figures and elsewhere:
            folder = _figures(rec, folder, out_dir / folder.relative_to(root) if folder.is_relative_to(root)
                              else out_dir / folder.parent.name / folder.name, log)
        elif redraw_figures and is_writable(folder):
            folder = _figures(rec, folder, folder, log)
        shown.append((rec, folder))
        now = time.monotonic()
        if i < len(records) and now - started > 5 and now - said > 10:  # a long redraw says where it is
            said = now
            log(f"report: figures of {i}/{len(records)} runs redrawn, about "
                f"{(now - started) / i * (len(records) - i):.0f} s left")
    default = [(rec, folder) for rec, folder in shown if rec.get("setting", "default") == "default"] or shown
    claims = [c for rec, _ in default for c in rec["claims"]]
    wall = {f"{rec['experiment']} ({rec['preset']}{'' if rec.get('setting', 'default') == 'default' else ', ' + rec['setting']})":
            rec["wall_s"] for rec, _ in shown}
    paths = {"claims": out_dir / "claims.json", "markdown": out_dir / "claims.md", "html": out_dir / "report.html"}
    atomic_write_json(paths["claims"], claims)
    atomic_write_text(paths["markdown"], markdown_table(claims, wall, robustness))
    atomic_write_text(paths["html"], render_html(default, robustness=robustness))
    if robustness:
        paths["robustness"] = out_dir / "robustness.json"
        atomic_write_json(paths["robustness"], robustness)
    return paths
