"""Copies of a finished run in the trackers people already use: TensorBoard event files and an MLflow run.

    whynets run double-descent --log tensorboard            # events in runs/double-descent/<hash>/tensorboard/
    whynets reproduce --log tensorboard,mlflow               # MLflow: runs/mlflow.db unless --mlflow-uri says
    whynets diagnose --demo --log tensorboard                # every diagnose stage's curves
    tensorboard --logdir runs                                # or W&B's sync_tensorboard, or Aim, on the same files
    mlflow ui --backend-store-uri sqlite:///runs/mlflow.db   # (the UI needs the full `pip install mlflow`)

    >>> from whynets.trackers import log_run
    >>> log_run(record, ("tensorboard", "mlflow"))          # the same from Python, for a record or a run folder

The whynets store stays the source of truth: a tracker is written when a run (or a diagnosis) is finished, from
its ``metrics.jsonl``, claims and figures, and a tracker that fails (not installed, a full disk, a server that does
not answer) prints one warning and the run goes on: nothing in the store depends on it. ``tensorboard/`` is
rewritten whole from the store each time (never half-written, never duplicated); each MLflow log is a new MLflow
run, tagged with the run folder and spec hash.

What is written, from each ``metrics.jsonl`` row (``whynets.record.metric_rows``): every number that is not a label
of its cell, as ``<metric>/<cell label>`` (``/member<k>`` for each member of a population) at the row's ``step``,
spelled in the alphabet both trackers keep (``clean_tag``: ``variant=p=0`` → ``variant_p_0``). MLflow also gets the spec's fields as
params, each claim's status as a tag and its deciding estimate and interval as metrics ``claim/<id>/...``, and
results.json, claims.json, claims.md and the figures as artifacts. TensorBoard gets the claims table as text.

Optional: ``pip install 'whynets[tensorboard]'`` (tensorboardX: no TensorFlow) and ``'whynets[mlflow]'``
(mlflow-skinny with SQLAlchemy for the local SQLite store).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from whynets.record import RunRecord
from whynets.spec import SpecError

from .mlflow_store import URI_ENV, default_mlflow_uri, write_mlflow
from .tags import clean_tag, mlflow_key, scalars
from .tensorboard import tensorboard_dir, write_tensorboard

__all__ = ["TRACKERS", "ENV", "URI_ENV", "parse_trackers", "requested", "check_installed", "log_run", "on_finish",
           "on_report", "scalars", "clean_tag", "mlflow_key", "tensorboard_dir", "write_tensorboard", "write_mlflow",
           "default_mlflow_uri"]

TRACKERS = ("tensorboard", "mlflow")
ENV = "WHYNETS_LOG"  # set by --log; a child process (reproduce --jobs) inherits it
_INSTALL = {"tensorboard": "pip install 'whynets[tensorboard]' (tensorboardX)",
            "mlflow": "pip install 'whynets[mlflow]' (mlflow-skinny, sqlalchemy, alembic)"}
_WARNED: set[str] = set()  # a tracker that fails says so once per process, not once per run


def parse_trackers(text: str | Sequence[str] | None, where: str = "--log") -> tuple[str, ...]:
    """``tensorboard,mlflow`` → ("tensorboard", "mlflow"); an unknown name is one line listing the known ones."""
    if not text:
        return ()
    items = text.split(",") if isinstance(text, str) else [t for item in text for t in item.split(",")]
    names = tuple(dict.fromkeys(t.strip().lower() for t in items if t.strip()))
    unknown = [n for n in names if n not in TRACKERS]
    if unknown:
        raise SpecError(f"{where} {','.join(unknown)}: unknown tracker; choose from {', '.join(TRACKERS)} "
                        "(comma-separated)")
    return names


def requested() -> tuple[str, ...]:
    return parse_trackers(os.environ.get(ENV, ""), ENV)


def check_installed(names: Iterable[str]) -> None:
    """One line before any work when a requested tracker's package is missing (a run is not started to fail)."""
    import importlib.util

    from whynets.errors import WhynetsError

    module = {"tensorboard": "tensorboardX", "mlflow": "mlflow"}
    missing = [n for n in names if importlib.util.find_spec(module[n]) is None]
    if missing:
        raise WhynetsError(f"--log {','.join(missing)}: not installed; " + "; ".join(_INSTALL[n] for n in missing))


def _warn(name: str, err: BaseException, log: Callable[[str], None]) -> None:
    if name in _WARNED:
        return
    _WARNED.add(name)
    hint = f"; {_INSTALL[name]}" if isinstance(err, ImportError) else ""
    text = " ".join(f"{type(err).__name__}: {err}".split())[:300]
    log(f"warning: --log {name}: not written ({text}){hint}; the run itself is complete in the store (further "
        f"{name} failures in this process are not repeated)")


def log_run(record: dict[str, Any] | str | Path, trackers: Sequence[str] | str = ("tensorboard",),
            folder: str | Path | None = None, mlflow_uri: str | None = None,
            log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Write a finished run (a record, or its run folder) to ``trackers``; returns where each went. A tracker that
    fails is warned about (once per process) and left out; the run in the store is never touched."""
    log = log or (lambda m: None)
    names = parse_trackers(trackers, "trackers")
    if isinstance(record, (str, Path)):
        record = RunRecord.load(record)
    folder = Path(folder) if folder is not None else getattr(record, "folder", None)
    if folder is None:
        raise SpecError("log_run: give the run folder (folder=...) or a record from wn.run / wn.load_run")
    from whynets.store import read_metrics

    done: dict[str, Any] = {}
    try:
        rows = read_metrics(Path(folder) / "metrics.jsonl")
    except (OSError, ValueError) as err:
        for n in names:
            _warn(n, err, log)
        return done
    for n in names:
        try:
            done[n] = (str(write_tensorboard(Path(folder), record, rows)) if n == "tensorboard"
                       else write_mlflow(Path(folder), record, rows, mlflow_uri))
        except Exception as err:  # noqa: BLE001 - a tracker never loses a run: warn, go on
            _warn(n, err, log)
    return done


def on_finish(folder: Path, record: dict[str, Any], log: Callable[[str], None]) -> None:
    """The store's hook, when a run's results.json is written: the trackers ``--log`` asked for (``WHYNETS_LOG``),
    and where they went in ``<folder>/trackers.json``."""
    try:
        names = requested()
    except SpecError as err:
        log(f"warning: {err}; no tracker written")
        return
    if not names:
        return
    done = log_run(record, names, folder=folder, log=log)
    if done:
        from whynets.store import atomic_write_json

        try:
            atomic_write_json(Path(folder) / "trackers.json", done)
        except OSError as err:
            log(f"warning: {folder / 'trackers.json'} not written ({err})")


def on_report(folder: Path, files: Iterable[Path], log: Callable[[str], None]) -> None:
    """Files drawn after the run was finished (a diagnosis' report.html and figures) added to its MLflow run."""
    path = Path(folder) / "trackers.json"
    if "mlflow" not in requested() or not path.exists():
        return
    try:
        where = json.loads(path.read_text())["mlflow"]
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=where["uri"])
        for f in files:
            if Path(f).exists():
                client.log_artifact(where["run_id"], str(f), "figures" if Path(f).suffix == ".png" else None)
    except Exception as err:  # noqa: BLE001 - a tracker never loses a run
        _warn("mlflow", err, log)
