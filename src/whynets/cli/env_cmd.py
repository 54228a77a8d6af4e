"""``whynets env``: versions, device and threads, as a block to paste into a bug report."""

from __future__ import annotations

import typer

from .common import console, user_errors


def register(app: typer.Typer) -> None:
    @app.command("env")
    @user_errors
    def env(device: str = typer.Option("auto", help="auto | cpu | cuda")) -> None:
        """Print versions, device and threads."""
        from whynets.engine import configure_threads, resolve_device
        from whynets.runner import env_info

        dev = resolve_device(device)
        configure_threads()
        lines = [f"{k}: {v}" for k, v in env_info(dev).items()]
        console.print("```\n" + "\n".join(lines) + "\n```", markup=False, highlight=False)
