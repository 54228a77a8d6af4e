"""``whynets tour``: a first result in minutes — five fast, striking experiments and a diagnosis of the demo model,
run side by side on every core, with the expected wall printed at the start.

    whynets tour                       # ./tour: claims table, tour/report.html, tour/diagnose/report.html
    whynets tour --jobs 1 --out t      # one at a time
    whynets reproduce --preset quick --jobs 2   # the whole catalogue (the claims of every experiment)

The estimate: each job's CPU seconds on a reference machine (``CPU_S``, one thread each) beside a short probe's
CPU seconds there (``PROBE_CPU_S``). Here the probe runs in as many processes as the tour will (``--jobs``): its CPU
time scales the reference to this machine's speed, and its CPU time over its wall is the share of a core each job
gets now (1 on free cores; less when other work shares them). Each job's expected wall is its scaled CPU time over
that share; the jobs are scheduled longest first on the workers. Load that changes after the start moves the wall
away from the estimate; the tour prints both, and each job's CPU seconds (the reference for the next estimate).
The tour's diagnosis is lighter than ``diagnose --demo`` (``DIAGNOSE_SETTINGS``: two seeds, fewer pruning rounds
and width points, one subspace dimension, shorter PAC-Bayes optimization), so that a newcomer has every answer in
minutes; ``whynets diagnose --demo`` runs the full one. The experiments run without seed escalation (an
inconclusive claim stays so here; ``whynets reproduce`` raises seeds).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import typer

from .common import claims_table, console, err_console, fmt_duration, user_errors

EXPERIMENTS = ("depth-vs-width", "simplicity-bias", "infinite-width", "min-norm", "mimic")
DIAGNOSE = "diagnose --demo"
# the full demo takes ~8 min alone on 2 cores; these keep every question and its controls, with fewer re-trainings:
DIAGNOSE_SETTINGS = ("seeds=0,1",                       # 2 re-trainings per configuration (3 by default)
                     "prune_rounds=3",                  # tickets down to 12.5% of the weights (6.25% by default)
                     "prune_scopes=layerwise",          # one pruning scope (global too by default)
                     "width_factors=0.0625,0.25,1,2",   # 4 widths of the over-parameterization sweep (7)
                     "subspace_dims=250",               # one subspace dimension for the compression bound (3)
                     "pac_bayes_iters=1500",            # PAC-Bayes posterior optimization steps (3000)
                     "spectra_boot=100")                # bootstrap resamples of each layer's alpha (200)
# CPU seconds of each job on the reference machine, one thread each (our 2-core development machine, 2026-12-07,
# shared with other work: CPU seconds are what that disturbs least), and the probe's CPU seconds there
CPU_S = {"depth-vs-width": 9.0, "simplicity-bias": 34.0, "infinite-width": 24.0, "min-norm": 26.0, "mimic": 66.0,
         DIAGNOSE: 419.0}
PROBE_CPU_S = 0.345
START_S = 4.0  # starting a process (python, torch, whynets) per job


def probe_seconds(repeats: int = 3) -> tuple[float, float]:
    """(wall, CPU) seconds, the median repeat, of a fixed piece of work like the tour's (Adam steps of 16 small MLPs
    trained as one population, one thread)."""
    import torch

    from whynets.data import Dataset
    from whynets.engine import TrainSpec, population_for, train
    from whynets.models import ModelSpec

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    x, xt = torch.randn(1000, 40, generator=g), torch.randn(200, 40, generator=g)
    ds = Dataset(x=x, y=(x[:, 0] > 0).long(), x_test=xt, y_test=(xt[:, 0] > 0).long(),
                 meta={"name": "probe", "n_classes": 2})
    times = []
    try:
        for _ in range(repeats):
            pop = population_for(ModelSpec(width=128), ds, list(range(16)))
            start, cpu = time.perf_counter(), time.process_time()
            train(pop, ds, TrainSpec(steps=50, batch_size=100, optimizer="adam", lr=1e-3, eval_points=2))
            times.append((time.perf_counter() - start, time.process_time() - cpu))
    finally:
        torch.set_num_threads(threads)
    return sorted(times)[len(times) // 2]


def _probe_child(_: int) -> tuple[float, float]:
    return probe_seconds()


def probe_parallel(jobs: int) -> tuple[float, float]:
    """The probe in ``jobs`` processes at once (forked, one thread each), as the tour's jobs will run: (wall, CPU)
    of the slowest. Its CPU seconds say this machine's speed, CPU over wall the share of a core a job gets now."""
    if jobs <= 1:
        return probe_seconds()
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        return max(pool.map(_probe_child, range(jobs)))


def schedule(walls: dict[str, float], jobs: int) -> float:
    """The makespan of the jobs started longest first on ``jobs`` workers."""
    ends = [0.0] * max(1, jobs)
    for wall in sorted(walls.values(), reverse=True):
        i = ends.index(min(ends))
        ends[i] += wall
    return max(ends)


def _jobs(value: str) -> int:
    if value == "auto":
        return max(1, os.cpu_count() or 1)
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        from whynets.spec import SpecError
        raise SpecError(f"--jobs {value!r}: give a number of processes (1, 2, …) or auto (every core)")
    return n


def _command(job: str, out: Path, device: str) -> list[str]:
    base = [sys.executable, "-m", "whynets.cli.main"]
    if job == DIAGNOSE:
        sets = [a for s in DIAGNOSE_SETTINGS for a in ("--set", s)]
        return base + ["diagnose", "--demo", "--out", str(out / "diagnose"), "--device", device, *sets]
    return base + ["run", job, "--preset", "quick", "--out", str(out / "runs"), "--device", device, "--no-escalate"]


def register(app: typer.Typer) -> None:
    @app.command("tour")
    @user_errors
    def tour(out: Path = typer.Option(Path("tour"), help="where the runs, the reports and the logs go"),
             jobs: str = typer.Option("auto", help="jobs at once, each its own process (auto: one per core)"),
             device: str = typer.Option("cpu", help="cpu | cuda | auto")) -> None:
        """A first result in minutes: five fast experiments and a diagnosis, side by side (the estimate first)."""
        from whynets.fileio import ensure_folder

        n = _jobs(jobs)
        ensure_folder(out)
        probe_wall, probe_cpu = probe_parallel(n)
        speed, share = probe_cpu / PROBE_CPU_S, min(1.0, probe_cpu / probe_wall)
        threads = max(1, (os.cpu_count() or 1) // n)
        walls = {job: CPU_S[job] * speed / share + START_S for job in (*EXPERIMENTS, DIAGNOSE)}
        expected = schedule(walls, n)
        err_console.print(f"tour: {', '.join(EXPERIMENTS)} and {DIAGNOSE}, {n} at a time ({threads} thread(s) "
                          f"each); expected to take about {fmt_duration(expected)} (the probe: this machine at "
                          f"{1 / speed:.2f}x the reference's speed, each job getting {share:.0%} of a core now); "
                          f"logs in {out}/<job>.log", highlight=False)
        env = dict(os.environ, WHYNETS_THREADS=os.environ.get("WHYNETS_THREADS", str(threads)))
        started = time.perf_counter()

        def one(job: str) -> tuple[str, int, float, float]:
            log = out / f"{job.split()[0]}.log"
            t0 = time.perf_counter()
            with open(log, "w") as handle:
                child = subprocess.Popen(_command(job, out, device), stdout=handle, stderr=subprocess.STDOUT, env=env)
                _, status, usage = os.wait4(child.pid, 0)  # this child's own CPU time (the threads wait on others)
                child.returncode = os.waitstatus_to_exitcode(status)
            return job, child.returncode, time.perf_counter() - t0, usage.ru_utime + usage.ru_stime

        failed, took, used = [], {}, {}
        with ThreadPoolExecutor(n) as pool:
            for future in as_completed([pool.submit(one, j) for j in sorted(walls, key=lambda j: -walls[j])]):
                job, code, wall, cpu_s = future.result()
                took[job], used[job] = wall, cpu_s
                err_console.print(f"{job}: {fmt_duration(wall)} ({cpu_s:.0f} CPU s; expected "
                                  f"{fmt_duration(walls[job])}){'' if code == 0 else f', exited with {code}'}",
                                  highlight=False)
                if code != 0:
                    failed.append(job)
        _report(out, failed)
        total = time.perf_counter() - started
        console.print(f"tour: {fmt_duration(total)} (expected {fmt_duration(expected)}, "
                      f"{100 * (total - expected) / expected:+.0f}%); each job: "
                      + ", ".join(f"{j} {w:.0f} s ({used[j]:.0f} CPU s)" for j, w in took.items())
                      + f"; probe {probe_cpu:.3f} CPU s in {probe_wall:.3f} s", highlight=False)
        console.print(f"the whole catalogue: whynets reproduce --preset quick --jobs {n} (make reproduce)",
                      highlight=False)
        if failed:
            err_console.print(f"[red]{len(failed)} job(s) failed:[/] {', '.join(failed)} (see {out}/<job>.log)")
            raise typer.Exit(1)


def _report(out: Path, failed: list[str]) -> None:
    """The claims table and report.html of the experiments; the diagnosis in words and its own report page."""
    from whynets.experiments import get
    from whynets.report import build_report
    from whynets.runner import resolve_spec

    folders, claims = [], []
    for name in EXPERIMENTS:
        if name in failed:
            continue
        folder = out / "runs" / name / resolve_spec(get(name), "quick").hash()
        if (folder / "results.json").exists():
            folders.append(folder)
            claims += json.loads((folder / "results.json").read_text())["claims"]
    if folders:
        paths = build_report(out / "runs", only=folders, redraw_figures=False,
                             log=lambda m: err_console.print(m, markup=False, highlight=False))
        console.print(claims_table(claims, "claims of the tour's experiments"))
        console.print(f"report: {paths['html']}", highlight=False)
    diagnosis = out / "diagnose" / "diagnosis.json"
    if DIAGNOSE not in failed and diagnosis.exists():
        from whynets.diagnosis.run import Diagnosis

        console.print(Diagnosis(json.loads(diagnosis.read_text()), out / "diagnose").summary(), markup=False,
                      highlight=False)
        console.print(f"diagnosis report: {out / 'diagnose' / 'report.html'}", highlight=False)
