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
from typing import Any, Callable, Iterator

import typer

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from whynets.report.claims import LEGEND, fmt, fmt_interval, fmt_margin, status

console = Console()
err_console = Console(stderr=True)


def debugging() -> bool:
    return os.environ.get("WHYNETS_DEBUG", "0") not in ("", "0")


def fail(message: str) -> None:
    """Print one error line and exit with status 2."""
    err_console.print(f"[red]error:[/] {message}", markup=True, highlight=False, soft_wrap=True)
    raise typer.Exit(2)


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

            fail(escape(str(err.args[0]) if err.args and isinstance(err.args[0], str) else str(err)))
    return wrapper


@contextlib.contextmanager
def progress_bars() -> Iterator[Progress | None]:
    """Rich progress bars on a terminal; nothing (plain log lines instead) when output is not a TTY."""
    if not sys.stderr.isatty():
        yield None
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
