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
                  device: str = typer.Option("auto", help="auto | cpu | cuda"),
                  jobs: int = typer.Option(1, min=1, help="experiments run at once, each in its own process "
                                                          "(CPU threads are split between them)")) -> None:
        """Run experiments and check every claim; exits 1 if any claim fails (expected findings excepted)."""
        from whynets.experiments import names as all_names
        from whynets.report import build_report

        chosen = list(names or all_names())
        unknown = [n for n in chosen if n not in all_names()]
        if unknown:
            err_console.print(f"[red]error:[/] unknown experiment(s) {unknown}; known: {', '.join(all_names())}")
            raise typer.Exit(2)
        folders, claims, started = [], [], time.perf_counter()
        records = (_run_parallel if jobs > 1 else _run_serial)(chosen, preset, out, device, jobs)
        for name in chosen:
            folders.append(out / name / records[name]["spec_hash"])
            claims += records[name]["claims"]
        paths = build_report(out, only=folders, redraw_figures=False)
        console.print(claims_table(claims, f"claims ({preset}) — {time.perf_counter() - started:.0f} s"))
        console.print(f"claims: {paths['claims']}\nreport: {paths['html']}")
        failed = [c["id"] for c in claims if status(c) == "FAIL"]
        if failed:
            err_console.print(f"[red]{len(failed)} claim(s) failed:[/] {', '.join(failed)}")
            raise typer.Exit(1)
        counts = summary(claims)
        console.print(json.dumps(counts))


def _done(name: str, record: dict) -> None:
    err_console.print(f"{name}: {record['wall_s']:.1f} s, {summary(record['claims'])}")


def _run_serial(names: list[str], preset: str, out: Path, device: str, jobs: int = 1) -> dict[str, dict]:
    """Each experiment in this process, one after another."""
    from .run_cmd import run_one

    records = {}
    for name in names:
        records[name] = run_one(name, preset, [], out, device)
        _done(name, records[name])
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


def _run_parallel(names: list[str], preset: str, out: Path, device: str, jobs: int) -> dict[str, dict]:
    """Each experiment as its own ``whynets run`` process, ``jobs`` at a time, its output in
    ``OUT/<name>/reproduce.log``; the records are read back from the store. Unless WHYNETS_THREADS is
    set, each process gets cpu_count // jobs threads (at least one), so they do not oversubscribe."""
    import os
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor, as_completed

    from whynets.experiments import get

    env = dict(os.environ)
    env.setdefault("WHYNETS_THREADS", str(max(1, (os.cpu_count() or 1) // jobs)))
    err_console.print(f"running {len(names)} experiments, {jobs} at a time, "
                      f"{env['WHYNETS_THREADS']} thread(s) each; logs in {out}/<name>/reproduce.log")

    def one(name: str) -> tuple[str, int, Path]:
        log = out / name / "reproduce.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "whynets.cli.main", "run", name, "--preset", preset, "--out", str(out),
               "--device", device]
        with open(log, "w") as handle:
            return name, subprocess.run(cmd, stdout=handle, stderr=subprocess.STDOUT, env=env).returncode, log

    records, crashed = {}, []
    with ThreadPoolExecutor(jobs) as pool:
        for future in as_completed([pool.submit(one, name) for name in start_order(names)]):
            name, code, log = future.result()
            path = out / name / get(name).preset(preset).hash() / "results.json"
            if code != 0 or not path.exists():
                tail = "".join(log.read_text(errors="replace").splitlines(keepends=True)[-15:])
                err_console.print(f"[red]{name}: exited with {code}[/]; last lines of {log}:\n{tail}")
                crashed.append(name)
                continue
            records[name] = json.loads(path.read_text())
            _done(name, records[name])
    if crashed:
        err_console.print(f"[red]{len(crashed)} experiment(s) crashed:[/] {', '.join(crashed)}")
        raise typer.Exit(1)
    return records
