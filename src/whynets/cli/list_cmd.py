"""``whynets list``: every experiment with its one-line claim and paper."""

from __future__ import annotations

import typer
from rich.table import Table

from whynets.experiments import all_experiments

from .common import console


def register(app: typer.Typer) -> None:
    @app.command("list")
    def list_() -> None:
        """List every experiment with its claim and paper."""
        table = Table(title="whynets experiments")
        for col in ("experiment", "claim", "paper", "presets"):
            table.add_column(col, overflow="fold")
        for e in all_experiments():
            table.add_row(e.name, e.claim, e.paper, ", ".join(e.presets))
        console.print(table)
