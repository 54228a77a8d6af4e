"""`whynets diagnose` on a model whynets has never seen: a residual MLP with LayerNorm defined only in this test (in a
file the test writes), from a safetensors file and from a torch.save state dict; the refusals (pickle payloads,
whole pickled modules, weights that do not fit, outputs that do not match the labels); regression; the Python API;
and oracles (a student that is the teacher reproduces it; a second diagnosis reuses every cell)."""

from __future__ import annotations

import json
import pickle
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import whynets as wn
from whynets.cli.main import app

MODEL = textwrap.dedent('''
    import torch
    import torch.nn as nn

    class ResidualMLP(nn.Module):
        def __init__(self, inputs=12, hidden=16, classes=3):
            super().__init__()
            self.inp = nn.Linear(inputs, hidden)
            self.norm = nn.LayerNorm(hidden)
            self.block = nn.Linear(hidden, hidden)
            self.out = nn.Linear(hidden, classes)

        def forward(self, x):
            h = torch.relu(self.inp(x.flatten(1)))
            h = h + torch.relu(self.block(self.norm(h)))
            return self.out(h)

    def make(hidden=16, classes=3):
        return ResidualMLP(hidden=hidden, classes=classes)
''')

TINY = ["train.steps=60", "train.eval_points=2", "seeds=0,1", "prune_rounds=1", "rewind_step=10", "prune_scopes=layerwise",
        "student_widths=8", "classical=logistic,knn", "spectra_boot=10", "top_k=3", "trace_matvecs=12",
        "curvature_examples=200", "transfer_factor=1"]


@pytest.fixture(scope="module")
def user(tmp_path_factory):
    """A model file, its trained weights (.safetensors and .pt), and a data file, as a user would have them."""
    root = tmp_path_factory.mktemp("user")
    (root / "mynet.py").write_text(MODEL)
    g = np.random.default_rng(0)
    w = g.normal(size=(12, 3))
    x = g.normal(size=(360, 12)).astype(np.float32)
    y = (x @ w + 0.5 * g.normal(size=(360, 3))).argmax(1)
    np.savez(root / "mine.npz", x=x[:240], y=y[:240], x_test=x[240:], y_test=y[240:])
    from whynets.models.factory import call_factory

    net = call_factory(f"{root / 'mynet.py'}:make", "", torch.Generator().manual_seed(1))
    opt = torch.optim.Adam(net.parameters(), 1e-2)
    xt, yt = torch.tensor(x[:240]), torch.tensor(y[:240])
    for _ in range(200):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(xt), yt).backward()
        opt.step()
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(root / "net.safetensors"))
    torch.save(net.state_dict(), root / "net.pt")
    return {"root": root, "net": net, "factory": f"{root / 'mynet.py'}:make"}


def _cli(args: list[str]):
    return CliRunner().invoke(app, args)


def _diagnose(user, out: Path, weights: str, questions: str = "simpler,parameters", extra=()):
    args = ["diagnose", "--model", user["factory"], "--weights", str(user["root"] / weights), "--data",
            str(user["root"] / "mine.npz"), "--out", str(out), "--questions", questions]
    for s in [*TINY, *extra]:
        args += ["--set", s]
    return _cli(args)


def test_diagnose_a_model_defined_only_here_from_safetensors(user, tmp_path):
    res = _diagnose(user, tmp_path / "diag", "net.safetensors")
    assert res.exit_code == 0, res.output
    record = json.loads((tmp_path / "diag" / "diagnosis.json").read_text())
    page = (tmp_path / "diag" / "report.html").read_text()
    assert "data:image/png;base64," in page and "Could a simpler model do as well?" in page
    simpler, params = record["answers"]["simpler"], record["answers"]["parameters"]
    kinds = {p["kind"] for p in simpler["points"]}
    assert {"ticket", "control", "student-mimic", "student-labels", "classical"} <= kinds
    assert simpler["verdict"]["text"].startswith(("Yes:", "Nothing simpler"))
    assert all(p["verdict"] in ("pass", "fail", "inconclusive") for p in simpler["points"])
    layer_names = [l["name"] for l in params["spectra"]["yours"]["layers"]] + \
        [n for n, _ in params["spectra"]["yours"]["summary"]["skipped"]]
    assert {"inp", "block", "out"} <= set(layer_names)  # every Linear of the user's module is read (or said why not)
    assert params["curvature"]["lambda_max"] > 0 and params["reading"]
    # the user's own numbers, measured by the engine's evaluation, equal a direct forward pass
    d = np.load(user["root"] / "mine.npz")
    with torch.no_grad():
        acc = float((user["net"](torch.tensor(d["x_test"])).argmax(1) == torch.tensor(d["y_test"])).float().mean())
    assert abs(record["reference"]["test_acc"] - acc) < 1e-6
    # a second diagnosis of the same model reuses every cell
    again = _diagnose(user, tmp_path / "diag", "net.safetensors")
    assert again.exit_code == 0 and json.loads((tmp_path / "diag" / "diagnosis.json").read_text())["cells"]["computed"] == 0


def test_diagnose_from_a_torch_save_state_dict(user, tmp_path):
    res = _diagnose(user, tmp_path / "diag", "net.pt", questions="parameters")
    assert res.exit_code == 0, res.output
    record = json.loads((tmp_path / "diag" / "diagnosis.json").read_text())
    assert record["answers"]["parameters"]["spectra"]["yours"]["layers"]


class _Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "pwned"))


def test_pickled_payloads_and_whole_modules_are_refused(user, tmp_path):
    marker = tmp_path / "PWNED"
    torch.save({"inp.weight": _Payload(marker)}, tmp_path / "payload.pt")
    (tmp_path / "raw.pt").write_bytes(pickle.dumps(_Payload(marker)))
    torch.save(user["net"], tmp_path / "module.pt")  # a whole module: only full unpickling could rebuild it
    for name in ("payload.pt", "raw.pt", "module.pt"):
        res = _cli(["diagnose", "--model", user["factory"], "--weights", str(tmp_path / name), "--data",
                    str(user["root"] / "mine.npz"), "--out", str(tmp_path / "d")])
        assert res.exit_code == 2, (name, res.output)
        assert "refused" in res.output and "state dict" in res.output and "Traceback" not in res.output
    assert not marker.exists()


def test_weights_that_do_not_fit_name_the_layer_and_both_shapes(user, tmp_path):
    res = _cli(["diagnose", "--model", user["factory"], "--model-arg", "hidden=8", "--weights",
                str(user["root"] / "net.safetensors"), "--data", str(user["root"] / "mine.npz"), "--out", str(tmp_path)])
    assert res.exit_code == 2 and "'inp.weight'" in res.output and "(16, 12)" in res.output and "(8, 12)" in res.output


def _with_classes(user, tmp_path, classes: int) -> Path:
    from safetensors.torch import save_file

    from whynets.models.factory import call_factory

    net = call_factory(user["factory"], json.dumps({"classes": classes}), torch.Generator().manual_seed(0))
    path = tmp_path / f"c{classes}.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    return path


def test_an_output_that_does_not_match_the_labels_is_refused(user, tmp_path):
    res = _cli(["diagnose", "--model", user["factory"], "--model-arg", "classes=2", "--weights",
                str(_with_classes(user, tmp_path, 2)), "--data", str(user["root"] / "mine.npz"), "--out", str(tmp_path)])
    assert res.exit_code == 2 and "output shape (2, 2)" in res.output and "(2, 3 or more)" in res.output


def test_a_classifier_with_more_logits_than_the_labels_reach_is_diagnosed(user, tmp_path):
    """A language model's vocabulary, or classes this data lacks: every label still indexes a logit."""
    res = _cli(["diagnose", "--model", user["factory"], "--model-arg", "classes=5", "--weights",
                str(_with_classes(user, tmp_path, 5)), "--data", str(user["root"] / "mine.npz"), "--out",
                str(tmp_path / "d"), "--questions", "parameters", *[a for s in TINY for a in ("--set", s)]])
    assert res.exit_code == 0, res.output
    record = json.loads((tmp_path / "d" / "diagnosis.json").read_text())
    assert record["answers"]["parameters"]["curvature"]["plan"]["fisher"]["kind"] == "exact"  # 5 classes: exact


def test_python_api_and_a_regressor(tmp_path):
    g = np.random.default_rng(1)
    x = g.normal(size=(300, 6)).astype(np.float32)
    y = (x @ g.normal(size=6) + 0.1 * g.normal(size=300)).astype(np.float32)
    net = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.Tanh(), torch.nn.Linear(16, 1))
    opt = torch.optim.Adam(net.parameters(), 1e-2)
    for _ in range(300):
        opt.zero_grad()
        ((net(torch.tensor(x[:200])).squeeze(-1) - torch.tensor(y[:200])) ** 2).mean().backward()
        opt.step()
    settings = {k: v for k, v in (s.split("=", 1) for s in TINY)}
    from whynets.diagnosis.spec import DiagnoseSpec

    spec = DiagnoseSpec().override({k: v for k, v in settings.items()})
    report = wn.diagnose(net, (x[:200], y[:200], x[200:], y[200:]), questions=("simpler", "parameters"),
                         out=tmp_path, train=spec.train, seeds=spec.seeds, prune_rounds=1, rewind_step=10,
                         prune_scopes=("layerwise",), student_widths=(8,), classical=("ridge", "knn"), spectra_boot=10,
                         top_k=3, trace_matvecs=12, curvature_examples=150)
    r = report.record
    assert r["loss"] == "mse" and r["regression"]
    with torch.no_grad():
        mse = float(((net(torch.tensor(x[200:])).squeeze(-1) - torch.tensor(y[200:])) ** 2).mean())
    assert abs(r["reference"]["test_loss"] - mse) < 1e-5 * max(1.0, mse)
    assert "MSE" in report.summary() and (tmp_path / "report.html").exists()


def test_a_student_that_is_the_teacher_reproduces_it(user, tmp_path):
    """Distillation oracle: the teacher's own architecture, started at the teacher's weights and trained on the
    teacher's logits (loss kl), is already at its minimum (KL = 0): it stays the teacher."""
    from whynets.data import DataSpec, load, save_tensors_file
    from whynets.engine import Population, TrainSpec, train

    ds = load(DataSpec(name="npz", path=str(user["root"] / "mine.npz")))
    with torch.no_grad():
        logits = user["net"](ds.x)
    save_tensors_file(tmp_path / "t.safetensors", x=ds.x.numpy(), y=logits.numpy(), x_test=ds.x_test.numpy(),
                      y_test=ds.y_test.numpy())
    transfer = load(DataSpec(name="safetensors", path=str(tmp_path / "t.safetensors")))
    pop = Population([user["net"]])
    before = pop.state_dict()["params"]
    res = train(pop, transfer, TrainSpec(loss="kl", temperature=2.0, optimizer="sgd", lr=0.1, momentum=0.0,
                                         batch_size=0, steps=20, eval_points=2))
    for name, t in pop.state_dict()["params"].items():
        torch.testing.assert_close(t, before[name], atol=1e-6, rtol=0)
    # T²·KL(teacher ‖ itself) = 0 up to float32 round-off: the two forward passes (direct, vmapped) group their
    # sums differently, logits differ by ~1e-5, and KL is second order in that difference
    assert res.final["train_loss"][0] < 1e-6
    with torch.no_grad():
        acc = float((user["net"](ds.x_test).argmax(1) == ds.y_test).float().mean())
    assert abs(res.final["test_acc"][0] - acc) < 1e-6


def test_questions_two_and_three_on_a_model_whynets_has_never_seen(user, tmp_path):
    """Question 2 sweeps the factory's own width keyword; question 3 certifies with every bound, each stated, the
    subspace sibling named as such and its search charged; the numbers are recomputable from the record."""
    res = _diagnose(user, tmp_path / "needs", "net.safetensors", questions="overparameterization")
    assert res.exit_code == 0 and "needs --width-arg NAME" in res.output, res.output  # says what it needs
    res = _cli(["diagnose", "--model", user["factory"], "--weights", str(user["root"] / "net.safetensors"), "--data",
                str(user["root"] / "mine.npz"), "--out", str(tmp_path / "d"), "--questions", "overparameterization,bound",
                "--width-arg", "hidden", "--model-arg", "hidden=16"] + sum((["--set", s] for s in [*TINY, "width_factors=0.25,1", "subspace_dims=8,16",
                                                                       "subspace_levels=4", "pac_bayes_iters=40"]), []))
    assert res.exit_code == 0, res.output
    record = json.loads((tmp_path / "d" / "diagnosis.json").read_text())
    width, bound = record["answers"]["overparameterization"], record["answers"]["bound"]
    assert width["verdict"]
    names = [b["name"] for b in bound["bounds"]]
    assert names[0].startswith("test set") and any(n.startswith("PAC-Bayes") for n in names)
    sub = next(b for b in bound["bounds"] if b.get("sibling"))
    assert {r["dim"] for r in sub["rows"]} == {8, 16} and "sibling" in sub["statement"]
    assert sub["value"] == min(r["bound"] for r in sub["rows"])
    from whynets.measure.coding import compression_bound
    chosen = next(r for r in sub["rows"] if r["bound"] == sub["value"])
    # each of the 4 certificates (test set, PAC-Bayes, compression, subspace) at δ/4: the headline's minimum holds at δ
    assert bound["union"] == 4 and bound["delta_each"] == pytest.approx(0.05 / 4)
    assert sub["value"] == pytest.approx(compression_bound(round(chosen["train_error"] * 240), 240, chosen["bits"],
                                                           0.05 / 4, extra_bits=1.0))  # log2(2 dims × 1 codebook)
    assert "For your architecture" in bound["verdict"] and "test-set bound" in bound["verdict"]
    for b in bound["bounds"]:  # a bound at its ceiling reads as vacuous, never as a number that looks meaningful
        if b["value"] is not None and b["value"] >= 1 - 1e-3:
            assert "vacuous" in (tmp_path / "d" / "report.html").read_text()
    page = (tmp_path / "d" / "report.html").read_text()
    assert "What error bound can I certify?" in page and "The subspace search" in page
