"""Shared CLI pieces: the console, progress bars, the claims table, and the one-line error rule.

``user_errors`` wraps every command: an error a user can act on (``whynets.errors.WhynetsError``: a bad spec, a
bad file, a device this machine lacks, a full disk) prints ONE line — what, where, what would be right — and
exits with status 2; ``--debug`` (or ``WHYNETS_DEBUG=1``) shows the traceback instead. Anything else is a bug and
keeps its traceback.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import time
from typing import Any, Callable, Iterator

import typer

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from whynets.report.claims import LEGEND, fmt, fmt_interval, fmt_margin, status

console = Console(emoji=False)  # a path like facts.py:ok: stays as typed, never an emoji
err_console = Console(stderr=True, emoji=False)


def debugging() -> bool:
    return os.environ.get("WHYNETS_DEBUG", "0") not in ("", "0")


def fail(message: str) -> None:
    """Print one error line and exit with status 2. ``message`` is rich markup: escape what a user typed."""
    err_console.print(f"[red]error:[/] {message}", markup=True, highlight=False, soft_wrap=True, emoji=False)
    raise typer.Exit(2)


def set_memory_budget(value: str | None) -> None:
    """``--memory-budget``: checked now (one line if malformed), then passed on to every process this one starts."""
    if value:
        from whynets.resources import ENV, parse_size

        parse_size(value, "--memory-budget")
        os.environ[ENV] = value


def user_errors(fn: Callable) -> Callable:
    """Turn a ``WhynetsError`` raised by the command into one line and exit status 2 (not under ``--debug``)."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from whynets.errors import WhynetsError

        try:
            return fn(*args, **kwargs)
        except WhynetsError as err:
            if debugging():
                raise
            from rich.markup import escape

            if isinstance(err, OSError) and isinstance(err.strerror, str):  # StoreError(errno, message)
                text = err.strerror
            else:
                text = err.args[0] if err.args and isinstance(err.args[0], str) else str(err)
            fail(escape(" ".join(text.split())))  # one line, whatever the message held
    return wrapper


def fmt_duration(seconds: float) -> str:
    """A duration a person reads at a glance: 42 s, 7.5 min, 3.2 h, 12 days, 3.1e+04 years."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    if seconds < 365 * 86400:
        return f"{seconds / 86400:.0f} days"
    return f"{seconds / (365.25 * 86400):.2g} years"


class LineProgress:
    """Progress without a terminal (a log file, CI, ``nohup``): each task that runs for more than ``first`` seconds
    says once how long it is expected to take, then a line every ``every`` seconds (done, elapsed, left). The same
    calls as ``rich.progress.Progress`` (``add_task``, ``advance``, ``remove_task``) and a ``console`` to log to."""

    def __init__(self, console: Console, first: float = 5.0, every: float = 60.0,
                 clock: Callable[[], float] = time.monotonic):
        self.console, self.first, self.every, self.clock = console, first, every, clock
        self._tasks: dict[int, dict[str, Any]] = {}

    def add_task(self, description: str, total: float | None = None, **_: Any) -> int:
        task = len(self._tasks) + 1
        while task in self._tasks:
            task += 1
        self._tasks[task] = {"description": description, "total": total, "done": 0, "start": self.clock(),
                             "last": None}
        return task

    def advance(self, task: int, advance: float = 1) -> None:
        t = self._tasks.get(task)
        if t is None:
            return
        t["done"] += advance
        now = self.clock()
        elapsed = now - t["start"]
        if t["last"] is None and elapsed >= self.first:
            self._say(t, elapsed, first=True)
            t["last"] = now
        elif t["last"] is not None and now - t["last"] >= self.every:
            self._say(t, elapsed, first=False)
            t["last"] = now

    def remove_task(self, task: int) -> None:
        self._tasks.pop(task, None)

    def _say(self, t: dict[str, Any], elapsed: float, first: bool) -> None:
        done, total = t["done"], t["total"]
        rate = done / elapsed if elapsed > 0 else 0.0
        left = (total - done) / rate if total and rate > 0 else None
        if first:
            expect = f"expected to take about {fmt_duration(elapsed + left)}" if left is not None else "running"
            text = (f"{t['description']}: {total:,.0f} steps, {expect} (at {rate:.3g} steps/s); a line every "
                    f"{self.every:.0f} s follows" if total else f"{t['description']}: {expect}")
        else:
            share = f" ({100 * done / total:.1f}%)" if total else ""
            text = (f"{t['description']}: {done:,.0f}/{total:,.0f} steps{share}, {fmt_duration(elapsed)} elapsed"
                    + (f", about {fmt_duration(left)} left" if left is not None else ""))
        self.console.print(text, markup=False, highlight=False, emoji=False, soft_wrap=True)


@contextlib.contextmanager
def progress_bars() -> Iterator[Progress | LineProgress]:
    """Rich progress bars on a terminal; plain lines (``LineProgress``) when stderr is not a terminal."""
    if not sys.stderr.isatty():
        yield LineProgress(err_console)
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TimeRemainingColumn(), console=err_console, transient=True) as progress:
        yield progress


def claims_table(claims: list[dict[str, Any]], title: str = "claims") -> Table:
    table = Table(title=title, show_lines=False, caption=LEGEND)
    for col in ("claim", "criterion", "paper", "estimate [95% interval]", "margin", "result"):
        table.add_column(col, overflow="fold")
    colors = {"PASS": "green", "FAIL": "bold red", "EXPECTED-FAIL": "yellow", "INCONCLUSIVE": "bold magenta",
              "REPORTED": "cyan", "SKIPPED": "dim"}
    for c in claims:
        s = status(c)
        checks = c.get("checks") or []
        estimate = "\n".join(fmt_interval(k) for k in checks) if checks else fmt(c.get("measured"))
        table.add_row(c["id"], c["criterion"], fmt(c["paper"]), estimate, fmt_margin(c.get("margin")),
                      f"[{colors[s]}]{s}[/]")
    return table
