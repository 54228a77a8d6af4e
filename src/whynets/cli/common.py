"""Shared CLI pieces: the console, progress bars and the claims table."""

from __future__ import annotations

import contextlib
import sys
from typing import Any, Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from whynets.report.claims import fmt, status

console = Console()
err_console = Console(stderr=True)


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
    table = Table(title=title, show_lines=False)
    for col in ("claim", "criterion", "paper", "measured", "result"):
        table.add_column(col, overflow="fold")
    colors = {"PASS": "green", "FAIL": "bold red", "EXPECTED-FAIL": "yellow"}
    for c in claims:
        s = status(c)
        table.add_row(c["id"], c["criterion"], fmt(c["paper"]), fmt(c["measured"]), f"[{colors[s]}]{s}[/]")
    return table
