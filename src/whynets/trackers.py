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

import contextlib
import json
import math
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from whynets.record import RunRecord, claim_rows, metric_rows, scalar_items
from whynets.spec import SpecError

__all__ = ["TRACKERS", "ENV", "URI_ENV", "parse_trackers", "requested", "log_run", "on_finish", "on_report",
           "scalars", "clean_tag", "mlflow_key", "tensorboard_dir"]

TRACKERS = ("tensorboard", "mlflow")
ENV = "WHYNETS_LOG"  # set by --log; a child process (reproduce --jobs) inherits it
URI_ENV = "WHYNETS_MLFLOW_URI"  # set by --mlflow-uri
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


# ---- what is logged -----------------------------------------------------------------------------------------------
def _group(cell: str | None, slugs: dict[str, int]) -> str:
    if not cell:
        return "run"
    slug, _, digest = cell.rpartition("-")
    if not slug:
        return cell
    return slug if slugs.get(slug, 0) <= 1 else cell  # two cells with one label keep their hash apart


def scalars(rows: list[dict[str, Any]]) -> list[tuple[str, int, float]]:
    """(tag, step, value) for every measured number of ``metrics.jsonl`` rows: the one rule both trackers follow."""
    cells = {r.get("cell") for r in rows if isinstance(r.get("cell"), str)}
    slugs: dict[str, int] = {}
    for c in cells:
        slug = c.rpartition("-")[0]
        slugs[slug] = slugs.get(slug, 0) + 1
    out, counters = [], {}
    for flat in metric_rows(rows):
        group = _group(flat.get("cell"), slugs)
        step = flat.get("step")
        if not isinstance(step, int) or isinstance(step, bool):
            step = counters.get(group, 0)
            counters[group] = step + 1
        member = f"/member{flat['member']}" if "member" in flat else ""
        out += [(clean_tag(f"{name}/{group}{member}"), step, value) for name, value in scalar_items(flat)]
    return out


def clean_tag(tag: str) -> str:
    """A name both trackers keep as it is: letters, digits, ``_ . - /`` (TensorBoard's tag alphabet, inside MLflow's
    key alphabet), every other character ``_`` (``variant=p=0`` → ``variant_p_0``); no empty or dot-only path part."""
    key = re.sub(r"[^-/\w.]", "_", tag)
    key = re.sub(r"/+", "/", key).strip("/")
    return "/".join(part.replace(".", "_") if set(part) <= {"."} else part for part in key.split("/"))


def mlflow_key(tag: str) -> str:
    """``clean_tag`` within MLflow's 250 characters (a longer one keeps its start and a digest of the whole)."""
    key = clean_tag(tag)
    if len(key) > 250:
        import hashlib

        key = key[:237] + "-" + hashlib.sha256(tag.encode()).hexdigest()[:12]
    return key


def tensorboard_dir(folder: Path) -> Path:
    return Path(folder) / "tensorboard"


def _spec_params(spec: Any, prefix: str = "spec") -> dict[str, str]:
    if isinstance(spec, dict):
        out: dict[str, str] = {}
        for k, v in spec.items():
            out.update(_spec_params(v, f"{prefix}.{k}"))
        return out
    return {prefix: json.dumps(spec, default=str)[:6000]}


# ---- the writers --------------------------------------------------------------------------------------------------
def write_tensorboard(folder: Path, record: dict[str, Any], rows: list[dict[str, Any]]) -> Path:
    """``<folder>/tensorboard/``: one event file of every scalar (and the claims as text), written in a temp folder
    and then put in place, so a reader never sees half of it and a second log replaces the first."""
    from tensorboardX import SummaryWriter

    from whynets.report.claims import markdown_table

    target = tensorboard_dir(folder)
    tmp = folder / f".tensorboard.tmp{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        writer = SummaryWriter(logdir=str(tmp), flush_secs=3600, max_queue=1 << 16)
        wall = time.time()
        for tag, step, value in scalars(rows):
            writer.add_scalar(tag, value, global_step=step, walltime=wall)
        if record.get("claims"):
            writer.add_text("claims", markdown_table(list(record["claims"])), global_step=0, walltime=wall)
        writer.close()
        old = folder / f".tensorboard.old{os.getpid()}"
        if target.exists():
            target.rename(old)
        tmp.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def default_mlflow_uri(folder: Path) -> str:
    """A SQLite file at the store's root (``<out>/mlflow.db``): runs of every experiment side by side."""
    return f"sqlite:///{(Path(folder).resolve().parent.parent / 'mlflow.db')}"


def write_mlflow(folder: Path, record: dict[str, Any], rows: list[dict[str, Any]], uri: str | None = None) -> dict:
    """A new MLflow run in experiment ``whynets/<experiment>``: params, metrics, claims, figures, results."""
    import logging

    import mlflow  # noqa: F401 - configures its loggers on import; quieted below

    for name in ("alembic", "mlflow"):  # a new SQLite file's migrations print a dozen INFO lines
        logging.getLogger(name).setLevel(logging.WARNING)
    folder = Path(folder)
    uri = uri or os.environ.get(URI_ENV) or default_mlflow_uri(folder)
    with _sqlite_lock(uri):  # reproduce --jobs: one process at a time creates and writes a SQLite store
        return _write_mlflow(folder, record, rows, uri)


@contextlib.contextmanager
def _sqlite_lock(uri: str):
    if not uri.startswith("sqlite:///"):
        yield
        return
    import fcntl

    path = Path(uri[len("sqlite:///"):])
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _write_mlflow(folder: Path, record: dict[str, Any], rows: list[dict[str, Any]], uri: str) -> dict:
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    from whynets.report.claims import markdown_table

    client = MlflowClient(tracking_uri=uri)
    name = f"whynets/{record.get('experiment') or folder.parent.name}"
    experiment = client.get_experiment_by_name(name)
    if experiment is None:
        location = (Path(uri[len("sqlite:///"):]).parent / "mlartifacts").resolve().as_uri() if \
            uri.startswith("sqlite:///") else None
        experiment_id = client.create_experiment(name, artifact_location=location)
    else:
        experiment_id = experiment.experiment_id
    tags = {"whynets.folder": str(folder.resolve()), "whynets.spec_hash": str(record.get("spec_hash")),
            "whynets.preset": str(record.get("preset")), "whynets.setting": str(record.get("setting", "default"))}
    run = client.create_run(experiment_id, run_name=f"{record.get('preset') or 'diagnose'}-{record.get('spec_hash')}",
                            tags=tags)
    run_id = run.info.run_id
    try:
        params = {"experiment": str(record.get("experiment") or name), **_spec_params(record.get("spec", {}))}
        stamp = int(time.time() * 1000)
        metrics = [Metric(mlflow_key(tag), value, stamp, step) for tag, step, value in scalars(rows)]
        claims = list(record.get("claims") or [])
        claim_tags = [RunTag(mlflow_key(f"claim.{c['claim']}"), c["status"]) for c in claim_rows(claims)]
        for c in claim_rows(claims):
            for k in ("estimate", "lo", "hi", "margin"):
                if isinstance(c[k], float) and math.isfinite(c[k]):
                    metrics.append(Metric(mlflow_key(f"claim/{c['claim']}/{k}"), c[k], stamp, 0))
        items = [Param(mlflow_key(k), v) for k, v in params.items()]
        for i in range(0, len(items), 100):
            client.log_batch(run_id, params=items[i:i + 100])
        for i in range(0, len(claim_tags), 100):
            client.log_batch(run_id, tags=claim_tags[i:i + 100])
        for i in range(0, len(metrics), 1000):
            client.log_batch(run_id, metrics=metrics[i:i + 1000])
        if claims:
            client.log_dict(run_id, claims, "claims.json")
            client.log_text(run_id, markdown_table(claims), "claims.md")
        if (folder / "results.json").exists():
            client.log_artifact(run_id, str(folder / "results.json"))
        for png in record.get("figures") or []:
            if (folder / "figures" / png).exists():
                client.log_artifact(run_id, str(folder / "figures" / png), "figures")
        client.set_terminated(run_id, "FINISHED")
    except BaseException:
        client.set_terminated(run_id, "FAILED")
        raise
    return {"uri": uri, "experiment": name, "run_id": run_id}


# ---- hooks --------------------------------------------------------------------------------------------------------
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
