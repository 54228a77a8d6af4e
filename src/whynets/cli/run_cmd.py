"""``whynets run NAME``: run one experiment; figures and results.json go under ``--out``."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from .common import (LineProgress, claims_table, console, err_console, progress_bars, set_memory_budget, set_trackers,
                     user_errors)


BACKEND_HELP = "where cells are computed: local (this process) | ray (every cell a Ray task; pip install \"whynets\\[ray]\")"
ADDRESS_HELP = "--backend ray: the cluster (auto: the one `ray start --head` started; HOST:PORT); default: start one here"
SHARED_HELP = ("--backend ray: the --out folder is the same path on every node (a shared filesystem), so workers write "
               "their cells there; default: results travel back through Ray and this process writes the store")


def backend_executor(backend: str, address: Optional[str], shared_store: bool):
    """The executor ``--backend`` names (None: local), checked before any work (Ray missing is one line)."""
    from whynets.executors import make_executor

    return make_executor(backend, address, shared_store, log=lambda m: err_console.print(m, markup=False,
                                                                                       highlight=False))


def run_one(name: str, preset: str, overrides: list[str], out: Path, device: str, seeds: int | None = None,
            setting: str = "default", escalate: bool = True, executor=None) -> dict:
    from whynets.runner import run

    with progress_bars() as progress:
        log = lambda m: progress.console.print(m, markup=False, highlight=False, emoji=False)  # noqa: E731
        if isinstance(progress, LineProgress):
            err_console.print(f"{name} ({preset}{'' if setting == 'default' else ', ' + setting}) …", markup=False,
                              highlight=False)
        if executor is not None:
            executor.progress, executor.log = progress, log
        record = run(name, preset=preset, overrides=overrides, out=out, device=device, progress=progress, log=log,
                     seeds=seeds, setting=setting, escalate=escalate, executor=executor)
    return record


def register(app: typer.Typer) -> None:
    @app.command("run")
    @user_errors
    def run_(name: str = typer.Argument(..., help="experiment name (see `whynets list`)"),
             preset: str = typer.Option("quick", help="smoke | quick | full"),
             set_: Optional[List[str]] = typer.Option(None, "--set", help="override a spec field: key=value (repeatable)"),
             out: Path = typer.Option(Path("runs"), help="run store root"),
             device: str = typer.Option("auto", help="auto | cpu | cuda"),
             seeds: Optional[int] = typer.Option(None, help="N seeds in every seed field of the spec (0..N-1)"),
             robustness: bool = typer.Option(False, help="also rerun with new seeds and a fresh data draw (and on "
                                                         "scikit-learn digits where the experiment applies there)"),
             escalate: bool = typer.Option(True, help="while a claim is inconclusive, rerun with more seeds (up to the "
                                                      "experiment's cap)"),
             setting: str = typer.Option("default", hidden=True, help="default | new-draw | digits"),
             backend: str = typer.Option("local", help=BACKEND_HELP),
             address: Optional[str] = typer.Option(None, help=ADDRESS_HELP),
             shared_store: bool = typer.Option(False, "--shared-store", help=SHARED_HELP),
             memory_budget: Optional[str] = typer.Option(None, "--memory-budget", help="refuse models and data "
                                                         "larger than this (e.g. 12G or 80%; default: half of this "
                                                         "machine's memory; env WHYNETS_MEMORY_BUDGET)"),
             log_to: Optional[str] = typer.Option(None, "--log", help="also write to trackers: tensorboard "
                                               "(event files in the run folder), mlflow (comma-separated)"),
             mlflow_uri: Optional[str] = typer.Option(None, "--mlflow-uri", help="MLflow tracking URI for --log mlflow "
                                                      "(default: sqlite:///OUT/mlflow.db)"),
             show_spec: bool = typer.Option(False, "--show-spec", help="print the spec's fields and exit")) -> None:
        """Run one experiment (resumes from the store if interrupted)."""
        from whynets.experiments import get
        from whynets.robustness import settings_for
        from whynets.runner import resolve_spec

        set_memory_budget(memory_budget)
        set_trackers(log_to, mlflow_uri)
        experiment = get(name)
        spec = resolve_spec(experiment, preset, list(set_ or []), seeds, setting)
        if show_spec:
            for key, tp, value, help_ in spec.describe():
                console.print(f"{key} ({tp}) = {value!r}  {help_}", markup=False, highlight=False)
            return
        settings = [setting] + ([s for s in settings_for(experiment) if s != setting] if robustness else [])
        executor = backend_executor(backend, address, shared_store)
        records = {}
        for s in settings:
            records[s] = run_one(name, preset, list(set_ or []), out, device, seeds, s, escalate, executor)
            record = records[s]
            label = f"{name} ({preset}{'' if s == 'default' else ', ' + s})"
            console.print(claims_table(record["claims"], f"{label} — {record['wall_s']:.1f} s"))
            folder = out / name / record["spec_hash"]
            console.print(f"results: {folder / 'results.json'}\nfigures: "
                          f"{', '.join(str(folder / 'figures' / f) for f in record['figures'])}\n"
                          f"cells computed: {record['cells']['computed']}, loaded: {record['cells']['loaded']}",
                          markup=False, highlight=False, soft_wrap=True)
        if robustness:
            from .reproduce_cmd import print_robustness, robustness_table

            print_robustness(robustness_table({(name, s): r for s, r in records.items()}))
