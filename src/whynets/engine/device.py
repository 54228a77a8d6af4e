"""Device choice and CPU threads."""

from __future__ import annotations

import os

import torch

from whynets.errors import WhynetsError

__all__ = ["resolve_device", "configure_threads", "DeviceError"]


class DeviceError(WhynetsError, ValueError):
    """A device or thread setting that this machine cannot honour."""


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA when present, else CPU; ``cuda`` without a GPU is an error, not a silent fallback."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceError(f"--device {name} was asked for but torch sees no CUDA device (torch {torch.__version__}); "
                          "use --device cpu or --device auto")
    if name != "cpu" and not (name == "cuda" or (name.startswith("cuda:") and name[5:].isdigit())):
        raise DeviceError(f"unknown device {name!r}; use auto, cpu, cuda or cuda:N")
    return torch.device(name)


def configure_threads(threads: int | None = None) -> int:
    """Use one intra-op thread per available core (``WHYNETS_THREADS`` overrides), for torch and for the native
    thread pools scikit-learn uses; returns the count."""
    if threads is None:
        env = os.environ.get("WHYNETS_THREADS")
        try:
            available = len(os.sched_getaffinity(0))
        except AttributeError:
            available = os.cpu_count() or 1
        if env and not (env.strip().isdigit() and int(env) > 0):
            raise DeviceError(f"WHYNETS_THREADS must be a positive whole number of threads, got {env!r} "
                              "(unset it to use one thread per core)")
        threads = int(env) if env else available
    torch.set_num_threads(max(1, threads))
    try:  # scikit-learn's OpenMP/BLAS pools too (boosted trees, SVMs): the same budget, so no process oversubscribes
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=max(1, threads))
    except ImportError:  # threadpoolctl comes with scikit-learn; without it only torch is limited
        pass
    return torch.get_num_threads()
