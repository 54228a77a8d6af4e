"""Instruments: pure functions ``(model, loss_fn, batches, ...) -> numbers``, each with an oracle test.

Curvature (any ``nn.Module`` + loss + data, BatchNorm in train or eval mode, CPU or CUDA):
  hvp (Hessian-vector products), lanczos (top/bottom-k eigenpairs, power iteration), trace (Hutchinson,
  Hutch++), density (stochastic Lanczos quadrature), fisher (GGN, empirical/true Fisher), sharpness
  (ε-sharpness, worst-case ℓ2), landscape (interpolation barriers, filter-normalized surfaces), effdim.
Generalization: random_features, kernels, minnorm, matrix_completion, polynomial, norms.
"""

from __future__ import annotations

import importlib

from .density import *  # noqa: F401,F403  (each module lists its public names in __all__)
from .effdim import *  # noqa: F401,F403
from .fisher import *  # noqa: F401,F403
from .hvp import *  # noqa: F401,F403
from .kernels import *  # noqa: F401,F403
from .lanczos import *  # noqa: F401,F403
from .landscape import *  # noqa: F401,F403
from .matrix_completion import *  # noqa: F401,F403
from .minnorm import *  # noqa: F401,F403
from .norms import *  # noqa: F401,F403
from .polynomial import *  # noqa: F401,F403
from .random_features import *  # noqa: F401,F403
from .sharpness import *  # noqa: F401,F403
from .trace import *  # noqa: F401,F403

_MODULES = ("density", "effdim", "fisher", "hvp", "kernels", "lanczos", "landscape", "matrix_completion", "minnorm",
            "norms", "polynomial", "random_features", "sharpness", "trace")
# (``lanczos`` names both a submodule and its function; the function wins at package level)
__all__ = sorted({name for m in _MODULES for name in importlib.import_module(f"{__name__}.{m}").__all__})
