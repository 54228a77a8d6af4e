"""``whynets bench NAME``: speed benchmarks measured side by side in one run; last line ``speedup <ratio>``."""

from __future__ import annotations

import importlib

import typer

from .common import err_console, user_errors

BENCHES = {"population": "whynets.bench.population", "hessian": "whynets.bench.hessian",
           "spectra": "whynets.bench.spectra", "diagnose": "whynets.bench.diagnose", "kernels": "whynets.bench.kernels"}


def register(app: typer.Typer) -> None:
    @app.command("bench")
    @user_errors
    def bench(name: str = typer.Argument(..., help=" | ".join(BENCHES)),
              quick: bool = typer.Option(False, help="a short version (for smoke tests)"),
              device: str = typer.Option("cpu", help="cpu | cuda | auto, where the bench supports it (the targets are "
                                                     "CPU figures)"),
              large: bool = typer.Option(False, "--large", help="spectra: a GPT-2-small-shaped transformer (124M "
                                                                "parameters) and two smaller siblings")) -> None:
        """Run a benchmark; prints ratios measured in this run, the last line is `speedup <ratio>`."""
        if name not in BENCHES:
            err_console.print(f"[red]error:[/] unknown benchmark {name!r}; choose one of {', '.join(BENCHES)}")
            raise typer.Exit(2)
        from whynets.engine import configure_threads

        configure_threads()
        module = importlib.import_module(BENCHES[name])
        if device not in module.DEVICES:
            err_console.print(f"[red]error:[/] bench {name} runs on {' | '.join(d.upper() for d in module.DEVICES)} only "
                              f"(--device {device} was given)")
            raise typer.Exit(2)
        if large and name != "spectra":
            err_console.print(f"[red]error:[/] --large is for bench spectra, not bench {name}")
            raise typer.Exit(2)
        module.run(print, quick=quick, device=device, **({"large": True} if large else {}))
