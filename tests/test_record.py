"""The record wn.run returns: still the results.json dict (JSON, equality, pickling, indexing unchanged), plus its
DataFrames (claims, metrics) and its Jupyter view, each checked against the record and metrics.jsonl it comes from;
a diagnosis' per-layer tables against its record; pandas optional (one line when it is missing)."""

from __future__ import annotations

import json
import pickle
import sys

import pytest

import tiny_diagnosis
import whynets as wn
from whynets.errors import WhynetsError
from whynets.record import ClaimsTable, RunRecord, deciding_check
from whynets.report import status
from whynets.store import StoreError, read_metrics

pd = pytest.importorskip("pandas")


def test_the_record_is_still_the_results_json_dict(smoke):
    record = smoke.record("double-descent")
    folder = smoke.folder("double-descent")
    assert isinstance(record, RunRecord) and isinstance(record, dict) and record.folder == folder
    assert isinstance(record["claims"], ClaimsTable) and isinstance(record["claims"], list)
    same = lambda r: json.dumps(r, sort_keys=True)  # noqa: E731 - NaN != NaN, so compare as JSON text
    stored = json.loads((folder / "results.json").read_text())
    assert same(stored) == same(wn.load_run(folder)) and record["spec_hash"] == stored["spec_hash"]
    # other tests may rerun the session's smoke experiments into the same store (cells loaded, another wall time)
    steady = lambda r: same({k: v for k, v in r.items() if k not in ("wall_s", "cells", "env", "started", "finished")})  # noqa: E731
    assert steady(record) == steady(stored)
    again = pickle.loads(pickle.dumps(record))
    assert same(again) == same(record) and again.folder == folder and isinstance(again["claims"], ClaimsTable)


def test_claims_frame_has_one_row_per_claim_with_its_deciding_interval(smoke):
    record = smoke.record("double-descent")
    frame = record.claims_frame()
    assert list(frame.claim) == [c["id"] for c in record["claims"]]
    assert list(frame.status) == [status(c) for c in record["claims"]]
    for row, c in zip(frame.itertuples(), record["claims"]):
        check = deciding_check(c)
        if check is not None and check["op"] != "all":
            assert (row.estimate, row.lo, row.hi) == (check["estimate"], *check["interval"])
            assert row.lo <= row.estimate <= row.hi
    checks = record.claims_frame(checks=True)
    assert len(checks) == sum(len(c["checks"]) + len((c.get("expected") or {}).get("checks", []))
                              for c in record["claims"])
    assert set(checks.role) <= {"paper", "predicted instead"}


def test_metrics_frame_is_metrics_jsonl_one_row_per_member(smoke):
    record = smoke.record("random-labels")
    rows = read_metrics(smoke.folder("random-labels") / "metrics.jsonl")
    frame = record.metrics_frame()
    assert len(frame) == sum(len(r["train_loss"]) for r in rows)
    assert {"variant", "step", "member", "cell", "train_loss", "test_acc"} <= set(frame.columns)
    got = frame.sort_values(["cell", "step", "member"]).train_loss.tolist()
    want = [v for r in sorted(rows, key=lambda r: (r["cell"], r["step"])) for v in r["train_loss"]]
    assert got == want


def test_the_notebook_view_shows_every_claim_and_figure(smoke):
    record = smoke.record("double-descent")
    view = record._repr_html_()
    assert view.count("<tr class='claim'>") == len(record["claims"])
    assert view.count("data:image/png;base64,") == len(record["figures"]) > 0
    assert "<body" not in view and "<style>.whynets" in view  # a fragment, its style scoped to itself
    assert record["claims"]._repr_html_().count("<tr class='claim'>") == len(record["claims"])


def test_load_run_of_a_folder_without_a_run_is_one_line(tmp_path):
    with pytest.raises(StoreError, match="no results.json here; give a finished run folder"):
        wn.load_run(tmp_path)


def test_without_pandas_a_frame_says_how_to_install_it(smoke, monkeypatch):
    record = smoke.record("double-descent")
    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now raises ImportError
    with pytest.raises(WhynetsError, match=r"pip install 'whynets\[pandas\]'"):
        record.claims_frame()


def test_diagnosis_tables_and_view():
    diagnosis = tiny_diagnosis.shared()
    answers = diagnosis.record["answers"]
    spectra = diagnosis.spectra_frame()
    s = answers["parameters"]["spectra"]
    assert len(spectra) == sum(len(s[k]["layers"]) for k in ("yours", "at_init", "random_labels") if s.get(k))
    yours = spectra[spectra.model == "yours"]
    assert list(yours.layer) == [layer["name"] for layer in s["yours"]["layers"]]
    assert list(yours.alpha) == [layer["alpha"] for layer in s["yours"]["layers"]]
    assert ((yours.alpha_lo <= yours.alpha) & (yours.alpha <= yours.alpha_hi)).all()
    curvature = diagnosis.curvature_frame().set_index("measure")
    c = answers["parameters"]["curvature"]
    assert curvature.loc["lambda_max", "value"] == c["lambda_max"]
    assert (curvature.loc["trace", "lo"], curvature.loc["trace", "hi"]) == tuple(c["trace"]["interval"])
    simpler = diagnosis.simpler_frame()
    assert len(simpler) == len(answers["simpler"]["points"]) and (simpler.lo <= simpler.hi).all()
    view = diagnosis._repr_html_()
    assert view.count("data:image/png;base64,") == len(list((diagnosis.folder / "figures").glob("*.png"))) > 0
    assert "<body" not in view and all(p["name"] in view for p in answers["simpler"]["points"])


def test_a_table_of_a_question_not_asked_is_one_line():
    from whynets.diagnosis.frames import spectra_rows

    with pytest.raises(WhynetsError, match="did not answer question 4"):
        spectra_rows({"answers": {"simpler": {}}})
