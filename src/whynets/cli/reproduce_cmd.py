"""``whynets reproduce``: run experiments, print the claims table, write claims.json and report.html.

Exit status: 1 when a claim FAILS in the default setting (expected findings, inconclusive and reported claims do
not fail a run, but inconclusive ones are listed on their own line); 2 on a user error. ``--robustness`` reruns
every experiment in the other settings (new seeds and data draw; digits where it applies) and adds, per claim,
whether it holds in each; those settings are reported, never gated.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import List, Optional

import typer

from whynets.report.claims import status, summary

from .common import CatalogueEta, claims_table, console, err_console, fail, set_memory_budget, set_trackers, user_errors
from .run_cmd import ADDRESS_HELP, BACKEND_HELP, SHARED_HELP, backend_executor

Job = tuple  # (experiment name, setting)


def register(app: typer.Typer) -> None:
    @app.command("reproduce")
    @user_errors
    def reproduce(names: Optional[List[str]] = typer.Argument(None, help="experiments (default: all)"),
                  preset: str = typer.Option("quick", help="smoke | quick | full"),
                  out: Path = typer.Option(Path("runs"), help="run store root; claims.json and report.html go here"),
                  device: str = typer.Option("auto", help="auto | cpu | cuda"),
                  jobs: int = typer.Option(1, min=1, help="experiments run at once, each in its own process "
                                                          "(CPU threads are split between them)"),
                  seeds: Optional[int] = typer.Option(None, help="N seeds in every seed field of every spec"),
                  robustness: bool = typer.Option(False, help="also rerun each experiment with new seeds and a fresh "
                                                              "data draw, and on digits where it applies"),
                  escalate: bool = typer.Option(True, help="while a claim is inconclusive, rerun with more seeds "
                                                           "(up to each experiment's cap)"),
                  memory_budget: Optional[str] = typer.Option(None, "--memory-budget", help="refuse models and data "
                                                              "larger than this, in every experiment (e.g. 12G or "
                                                              "80%; default: half of this machine's memory)"),
                  backend: str = typer.Option("local", help=BACKEND_HELP + "; with ray every experiment is driven at "
                                                            "once and --jobs is not used"),
                  address: Optional[str] = typer.Option(None, help=ADDRESS_HELP),
                  shared_store: bool = typer.Option(False, "--shared-store", help=SHARED_HELP),
                  log_to: Optional[str] = typer.Option(None, "--log", help="also write to trackers: tensorboard "
                                               "(event files in each run folder), mlflow (comma-separated)"),
                  mlflow_uri: Optional[str] = typer.Option(None, "--mlflow-uri", help="MLflow tracking URI for --log mlflow "
                                                      "(default: sqlite:///OUT/mlflow.db)")) -> None:
        """Run experiments and check every claim; exits 1 if any claim fails (expected findings excepted)."""
        from whynets.experiments import get
        from whynets.experiments import names as all_names
        from whynets.report import build_report
        from whynets.robustness import settings_for

        set_memory_budget(memory_budget)
        set_trackers(log_to, mlflow_uri)
        chosen = list(names or all_names())
        unknown = [n for n in chosen if n not in all_names()]
        if unknown:
            fail(f"unknown experiment(s) {unknown}; known: {', '.join(all_names())}")
        for n in chosen:
            get(n).preset(preset)  # a typo in --preset is one line before anything runs
        todo = [(n, "default") for n in chosen]
        if robustness:
            todo += [(n, s) for n in chosen for s in settings_for(get(n))]
        executor = backend_executor(backend, address, shared_store)
        started = time.perf_counter()
        options = dict(preset=preset, out=out, device=device, seeds=seeds, escalate=escalate)
        if executor is not None:
            records = _run_on(executor, todo, **options)
        else:
            eta = CatalogueEta([n for n, _ in todo], preset, jobs,
                               lambda m: err_console.print(m, markup=False, highlight=False, soft_wrap=True))
            records = (_run_parallel(todo, jobs=jobs, eta=eta, **options) if jobs > 1
                       else _run_serial(todo, eta=eta, **options))
        folders = [out / n / records[(n, s)]["spec_hash"] for n, s in todo]
        claims = [c for n in chosen for c in records[(n, "default")]["claims"]]
        table = robustness_table(records) if robustness else None
        paths = build_report(out, only=folders, redraw_figures=False, robustness=table,
                             log=lambda m: err_console.print(m, markup=False, highlight=False, soft_wrap=True))
        console.print(claims_table(claims, f"claims ({preset}) — {time.perf_counter() - started:.0f} s",
                                   more=f"Every check, criterion and paper's number: {paths['markdown']}"))
        if table:
            print_robustness(table)
        console.print(f"claims: {paths['claims']}\nreport: {paths['html']}")
        open_ = [c["id"] for c in claims if status(c) == "INCONCLUSIVE"]
        if open_:
            err_console.print(f"[magenta]{len(open_)} claim(s) inconclusive[/] (their interval straddles the "
                              f"threshold at the seed cap; neither passed nor failed): {', '.join(open_)}")
        failed = [c["id"] for c in claims if status(c) == "FAIL"]
        if failed:
            err_console.print(f"[red]{len(failed)} claim(s) failed:[/] {', '.join(failed)}")
            raise typer.Exit(1)
        console.print(json.dumps(summary(claims)))


def robustness_table(records: dict[Job, dict]) -> dict:
    """{"settings": [...], "claims": {claim id: {setting: STATUS}}} from records keyed by (name, setting)."""
    settings = sorted({s for _, s in records}, key=lambda s: (s != "default", s))
    claims: dict[str, dict[str, str]] = {}
    for (name, setting), record in records.items():
        for c in record["claims"]:
            claims.setdefault(c["id"], {})[setting] = status(c)
    return {"settings": settings, "claims": claims}


def print_robustness(table: dict) -> None:
    from rich.table import Table

    t = Table(title="robustness: each claim in each setting (reported, not gated)")
    t.add_column("claim", overflow="fold")
    for s in table["settings"]:
        t.add_column(s)
    colors = {"PASS": "green", "FAIL": "bold red", "EXPECTED-FAIL": "yellow", "INCONCLUSIVE": "bold magenta",
              "REPORTED": "cyan", "SKIPPED": "dim"}
    for cid, by in table["claims"].items():
        t.add_row(cid, *[f"[{colors.get(by.get(s, ''), 'dim')}]{by.get(s, '—')}[/]" for s in table["settings"]])
    console.print(t)


def _done(job: Job, record: dict) -> None:
    name, setting = job
    label = name if setting == "default" else f"{name} ({setting})"
    more = f", seeds raised {len(record['escalation'])}x" if record.get("escalation") else ""
    err_console.print(f"{label}: {record['wall_s']:.1f} s{more}, {summary(record['claims'])}")


def _run_serial(todo: list[Job], preset: str, out: Path, device: str, seeds: int | None,
                escalate: bool, eta: CatalogueEta | None = None) -> dict[Job, dict]:
    """Each (experiment, setting) in this process, one after another."""
    from .run_cmd import run_one

    records = {}
    for job in todo:
        records[job] = run_one(job[0], preset, [], out, device, seeds, job[1], escalate)
        _done(job, records[job])
        if eta is not None:
            eta.finished(job[0])
    return records


def _run_on(executor, todo: list[Job], preset: str, out: Path, device: str, seeds: int | None,
            escalate: bool) -> dict[Job, dict]:
    """Every (experiment, setting) driven at once from this process, each in a thread, their cells submitted to the
    executor (Ray) as they are reached; the cluster decides what runs where."""
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from whynets.runner import run

    from .common import progress_bars

    err_console.print(f"driving {len(todo)} experiment run(s) at once; their cells run on Ray", highlight=False)
    records: dict[Job, dict] = {}
    with progress_bars() as progress:
        log = lambda m: progress.console.print(m, markup=False, highlight=False, emoji=False)  # noqa: E731
        executor.progress, executor.log = progress, log

        def one(job: Job) -> tuple[Job, dict]:
            return job, run(job[0], preset=preset, out=out, device=device, progress=None, log=log, seeds=seeds,
                            setting=job[1], escalate=escalate, executor=executor)
        crashed = []
        with ThreadPoolExecutor(min(32, len(todo))) as pool:
            futures = {pool.submit(one, job): job for job in todo}
            for future in as_completed(futures):
                try:
                    job, record = future.result()
                except Exception as err:  # noqa: BLE001 - one experiment's failure is reported; the others go on
                    from rich.markup import escape

                    job = futures[future]
                    err_console.print(f"[red]{job[0]} ({job[1]}) failed:[/] {escape(f'{type(err).__name__}: {err}')}")
                    crashed.append(f"{job[0]} ({job[1]})")
                    continue
                records[job] = record
                _done(job, record)
    if crashed:
        err_console.print(f"[red]{len(crashed)} experiment run(s) crashed:[/] {', '.join(crashed)}")
        raise typer.Exit(1)
    return records


def start_order(names: list[str]) -> list[str]:
    """The order ``--jobs`` starts experiments in: longest quick-preset wall first (unknown walls count as
    longest), so that two workers finish close together (CI, 2026-11-22: the registry order left one core idle
    for the last ~200 s of a 1873 s run). Ties keep the given order; the claims table keeps the given order."""
    from whynets.experiments import get

    def wall(name: str) -> float:
        w = get(name).quick_wall_s
        return float("inf") if w is None else w
    return sorted(names, key=lambda n: -wall(n))


def _run_parallel(todo: list[Job], jobs: int, preset: str, out: Path, device: str, seeds: int | None,
                  escalate: bool, eta: CatalogueEta | None = None) -> dict[Job, dict]:
    """Each (experiment, setting) as its own ``whynets run`` process, ``jobs`` at a time, its output in
    ``OUT/<name>/reproduce[-<setting>].log``; the records are read back from the store. Unless WHYNETS_THREADS
    is set, each process gets cpu_count // jobs threads (at least one), so they do not oversubscribe."""
    import os
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from whynets.experiments import get
    from whynets.runner import resolve_spec

    env = dict(os.environ)
    env.setdefault("WHYNETS_THREADS", str(max(1, (os.cpu_count() or 1) // jobs)))
    err_console.print(f"running {len(todo)} experiment run(s), {jobs} at a time, "
                      f"{env['WHYNETS_THREADS']} thread(s) each; logs in {out}/<name>/reproduce.log")
    rank = {n: i for i, n in enumerate(start_order(sorted({n for n, _ in todo})))}
    ordered = sorted(todo, key=lambda job: (job[1] != "default", rank[job[0]]))

    def one(job: Job) -> tuple[Job, int, Path]:
        name, setting = job
        log = out / name / ("reproduce.log" if setting == "default" else f"reproduce-{setting}.log")
        log.parent.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "whynets.cli.main", "run", name, "--preset", preset, "--out", str(out),
               "--device", device, "--setting", setting, "--escalate" if escalate else "--no-escalate"]
        if seeds is not None:
            cmd += ["--seeds", str(seeds)]
        with open(log, "w") as handle:
            return job, subprocess.run(cmd, stdout=handle, stderr=subprocess.STDOUT, env=env).returncode, log

    records, crashed = {}, []
    with ThreadPoolExecutor(jobs) as pool:
        for future in as_completed([pool.submit(one, job) for job in ordered]):
            job, code, log = future.result()
            spec = resolve_spec(get(job[0]), preset, (), seeds, job[1])
            path = out / job[0] / spec.hash() / "results.json"
            if code != 0 or not path.exists():
                tail = "".join(log.read_text(errors="replace").splitlines(keepends=True)[-15:])
                from rich.markup import escape

                err_console.print(f"[red]{job[0]} ({job[1]}): exited with {code}[/]; last lines of {escape(str(log))}:"
                                  f"\n{escape(tail)}", markup=True, highlight=False)
                crashed.append(f"{job[0]} ({job[1]})")
                continue
            records[job] = json.loads(path.read_text())
            _done(job, records[job])
            if eta is not None:
                eta.finished(job[0])
    if crashed:
        err_console.print(f"[red]{len(crashed)} experiment run(s) crashed:[/] {', '.join(crashed)}")
        raise typer.Exit(1)
    return records
