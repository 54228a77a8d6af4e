"""``whynets report DIR``: rebuild figures, claims table and HTML from the store only (never trains).

A store on a read-only mount is read as it is (its figures are kept); ``--out`` writes the report elsewhere."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .common import claims_table, console, err_console, user_errors


def register(app: typer.Typer) -> None:
    @app.command("report")
    @user_errors
    def report(root: Path = typer.Argument(Path("runs"), help="run store root"),
               out: Optional[Path] = typer.Option(None, help="where claims.md/json and report.html go (default: ROOT)")
               ) -> None:
        """Rebuild the report of every run under ROOT."""
        from whynets.report import build_report, find_records
        from whynets.store import read_json

        if not root.exists():
            raise_missing(root)
        robustness = root / "robustness.json"
        paths = build_report(root, out=out, robustness=read_json(robustness) if robustness.exists() else None)
        records = find_records(root)
        claims = [c for rec, _ in records if rec.get("setting", "default") == "default" for c in rec["claims"]]
        console.print(claims_table(claims))
        incomplete = sorted(p.parent for p in root.glob("*/*/status.json") if not (p.parent / "results.json").exists())
        for folder in incomplete:
            state = read_json(folder / "status.json")
            err_console.print(f"incomplete run (not in the report): {folder} — {state.get('state')}"
                              f"{': ' + state['error'] if state.get('error') else ''}", markup=False, highlight=False)
        for kind, path in paths.items():
            console.print(f"{kind}: {path}")


def raise_missing(root: Path) -> None:
    from whynets.store import StoreError

    raise StoreError(f"{root}: no such folder; give the --out folder of a `whynets run` or `reproduce`")
