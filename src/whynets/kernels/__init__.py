"""Infinite-width theory in PyTorch: mean-field signal propagation (``meanfield``) and the Lempel–Ziv complexity of
the Boolean functions random networks compute (``complexity``)."""

from .meanfield import *  # noqa: F401,F403
from .meanfield import __all__ as _meanfield_all

__all__ = [*_meanfield_all]
