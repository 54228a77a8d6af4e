"""whynets — why does deep learning work? Experiments, not opinions.

    >>> import whynets as wn
    >>> record = wn.run("random-labels", preset="smoke", out="runs")   # reproduce a classic result
    >>> [c["passed"] for c in record["claims"]]

The curated public names are in ``__all__``; everything else is internal.
"""

from __future__ import annotations

__version__ = "0.1.0"

from . import data, engine, experiments, measure, models  # noqa: E402
from .engine import Population  # noqa: E402
from .runner import run  # noqa: E402

__all__ = ["run", "experiments", "measure", "data", "models", "engine", "Population", "__version__"]
