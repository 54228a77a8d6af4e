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

from whynets.report.claims import fmt, fmt_interval, status, summary

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


def set_trackers(log: str | None, mlflow_uri: str | None = None) -> None:
    """``--log tensorboard,mlflow`` / ``--mlflow-uri``: checked now (an unknown or uninstalled tracker is one line
    before any work), then passed on through the environment to the store's hook and to every process this one
    starts (``reproduce --jobs``). The store stays the source of truth (``whynets.trackers``)."""
    if mlflow_uri:
        from whynets.trackers import URI_ENV

        os.environ[URI_ENV] = mlflow_uri
    if log:
        from whynets.trackers import ENV, check_installed, parse_trackers

        names = parse_trackers(log)
        check_installed(names)
        os.environ[ENV] = ",".join(names)


def fit_words(text: str, width: int) -> str:
    """``text`` on one line of at most ``width`` characters, cut between two words (then "…"), never inside one."""
    text = " ".join(str(text).split())
    if len(text) <= width:
        return text
    cut = text.rfind(" ", 0, max(width, 1))
    return (text[:cut].rstrip(" ,;:—-") if cut > 0 else text[:max(width - 1, 1)]) + "…"


_COLORS = {"PASS": "green", "FAIL": "bold red", "EXPECTED-FAIL": "yellow", "INCONCLUSIVE": "bold magenta",
           "REPORTED": "cyan", "SKIPPED": "dim"}


def _estimate_text(claim: dict[str, Any]) -> tuple[str, str]:
    """(estimate [95% interval], op threshold) of the check that decides the claim, short enough for a terminal."""
    from whynets.record import deciding_check

    check = deciding_check(claim)
    if check is None:
        return fmt(claim.get("measured")), ""
    if check["op"] == "all":
        return check["method"].replace("per-seed direction: ", ""), ""
    threshold = check.get("threshold")
    ops = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "within": "in", "outside": "outside"}
    return fmt_interval(check), (f"{ops.get(check['op'], check['op'])} {fmt(threshold)}" if threshold is not None
                                 else "")


class ClaimLines:
    """The claims for a terminal: one line per claim — status, claim, estimate [95% interval] and threshold of the
    check that decides it — grouped under their experiment, laid out for the console's width (``COLUMNS``) at the
    moment it prints. A part that does not fit is left out (the threshold first); a line never breaks inside a word.
    The wide table (criteria, paper, margin, every check) goes to claims.md and the HTML report."""

    def __init__(self, claims: list[dict[str, Any]], title: str = "claims", more: str = ""):
        self.claims, self.title, self.more = claims, title, more

    def __rich_console__(self, console: Console, options: Any) -> Iterator[Any]:
        from rich.text import Text

        width = options.max_width
        counts = summary(self.claims) if self.claims else {}
        tail = ", ".join(f"{v} {k}" for k, v in counts.items() if v)
        for part in _wrap(f"{self.title}: {tail}" if tail else self.title, width):
            yield Text(part, style="bold")
        groups: dict[str, list[dict[str, Any]]] = {}
        for c in self.claims:
            groups.setdefault(c["id"].split("/", 1)[0], []).append(c)
        status_w = max((len(status(c)) for c in self.claims), default=4)
        for experiment, claims in groups.items():
            if len(groups) > 1:
                yield Text(fit_words(experiment, width), style="bold")
            names = [c["id"].split("/", 1)[-1] for c in claims]
            name_w = max(len(n) for n in names)
            for c, name in zip(claims, names):
                s = status(c)
                estimate, threshold = _estimate_text(c)
                line = Text("  ")
                line.append(s.ljust(status_w), style=_COLORS[s])
                rest_w = width - 2 - status_w - 1
                pad = name_w if name_w + 1 + len(estimate) <= rest_w else len(name)
                body = f" {name.ljust(pad)} {estimate}"
                if threshold and len(body) + 2 + len(threshold) <= rest_w + 1:
                    body += f"  {threshold}"
                line.append(body)
                if len(line) > width:  # a claim name longer than the line: wrapped between words, indented
                    line = Text("  ")
                    line.append(s, style=_COLORS[s])
                    line.append(f" {name} {estimate}")
                    for part in _wrap(line.plain, width, indent=4):
                        yield Text(part)
                    continue
                yield line
        legend = ("estimate [95% interval] of the check that decides each claim; INCONCLUSIVE: the interval "
                  "straddles the threshold." + (f" {self.more}" if self.more else ""))
        for part in _wrap(legend, width):
            yield Text(part, style="dim")


def _wrap(text: str, width: int, indent: int = 0) -> list[str]:
    import textwrap

    return textwrap.wrap(text, width=max(width, 20), subsequent_indent=" " * indent, break_long_words=False,
                         break_on_hyphens=False) or [""]


def claims_table(claims: list[dict[str, Any]], title: str = "claims", more: str = "") -> ClaimLines:
    """The claims for a terminal (``ClaimLines``): one line each, whatever the width."""
    return ClaimLines(claims, title, more)


class CatalogueEta:
    """Progress over several experiment runs (``reproduce``): how long they are expected to take from each
    experiment's measured quick-preset wall (``quick_wall_s``, one thread), then after each one how many are done
    and about how long is left (the expected walls of those still to run, scaled by how fast the done ones went)."""

    def __init__(self, names: list[str], preset: str, jobs: int, say: Callable[[str], None]):
        from whynets.experiments import get

        self.say, self.jobs = say, max(1, jobs)
        self.expected = {n: (get(n).quick_wall_s if preset == "quick" else None) for n in names}
        self.done: dict[str, float] = {}
        self.total = len(names)
        self.start = time.monotonic()
        known = [w for w in self.expected.values() if w]
        if known and preset == "quick":
            unknown = self.total - len(known)
            self.say(f"{self.total} experiment run(s), expected to take about {fmt_duration(sum(known) / self.jobs)}"
                     f" ({self.jobs} at a time; the quick walls measured on one thread"
                     + (f"; {unknown} without a measured wall" if unknown else "") + ")")

    def finished(self, name: str) -> None:
        self.done[name] = time.monotonic() - self.start
        elapsed = time.monotonic() - self.start
        left_names = [n for n in self.expected if n not in self.done]
        expected_done = sum(self.expected[n] or 0 for n in self.done)
        rate = elapsed / expected_done * self.jobs if expected_done > 0 else 1.0
        left = sum(self.expected[n] or 0 for n in left_names) * rate / self.jobs
        eta = f", about {fmt_duration(left)} left" if left_names and left > 0 else ""
        self.say(f"{len(self.done)}/{self.total} done, {fmt_duration(elapsed)} elapsed{eta}")
