"""Where the cells of a sweep (an experiment's run, a diagnosis's stages) are computed.

``local`` (the default): in this process, one after another (``whynets reproduce --jobs N`` runs N experiments in
N processes). ``ray``: every cell that is not in the store yet is a Ray task; Ray schedules, retries a task whose
worker died, and moves results. Nothing else schedules anything.

    whynets run double-descent --backend ray                     # a Ray cluster on this machine, every core
    ray start --head && whynets reproduce --backend ray --address auto
    whynets run double-descent --backend ray --address auto --shared-store    # workers write the store themselves

How a sequential ``run(spec, ctx)`` becomes parallel: the driver runs it; a cell that is not in the store is
submitted and a placeholder comes back (``Pending``). The run goes on, submitting every cell it can reach without
reading a result; the first read of a placeholder stops that pass (``CellPending``). The driver waits for a
finished task, writes its cell into the store, and runs ``run`` again: finished cells now load from the store
and the next ones are submitted. The last pass reads every cell from the store, exactly as a local run that finds
them there, so the results are the same. A sweep that declares its cells before reading them (a loop of
``ctx.train`` calls, then the numbers) submits them all in the first pass.

The store: a cluster often has no shared filesystem, so by default the results (result.json, metrics.jsonl and
every file the cell wrote, such as a parent's state) travel back through Ray and the driver is the only writer of
the store. A worker that needs a finished cell's files (a parent's state, a data file written by a cell) reads
them from the driver's node through a small Ray actor. With ``--shared-store`` (the store's path is the same
folder on every node: NFS, a cluster filesystem) workers compute and write their cells in place, under the same
per-cell locks as local runs. Either way a cell already in the store is never submitted, and a driver killed
mid-sweep resumes from the store: run the same command again.
"""

from __future__ import annotations

from whynets.errors import WhynetsError

from .pending import CellPending, Pending

__all__ = ["make_executor", "BackendError", "CellPending", "Pending", "BACKENDS"]

BACKENDS = ("local", "ray")


class BackendError(WhynetsError):
    """A backend that cannot be used here (unknown, Ray not installed, no cluster at the address)."""


def make_executor(backend: str = "local", address: str | None = None, shared_store: bool = False,
                  log=None, progress=None):
    """The executor for ``--backend`` (None for local: cells run in this process)."""
    if backend == "local":
        if address or shared_store:
            raise BackendError("--address and --shared-store are for --backend ray; add --backend ray, or drop them")
        return None
    if backend != "ray":
        raise BackendError(f"--backend {backend!r} is not known; choose one of {', '.join(BACKENDS)}")
    from .ray_backend import RayExecutor

    return RayExecutor(address=address, shared_store=shared_store, log=log, progress=progress)
