"""The notebooks in examples/ run headless, top to bottom, on the smoke sizes, so they never rot: a cell that raises
fails the test, and the outputs a reader relies on are checked (the record's and the diagnosis' HTML views with
their claims and figures, the DataFrames). The double-descent notebook reads the session's smoke store (its cells
are already computed by the smoke test of every experiment)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("pandas")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def _execute(name: str, out: Path, monkeypatch) -> list:
    monkeypatch.setenv("WHYNETS_EXAMPLES_PRESET", "smoke")
    monkeypatch.setenv("WHYNETS_EXAMPLES_OUT", str(out))
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend, as a user has it
    nb = nbformat.read(EXAMPLES / name, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(out)}})
    client.execute()
    return [c for c in nb.cells if c.cell_type == "code"]


def _outputs(cell, mime: str) -> str:
    return "".join(o.get("data", {}).get(mime, "") if o.output_type in ("execute_result", "display_data") else
                   o.get("text", "") if mime == "text/plain" and o.output_type == "stream" else ""
                   for o in cell.outputs)


def test_examples_are_the_three_notebooks():
    assert sorted(p.name for p in EXAMPLES.glob("*.ipynb")) == [
        "01_reproduce_double_descent.ipynb", "02_diagnose_your_model.ipynb", "03_infinite_width_kernels.ipynb"]
    for p in EXAMPLES.glob("*.ipynb"):  # committed without outputs: the diff of a notebook is its source
        nb = nbformat.read(p, as_version=4)
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), p.name


def test_reproduce_double_descent_notebook(smoke, monkeypatch):
    record = smoke.record("double-descent")
    cells = _execute("01_reproduce_double_descent.ipynb", smoke.out, monkeypatch)
    shown = _outputs(cells[1], "text/html")  # `record` as the notebook's display
    assert shown.count("<tr class='claim'>") == len(record["claims"])
    assert shown.count("data:image/png;base64,") == len(record["figures"])
    frame = _outputs(cells[2], "text/html")
    assert all(c["id"] in frame for c in record["claims"])
    undecided = sum(c["verdict"] == "inconclusive" for c in record["claims"])
    assert f"{undecided} inconclusive of {len(record['claims'])}" in _outputs(cells[4], "text/plain")


def test_diagnose_your_model_notebook(tmp_path, monkeypatch):
    cells = _execute("02_diagnose_your_model.ipynb", tmp_path, monkeypatch)
    shown = _outputs(cells[2], "text/html")  # `report` as the notebook's display
    assert "could this do as well?" in shown and "data:image/png;base64," in shown
    assert "alpha_lo" in _outputs(cells[4], "text/html")  # the per-layer spectra as a DataFrame
    assert "report.html" in _outputs(cells[7], "text/plain")


def test_infinite_width_kernels_notebook(tmp_path, monkeypatch):
    cells = _execute("03_infinite_width_kernels.ipynb", tmp_path, monkeypatch)
    assert "relative distance to the analytic NTK" in _outputs(cells[2], "text/plain")
    assert "image/png" in {k for o in cells[3].outputs for k in o.get("data", {})}
