"""A finished run as a new MLflow run: params (the spec), metrics, claims (tags, metrics, claims.json/.md), results
and figures (artifacts). A local SQLite store at the store's root unless a URI is given; SQLite written under a lock."""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from pathlib import Path
from typing import Any

from whynets.record import claim_rows

from .tags import mlflow_key, scalars

__all__ = ["write_mlflow", "default_mlflow_uri", "URI_ENV"]

URI_ENV = "WHYNETS_MLFLOW_URI"  # set by --mlflow-uri


def _spec_params(spec: Any, prefix: str = "spec") -> dict[str, str]:
    if isinstance(spec, dict):
        out: dict[str, str] = {}
        for k, v in spec.items():
            out.update(_spec_params(v, f"{prefix}.{k}"))
        return out
    return {prefix: json.dumps(spec, default=str)[:6000]}


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
