"""``whynets reproduce``: run experiments, print the claims table, write claims.json and report.html."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import List, Optional

import typer

from whynets.report.claims import status, summary

from .common import claims_table, console, err_console


def register(app: typer.Typer) -> None:
    @app.command("reproduce")
    def reproduce(names: Optional[List[str]] = typer.Argument(None, help="experiments (default: all)"),
                  preset: str = typer.Option("quick", help="smoke | quick | full"),
                  out: Path = typer.Option(Path("runs"), help="run store root; claims.json and report.html go here"),
                  device: str = typer.Option("auto", help="auto | cpu | cuda")) -> None:
        """Run experiments and check every claim; exits 1 if any claim fails (expected findings excepted)."""
        from whynets.experiments import names as all_names
        from whynets.report import build_report

        from .run_cmd import run_one

        chosen = list(names or all_names())
        unknown = [n for n in chosen if n not in all_names()]
        if unknown:
            err_console.print(f"[red]error:[/] unknown experiment(s) {unknown}; known: {', '.join(all_names())}")
            raise typer.Exit(2)
        folders, claims, started = [], [], time.perf_counter()
        for name in chosen:
            record = run_one(name, preset, [], out, device)
            folders.append(out / name / record["spec_hash"])
            claims += record["claims"]
            err_console.print(f"{name}: {record['wall_s']:.1f} s, {summary(record['claims'])}")
        paths = build_report(out, only=folders, redraw_figures=False)
        console.print(claims_table(claims, f"claims ({preset}) — {time.perf_counter() - started:.0f} s"))
        console.print(f"claims: {paths['claims']}\nreport: {paths['html']}")
        failed = [c["id"] for c in claims if status(c) == "FAIL"]
        if failed:
            err_console.print(f"[red]{len(failed)} claim(s) failed:[/] {', '.join(failed)}")
            raise typer.Exit(1)
        counts = summary(claims)
        console.print(json.dumps(counts))
