"""``whynets report DIR``: rebuild figures, claims table and HTML from the store only (never trains).

A store on a read-only mount is read as it is (its figures are kept); ``--out`` writes the report, and the figures it
redraws, elsewhere. What cannot be read (a damaged results.json, robustness.json or status.json) is named and skipped."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .common import claims_table, console, err_console, user_errors


def register(app: typer.Typer) -> None:
    @app.command("report")
    @user_errors
    def report(root: Path = typer.Argument(Path("runs"), help="run store root"),
               out: Optional[Path] = typer.Option(None, help="where claims.md/json and report.html go (default: ROOT)")
               ) -> None:
        """Rebuild the report of every run under ROOT."""
        from whynets.report import build_report, find_records
        from whynets.report.build import read_robustness
        from whynets.store.io import check_folder

        if not root.exists():
            raise_missing(root)
        if not root.is_dir():
            raise_missing(root, "a file, not a folder")
        if out is not None:
            check_folder(out)
        say = lambda m: err_console.print(m, markup=False, highlight=False, emoji=False, soft_wrap=True)  # noqa: E731
        skipped: list[str] = []
        robustness = read_robustness(root / "robustness.json", skipped)
        for line in skipped:
            say(line)
        paths = build_report(root, out=out, robustness=robustness, log=say)
        records = find_records(root)
        claims = [c for rec, _ in records if rec.get("setting", "default") == "default" for c in rec["claims"]]
        console.print(claims_table(claims))
        for folder in sorted(p.parent for p in root.glob("*/*/status.json") if not (p.parent / "results.json").exists()):
            say(f"incomplete run (not in the report): {folder} — {_status_line(folder / 'status.json')}")
        for kind, path in paths.items():
            console.print(f"{kind}: {path}", markup=False, highlight=False)


def _status_line(path: Path) -> str:
    """What a run's status.json says (state and error), or why it cannot be read."""
    from whynets.store import read_json

    try:
        state = read_json(path)
        if not isinstance(state, dict) or not isinstance(state.get("state"), str):
            raise ValueError("not a run status")
    except (OSError, UnicodeDecodeError, ValueError) as err:
        return f"its status.json cannot be read ({type(err).__name__}: {err})"
    error = state.get("error")
    return state["state"] + (f": {error}" if isinstance(error, str) and error else "")


def raise_missing(root: Path, what: str = "no such folder") -> None:
    from whynets.store import StoreError

    raise StoreError(f"{root}: {what}; give the --out folder of a `whynets run` or `reproduce`")
