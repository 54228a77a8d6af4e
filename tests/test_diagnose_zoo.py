"""Every question of ``whynets diagnose`` on every architecture of the zoo (tests/zoo.py: an MLP with dropout, a CNN
with BatchNorm on digits, a small ResNet, a GRU and an LSTM sequence classifier, a Transformer encoder, an embedding
model on token ids, a LayerNorm residual regressor and a multi-output regressor), each with its data and trained
weights written here as a user would have them, through the CLI at smoke settings: each question answers, or says
what it does not cover and why — never a traceback.

The numbers are smoke-sized; what is asserted is what must hold for ANY model: the record is valid JSON without NaN,
every comparison with the user's model is paired on the test examples and stays in the metric's range, every
certificate names what it charged, question 4 reads every weight matrix of the model or names what it skipped."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from typer.testing import CliRunner

import zoo
from whynets.cli.main import app

SMOKE = ["train.steps=20", "train.eval_points=2", "train.batch_size=40", "seeds=0,1", "prune_rounds=1",
         "rewind_step=5", "prune_scopes=layerwise", "student_widths=8", "classical=logistic,ridge,knn",
         "spectra_boot=5", "top_k=2", "trace_matvecs=6", "curvature_examples=80", "transfer_factor=1",
         "width_factors=0.5,1", "pac_bayes_iters=10", "subspace_dims=8", "subspace_levels=4"]


def _no_nan(value) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_no_nan(v) for v in value.values())
    if isinstance(value, list):
        return all(_no_nan(v) for v in value)
    return True


def _zoo_diagnosis(name: str, tmp_path: Path) -> tuple[torch.nn.Module, list[str]]:
    """A zoo model's data and trained weights written under tmp_path as a user would have them; (the trained net, the CLI
    arguments that diagnose it with every question at smoke settings)."""
    data = zoo.make_data(zoo.ZOO[name][1], n_train=120, n_test=60)
    np.savez(tmp_path / "data.npz", **data)
    net = zoo.trained(name, data, steps=60)
    save_file({k: v.detach().contiguous() for k, v in net.state_dict().items()}, str(tmp_path / "net.safetensors"))
    args = ["diagnose", "--model", f"{zoo.__file__}:{name}", "--weights", str(tmp_path / "net.safetensors"),
            "--data", str(tmp_path / "data.npz"), "--out", str(tmp_path / "diag"), "--width-arg", "hidden",
            "--questions", "simpler,overparameterization,bound,parameters,recommend"]
    for s in SMOKE:
        args += ["--set", s]
    return net, args


@pytest.mark.slow
@pytest.mark.parametrize("name", list(zoo.ZOO))
def test_every_question_on_every_zoo_model(name, tmp_path):
    factory, kind, hidden = zoo.ZOO[name]
    net, args = _zoo_diagnosis(name, tmp_path)
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "Traceback" not in res.output
    text = (tmp_path / "diag" / "diagnosis.json").read_text()
    assert "NaN" not in text and "Infinity" not in text  # valid JSON
    record = json.loads(text)
    assert _no_nan(record)
    regression = record["regression"]
    assert regression == (kind in ("regression", "multi_regression"))
    answers = record["answers"]
    assert set(answers) == {"simpler", "overparameterization", "bound", "parameters", "recommend"}

    # 1: every candidate judged against yours, paired on the test examples, inside the metric's range
    points = answers["simpler"]["points"]
    assert {"ticket", "control", "student-mimic", "student-labels", "classical"} <= {p["kind"] for p in points}
    for p in points:
        assert p["verdict"] in ("pass", "fail", "inconclusive", "no verdict")
        lo, hi = p["interval"]
        assert 0 <= lo <= hi and (regression or hi <= 100)
        assert p["method"].startswith(("paired with yours", "degenerate"))
    names = {p["name"].split(" (")[0] for p in points if p["kind"] == "classical"}
    assert ("ridge" in names) == regression and ("logistic" in names) != regression
    assert "ticket" in answers["simpler"]["verdict"]["text"]  # the tickets against their controls, in words

    # 2: the width sweep ran on the factory's own keyword
    width = answers["overparameterization"]
    assert [r["width"] for r in width["rows"]] == sorted({max(1, round(hidden * 0.5)), hidden})

    # 3: certificates that name what they charged; the minimum is union-bounded
    bound = answers["bound"]
    pac = next(b for b in bound["bounds"] if b["name"].startswith("PAC-Bayes"))
    floating = [k for k, v in net.state_dict().items() if v.is_floating_point()]
    assert sorted(pac["charged"]) == sorted(floating)  # every parameter and floating buffer is in the posterior
    assert bound["delta_each"] == pytest.approx(0.05 / bound["union"])
    if regression:
        assert bound["clip"] > 0 and "clipped" in bound["verdict"]
        assert all(b["value"] is None for b in bound["bounds"] if b.get("reference"))  # said why not, in words
    else:
        assert "test-set bound" in bound["verdict"]

    # 4: every weight matrix read, per gate / per projection, or named with the reason it was skipped
    spectra = answers["parameters"]["spectra"]["yours"]
    read = [l["name"] for l in spectra["layers"]] + [n for n, _ in spectra["summary"]["skipped"]]
    for pname, p in net.named_parameters():
        owner = pname.rsplit(".", 1)[0]
        assert any(r == pname or r == owner or r.startswith(pname + "[") for r in read), (pname, read)
    if name in ("gru", "lstm"):
        assert any("[update]" in r or "[forget]" in r for r in read)
    if name == "transformer":
        assert {"[q]", "[k]", "[v]"} <= {r[-3:] for r in read}
    if "cannot batch" in res.output or "BatchNorm" in res.output:
        assert record["vectorized"].startswith("member by member")
    assert answers["parameters"]["spectra"]["control"] == ("shuffled targets" if regression else "random labels")
    # 5: measured on every model; mean field only where it applies, and said so where it does not
    rec = answers["recommend"]
    assert rec["init"]["signals"]["layers"] and rec["lr"]["lambda_max"] > 0
    assert rec["checks"]["lr"]["verdict"] in ("pass", "fail", "inconclusive")
    if name == "mlp_dropout":
        assert rec["init"]["covered"] and rec["init"]["stack"]["activation"] == "relu"
    if name in ("gru", "lstm", "transformer", "cnn_bn", "resnet", "embedding", "regressor"):
        assert not rec["init"]["covered"] and any("does not cover" in line for line in rec["verdict"])
    page = (tmp_path / "diag" / "report.html").read_text()
    assert page.count("data:image/png;base64,") >= 4


def test_a_factory_keyword_that_does_not_exist_is_refused_before_any_work(tmp_path):
    data = zoo.make_data("features", 60, 30)
    np.savez(tmp_path / "data.npz", **data)
    net = zoo.trained("mlp_dropout", data, steps=5)
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(tmp_path / "net.safetensors"))
    base = ["diagnose", "--model", f"{zoo.__file__}:mlp_dropout", "--weights", str(tmp_path / "net.safetensors"),
            "--data", str(tmp_path / "data.npz"), "--out", str(tmp_path / "d")]
    res = CliRunner().invoke(app, base + ["--width-arg", "width", "--questions", "overparameterization"])
    assert res.exit_code == 2 and "takes no keyword 'width'" in res.output and "hidden" in res.output
    assert not (tmp_path / "d" / "diagnose").exists()  # nothing computed, nothing stored
    res = CliRunner().invoke(app, base + ["--model-arg", "depth=3"])
    assert res.exit_code == 2 and "takes no keyword 'depth'" in res.output
    for bad in ("top_k=-1", "transfer_factor=-1", "classical=bogus", "pac_bayes_iters=-5", "width_factors=-1"):
        res = CliRunner().invoke(app, base + ["--set", bad])
        assert res.exit_code == 2 and bad.split("=")[0] in res.output and "Traceback" not in res.output, res.output
    torch.save({"w": torch.zeros(3)}, tmp_path / "init.pt")
    res = CliRunner().invoke(app, base + ["--init", str(tmp_path / "init.pt")])
    assert res.exit_code == 2 and "--init" in res.output and "does not fit" in res.output
    assert not (tmp_path / "d" / "diagnose").exists()


def test_weights_mistakes_get_one_line_and_npz_state_dicts_are_read(tmp_path):
    data = zoo.make_data("features", 60, 30)
    np.savez(tmp_path / "data.npz", **data)
    net = zoo.trained("mlp_dropout", data, steps=5)
    base = ["diagnose", "--model", f"{zoo.__file__}:mlp_dropout", "--data", str(tmp_path / "data.npz"),
            "--out", str(tmp_path / "d"), "--questions", "parameters", "--set", "spectra_boot=2", "--set", "top_k=1",
            "--set", "trace_matvecs=6", "--set", "train.steps=5", "--set", "seeds=0"]
    res = CliRunner().invoke(app, base + ["--weights", str(tmp_path)])
    assert res.exit_code == 2 and "is a folder" in res.output
    np.savez(tmp_path / "w.npz", **{k: v.numpy() for k, v in net.state_dict().items()})
    res = CliRunner().invoke(app, base + ["--weights", str(tmp_path / "w.npz")])
    assert res.exit_code == 0, res.output  # a state dict as numeric arrays is read without unpickling
    np.savez(tmp_path / "obj.npz", w=np.array([{"a": 1}], dtype=object))
    res = CliRunner().invoke(app, base + ["--weights", str(tmp_path / "obj.npz")])
    assert res.exit_code == 2 and "object arrays" in res.output and "Traceback" not in res.output
    broken = {k: v.clone() for k, v in net.state_dict().items()}
    broken["net.1.weight"][0, 0] = float("nan")
    save_file(broken, str(tmp_path / "nan.safetensors"))
    res = CliRunner().invoke(app, base + ["--weights", str(tmp_path / "nan.safetensors")])
    assert res.exit_code == 2 and "NaN" in res.output and "transfer" not in res.output


def test_damaged_demo_weights_are_trained_again(tmp_path):
    from whynets.cli.diagnose_cmd import demo_weights
    from whynets.diagnosis import DiagnoseSpec

    spec = DiagnoseSpec().override(["train.steps=3", "train.eval_points=1", "rewind_step=1"])
    lines = []
    w, i = demo_weights(tmp_path, spec, lines.append)
    Path(w).write_bytes(b"not a safetensors file")
    w2, _ = demo_weights(tmp_path, spec, lines.append)
    assert w2 == w and any("damaged" in line for line in lines)
    from whynets.diagnosis import load_weights
    assert load_weights(w2)  # readable again
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


def test_a_model_that_does_not_fit_the_data_and_an_output_that_is_a_file_get_one_line(tmp_path):
    data = zoo.make_data("digits", 60, 30)
    np.savez(tmp_path / "data.npz", **data)
    (tmp_path / "wrong.py").write_text("import torch.nn as nn\ndef make():\n    return nn.Sequential(nn.Linear(10, 3))\n")
    res = CliRunner().invoke(app, ["diagnose", "--model", f"{tmp_path / 'wrong.py'}:make", "--data",
                                   str(tmp_path / "data.npz"), "--out", str(tmp_path / "d")])
    assert res.exit_code == 2 and "forward pass" in res.output and "Traceback" not in res.output, res.output
    (tmp_path / "afile").write_text("x")
    res = CliRunner().invoke(app, ["diagnose", "--demo", "--out", str(tmp_path / "afile")])
    assert res.exit_code == 2 and "a file, not a folder" in res.output, res.output


def test_a_second_diagnosis_finds_every_stage_in_the_store_and_expects_no_work(tmp_path):
    # recommend reads the parameters' λ_max and the width question the tickets: the estimate's dry run must see the
    # cells the real run will ask for (it once priced a stored recommend stage as new work: 22 s for a 1 s rerun)
    _, args = _zoo_diagnosis("mlp_dropout", tmp_path)
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "every stage is in the store" not in " ".join(first.output.split())
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    said = " ".join(again.output.split())  # the console wraps its lines
    assert "every stage is in the store" in said, said
    assert "in the store already: simpler, overparameterization, bound, parameters, recommend" in said, said
