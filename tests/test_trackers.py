"""Trackers read back and compared with the store: TensorBoard event files (parsed here from their record framing and
protobufs, not through the writer) and an MLflow SQLite store (through MLflow's own client) hold exactly the numbers
of the run's metrics.jsonl; the CLI's --log writes them for a run and for every diagnose stage; a tracker that fails
warns once and the run stays complete in the store."""

from __future__ import annotations

import json
import re
import shutil
import struct
from pathlib import Path

import pytest
from typer.testing import CliRunner

import tiny_diagnosis
from whynets import trackers
from whynets.cli.main import app
from whynets.store import read_metrics

METRICS = ("train_loss", "train_acc", "test_loss", "test_acc")


def read_events(folder: Path) -> list:
    """Every Event in the event files under ``folder``: TFRecord framing (length, its CRC, data, its CRC), parsed
    with the TensorBoard protobuf; a record whose data CRC does not match fails."""
    from tensorboardX.crc32c import crc32c
    from tensorboardX.proto.event_pb2 import Event

    def masked(data: bytes) -> int:
        crc = crc32c(data)
        return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF

    events = []
    for path in sorted(folder.rglob("events.out.tfevents.*")):
        raw = path.read_bytes()
        i = 0
        while i < len(raw):
            (length,) = struct.unpack("<Q", raw[i:i + 8])
            data = raw[i + 12:i + 12 + length]
            (crc,) = struct.unpack("<I", raw[i + 12 + length:i + 16 + length])
            assert crc == masked(data), f"{path}: a damaged record at byte {i}"
            events.append(Event.FromString(data))
            i += 16 + length
    return events


def expected_from_metrics(folder: Path) -> dict[tuple[str, int], float]:
    """What the trackers must hold, read straight from metrics.jsonl: each training metric of each member of each
    cell at its step, under ``<metric>/<cell label>/member<k>`` (the cell's name without its hash, every character
    but letters, digits and ``_ . - /`` spelled ``_``)."""
    out = {}
    for row in read_metrics(folder / "metrics.jsonl"):
        label = re.sub(r"[^-/\w.]", "_", row["cell"].rsplit("-", 1)[0])
        for k in METRICS:
            if k in row:
                for m, v in enumerate(row[k]):
                    out[(f"{k}/{label}/member{m}", row["step"])] = v
    return out


@pytest.fixture()
def run_copy(smoke, tmp_path) -> Path:
    """A copy of the smoke run of random-labels (the trackers write into a run folder; the shared store is left)."""
    smoke.record("random-labels")
    folder = tmp_path / "store" / "random-labels" / smoke.folder("random-labels").name
    shutil.copytree(smoke.folder("random-labels"), folder)
    return folder


def test_tensorboard_event_files_hold_every_metric_of_the_run(run_copy):
    record = json.loads((run_copy / "results.json").read_text())
    done = trackers.log_run(run_copy, ("tensorboard",))
    assert done == {"tensorboard": str(run_copy / "tensorboard")}
    events = read_events(run_copy / "tensorboard")
    scalars = {(v.tag, e.step): v.simple_value for e in events for v in e.summary.value if v.HasField("simple_value")}
    expected = expected_from_metrics(run_copy)
    assert len(expected) > 50
    for key, value in expected.items():
        assert scalars[key] == pytest.approx(value, rel=1e-6, abs=1e-7), key  # event files hold float32
    # nothing but the metrics of metrics.jsonl: every scalar is one of its numbers
    numbers = sum(isinstance(v, (int, float)) and not isinstance(v, bool) for r in read_metrics(run_copy / "metrics.jsonl")
                  for k, vs in r.items() if k not in ("step", "seed", "corruption", "cell")
                  for v in (vs if isinstance(vs, list) else [vs]))
    assert len(scalars) == numbers
    texts = [v for e in events for v in e.summary.value if v.tag.startswith("claims")]
    assert texts and all(c["id"] in texts[0].tensor.string_val[0].decode() for c in record["claims"])
    trackers.log_run(run_copy, ("tensorboard",))  # a second log replaces the first, never doubles it
    assert len(read_events(run_copy / "tensorboard")) == len(events)


def test_mlflow_store_holds_params_metrics_claims_and_figures(run_copy, tmp_path):
    from mlflow.tracking import MlflowClient

    from whynets.report import status

    record = json.loads((run_copy / "results.json").read_text())
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    done = trackers.log_run(run_copy, ("mlflow",), mlflow_uri=uri)["mlflow"]
    client = MlflowClient(tracking_uri=uri)
    run = client.get_run(done["run_id"])
    assert run.info.status == "FINISHED" and run.data.tags["whynets.spec_hash"] == record["spec_hash"]
    assert json.loads(run.data.params["spec.train.steps"]) == record["spec"]["train"]["steps"]
    expected = expected_from_metrics(run_copy)
    keys = {trackers.mlflow_key(tag) for tag, _ in expected}
    assert keys <= set(run.data.metrics)
    history = {(key, m.step): m.value for key in keys for m in client.get_metric_history(run.info.run_id, key)}
    assert len(history) == len(expected)
    for (tag, step), value in expected.items():
        assert history[(trackers.mlflow_key(tag), step)] == pytest.approx(value, rel=1e-12), tag
    for c in record["claims"]:
        assert run.data.tags[trackers.mlflow_key(f"claim.{c['id']}")] == status(c)
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {"claims.json", "claims.md", "results.json", "figures"} <= artifacts
    figures = {Path(a.path).name for a in client.list_artifacts(run.info.run_id, "figures")}
    assert figures == set(record["figures"])


def test_cli_log_writes_trackers_for_a_run_and_refuses_an_unknown_one(smoke, tmp_path, monkeypatch):
    monkeypatch.setenv(trackers.ENV, "")  # restored after the test: --log sets it for the process
    monkeypatch.setenv(trackers.URI_ENV, "")
    res = CliRunner().invoke(app, ["run", "random-labels", "--preset", "smoke", "--out", str(tmp_path), "--log", "nope"])
    assert res.exit_code == 2 and "--log nope: unknown tracker; choose from tensorboard, mlflow" in res.output
    for command in (["reproduce", "min-norm"], ["diagnose", "--demo"]):  # refused before any work
        res = CliRunner().invoke(app, [*command, "--out", str(tmp_path), "--log", "tensorboard,nope"])
        assert res.exit_code == 2 and "--log nope: unknown tracker" in res.output, res.output
    smoke.record("random-labels")
    out = tmp_path / "store"
    shutil.copytree(smoke.out / "random-labels", out / "random-labels")  # every cell done: the run only finishes
    res = CliRunner().invoke(app, ["run", "random-labels", "--preset", "smoke", "--out", str(out), "--device", "cpu",
                                   "--no-escalate", "--log", "tensorboard,mlflow"])
    assert res.exit_code == 0, res.output
    folder = out / "random-labels" / smoke.folder("random-labels").name
    where = json.loads((folder / "trackers.json").read_text())
    assert where["tensorboard"] == str(folder / "tensorboard") and where["mlflow"]["uri"].endswith(str(out / "mlflow.db"))
    tags = {v.tag for e in read_events(folder / "tensorboard") for v in e.summary.value}
    assert {tag for tag, _ in expected_from_metrics(folder)} <= tags


def test_every_diagnose_stage_goes_to_tensorboard(monkeypatch):
    diagnosis = tiny_diagnosis.shared()
    monkeypatch.setenv(trackers.ENV, "tensorboard")
    again = tiny_diagnosis.diagnose(diagnosis.folder)  # every stage is in the store: only the finish runs again
    assert again.record["cells"]["computed"] == 0
    folder = next(p.parent for p in (diagnosis.folder / "diagnose").glob("*/results.json"))
    tags = {v.tag for e in read_events(folder / "tensorboard") for v in e.summary.value}
    assert {tag for tag, _ in expected_from_metrics(folder)} <= tags
    stages = {t.split("/")[1].split("_")[1] for t in tags if t.startswith("test_acc/")}
    assert {"dense", "ticket", "student", "control"} <= stages


def test_a_failing_tracker_warns_once_and_never_loses_the_run(smoke, tmp_path, monkeypatch):
    import whynets as wn

    def full_disk(*_, **__):
        raise OSError(28, "No space left on device")

    smoke.record("random-labels")
    shutil.copytree(smoke.out / "random-labels", tmp_path / "random-labels")
    monkeypatch.setattr(trackers, "_WARNED", set())
    monkeypatch.setattr(trackers, "write_tensorboard", full_disk)
    monkeypatch.setenv(trackers.ENV, "tensorboard,mlflow")
    (tmp_path / "a-file").write_text("")  # an MLflow store that cannot be made: its folder is a file
    monkeypatch.setenv(trackers.URI_ENV, f"sqlite:///{tmp_path / 'a-file' / 'mlflow.db'}")
    said: list[str] = []
    first = wn.run("random-labels", preset="smoke", out=tmp_path, device="cpu", escalate=False, log=said.append)
    second = wn.run("random-labels", preset="smoke", out=tmp_path, device="cpu", escalate=False, log=said.append)
    warnings = [line for line in said if line.startswith("warning: --log")]
    assert len(warnings) == 2, said  # one per failing tracker, not one per run
    assert any("tensorboard: not written (OSError" in w for w in warnings)
    assert any("mlflow: not written" in w for w in warnings)
    folder = tmp_path / "random-labels" / first["spec_hash"]
    assert json.loads((folder / "status.json").read_text())["state"] == "done"
    assert json.loads((folder / "results.json").read_text())["claims"] == json.loads(json.dumps(second["claims"]))
    assert not (folder / "tensorboard").exists() and not (folder / "trackers.json").exists()
