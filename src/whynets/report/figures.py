"""Figures: every PNG is saved with the data behind it as JSON beside it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from whynets.store import atomic_write_json  # noqa: E402

__all__ = ["save_figure", "draw_figures", "plt"]


def save_figure(fig: "plt.Figure", data: dict[str, Any], out: Path, name: str) -> str:
    """Write ``out/name.png`` and ``out/name.json`` (the plotted numbers); returns the PNG's file name."""
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".{name}.tmp.png"
    fig.savefig(tmp, dpi=110, bbox_inches="tight")
    tmp.replace(out / f"{name}.png")
    plt.close(fig)
    atomic_write_json(out / f"{name}.json", data)
    return f"{name}.png"


def draw_figures(experiment: Any, results: dict[str, Any], spec: Any, out: Path) -> list[str]:
    return list(experiment.figures(results, spec, out))
