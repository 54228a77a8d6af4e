"""whynets — why does deep learning work? Experiments, not opinions.

    >>> import whynets as wn
    >>> record = wn.run("random-labels", preset="smoke", out="runs")   # reproduce a classic result
    >>> [c["passed"] for c in record["claims"]]
    >>> record.claims_frame()            # pandas, optional; in Jupyter `record` shows its claims and figures

The curated public names are in ``__all__``; everything else is internal.
"""

from __future__ import annotations

__version__ = "0.1.0"

from . import data, engine, experiments, kernels, measure, models, solvers  # noqa: E402
from .engine import Population  # noqa: E402
from .record import load_run  # noqa: E402
from .runner import run  # noqa: E402

__all__ = ["run", "load_run", "diagnose", "experiments", "measure", "kernels", "solvers", "data", "models", "engine", "Population",
           "__version__"]


def __getattr__(name: str):
    """``wn.diagnose`` is imported on first use (it pulls in every instrument and solver)."""
    if name == "diagnose":
        from .diagnosis import diagnose

        return diagnose
    raise AttributeError(f"module 'whynets' has no attribute {name!r}")
