"""``whynets`` command line: list | tour | run | reproduce | report | diagnose | env | bench (one file per command)."""

from __future__ import annotations

import os

import typer

from . import bench_cmd, diagnose_cmd, env_cmd, list_cmd, report_cmd, reproduce_cmd, run_cmd, tour_cmd

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="whynets: reproduce the classic results of deep-learning theory, and diagnose your models.")
for module in (list_cmd, tour_cmd, run_cmd, reproduce_cmd, report_cmd, diagnose_cmd, env_cmd, bench_cmd):
    module.register(app)


@app.callback()
def _options(debug: bool = typer.Option(False, "--debug", help="show the traceback of an error instead of one line")
             ) -> None:
    if debug:
        os.environ["WHYNETS_DEBUG"] = "1"


def main() -> None:
    app()


if __name__ == "__main__":
    main()
