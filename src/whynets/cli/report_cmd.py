"""``whynets report DIR``: rebuild figures, claims table and HTML from the store only (never trains)."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import claims_table, console, err_console


def register(app: typer.Typer) -> None:
    @app.command("report")
    def report(root: Path = typer.Argument(Path("runs"), help="run store root")) -> None:
        """Rebuild the report of every run under ROOT."""
        from whynets.report import build_report, find_records

        try:
            paths = build_report(root)
        except FileNotFoundError as err:
            err_console.print(f"[red]error:[/] {err}")
            raise typer.Exit(2)
        claims = [c for rec, _ in find_records(root) for c in rec["claims"]]
        console.print(claims_table(claims))
        for kind, path in paths.items():
            console.print(f"{kind}: {path}")
