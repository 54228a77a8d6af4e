"""``whynets list``: every experiment on one line (its name and claim, cut between words to the terminal's width);
``whynets list NAME`` (or ``--long``): title, paper, claim, presets and quick wall in full, wrapped between words.

    COLUMNS=80 whynets list          # one line per experiment, no word broken
    whynets list double-descent      # everything about one experiment
"""

from __future__ import annotations

import textwrap
from typing import List, Optional

import typer

from .common import console, fail, fit_words, fmt_duration


def _width() -> int:
    return max(console.width, 40)


def _details(e, width: int) -> list[str]:
    """An experiment in full, wrapped between words with a hanging indent."""
    lines = [e.name]
    fields = (("title", e.title), ("claim", e.claim), ("paper", e.paper), ("presets", ", ".join(e.presets)),
              ("quick", f"about {fmt_duration(e.quick_wall_s)} on one CPU thread" if e.quick_wall_s else "—"))
    for key, value in fields:
        lines += textwrap.wrap(f"{key}: {value}", width=width, initial_indent="  ", subsequent_indent="    ",
                               break_long_words=False, break_on_hyphens=False)
    return lines


def register(app: typer.Typer) -> None:
    @app.command("list")
    def list_(names: Optional[List[str]] = typer.Argument(None, help="experiments to show in full"),
              long: bool = typer.Option(False, "--long", help="every experiment in full (title, claim, paper, "
                                                              "presets), wrapped to the terminal")) -> None:
        """List every experiment: one line each with its claim; NAME (or --long) for the paper and presets."""
        from whynets.experiments import all_experiments

        experiments = all_experiments()
        width = _width()
        say = lambda text="": console.print(text, markup=False, highlight=False, soft_wrap=True)  # noqa: E731
        if names:
            known = {e.name: e for e in experiments}
            unknown = [n for n in names if n not in known]
            if unknown:
                fail(f"unknown experiment(s) {', '.join(unknown)}; known: {', '.join(known)}")
            experiments = [known[n] for n in names]
        if names or long:
            for i, e in enumerate(experiments):
                if i:
                    say()
                for line in _details(e, width):
                    say(line)
            return
        name_w = max(len(e.name) for e in experiments)
        say(fit_words(f"{len(experiments)} experiments; `whynets list NAME` shows one in full", width))
        wide = width >= 140  # room for the paper beside the claim
        for e in experiments:
            rest = width - name_w - 2
            if wide:
                claim_w = (rest * 3) // 5
                text = f"{fit_words(e.claim, claim_w - 2).ljust(claim_w)}{fit_words(e.paper, rest - claim_w)}"
            else:
                text = fit_words(e.claim, rest)
            say(f"{e.name.ljust(name_w)}  {text}".rstrip())
