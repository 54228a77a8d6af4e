"""``whynets run NAME``: run one experiment; figures and results.json go under ``--out``."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from whynets.spec import SpecError

from .common import claims_table, console, err_console, progress_bars


def run_one(name: str, preset: str, overrides: list[str], out: Path, device: str) -> dict:
    from whynets.runner import run

    with progress_bars() as progress:
        log = (lambda m: err_console.print(m)) if progress is None else None
        if progress is None:
            err_console.print(f"[bold]{name}[/] ({preset}) …")
        record = run(name, preset=preset, overrides=overrides, out=out, device=device, progress=progress, log=log)
    return record


def register(app: typer.Typer) -> None:
    @app.command("run")
    def run_(name: str = typer.Argument(..., help="experiment name (see `whynets list`)"),
             preset: str = typer.Option("quick", help="smoke | quick | full"),
             set_: Optional[List[str]] = typer.Option(None, "--set", help="override a spec field: key=value (repeatable)"),
             out: Path = typer.Option(Path("runs"), help="run store root"),
             device: str = typer.Option("auto", help="auto | cpu | cuda"),
             show_spec: bool = typer.Option(False, "--show-spec", help="print the spec's fields and exit")) -> None:
        """Run one experiment (resumes from the store if interrupted)."""
        from whynets.experiments import get

        try:
            experiment = get(name)
            spec = experiment.preset(preset).override(list(set_ or []))
        except (KeyError, SpecError) as err:
            err_console.print(f"[red]error:[/] {err.args[0] if err.args else err}")
            raise typer.Exit(2)
        if show_spec:
            for key, tp, value, help_ in spec.describe():
                console.print(f"{key} ({tp}) = {value!r}  {help_}")
            return
        record = run_one(name, preset, list(set_ or []), out, device)
        console.print(claims_table(record["claims"], f"{name} ({preset}) — {record['wall_s']:.1f} s"))
        folder = out / name / record["spec_hash"]
        console.print(f"results: {folder / 'results.json'}\nfigures: {', '.join(str(folder / 'figures' / f) for f in record['figures'])}")
