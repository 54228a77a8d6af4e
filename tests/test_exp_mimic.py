"""mimic: the smoke run end to end; the teacher as its own student is a fixed point of the mimic loss (the transfer
file holds the teacher's logits row by row); every student condition starts from the same weights; the claims'
logic on results with known answers."""

import json
from dataclasses import replace

import pytest
import torch
from safetensors.numpy import load_file

from whynets.data import DataSpec
from whynets.engine import TrainSpec, population_for
from whynets.experiments import Context
from whynets.experiments.mimic import EXPERIMENT, MimicSpec, claims, mlp_params, train_teacher, transfer_files
from whynets.models import ModelSpec, build, n_params
from whynets.spec import SpecError
from whynets.store import RunStore

IDS = {"mimic/teacher-accurate", "mimic/transfer-closes-gap", "mimic/training-set-only", "mimic/gap-closed",
       "mimic/transfer-closes-gap-logit-regression", "mimic/training-set-only-logit-regression"}


def test_smoke_run_records_claims_results_and_figure(smoke):
    record = smoke.record("mimic")
    assert {c["id"] for c in record["claims"]} == IDS
    verdicts = {c["id"]: c["verdict"] for c in record["claims"]}
    assert verdicts["mimic/transfer-closes-gap-logit-regression"] == "skipped"  # smoke runs loss kl only
    res = record["results"]
    assert set(res["students"]) == {"labels", "transfer/kl", "train-only/kl"}
    assert all(set(rows) == {"8", "32"} and all(len(r["test_acc"]) == 2 for r in rows.values())
               for rows in res["students"].values())
    n = res["transfer"]["n"]
    assert n == {"new": 800, "train": 400, "transfer": 1200}  # 80% of 1000 generated signals + the 400 training inputs
    assert res["n_params"] == {"8": 418, "32": 1642}
    folder = smoke.folder("mimic")
    assert (folder / "figures" / "mimic.png").stat().st_size > 1000
    assert json.loads((folder / "figures" / "mimic.json").read_text())["n_params"] == [418, 1642]


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    """The smoke preset's teacher and transfer files in a store of their own."""
    spec = EXPERIMENT.preset("smoke")
    ctx = Context(RunStore(tmp_path_factory.mktemp("mimic-oracle"), "mimic", spec))
    teacher = train_teacher(ctx, spec)
    return spec, ctx, teacher, transfer_files(ctx, spec, teacher)


def test_transfer_file_holds_the_teachers_logits_row_by_row(toy):
    spec, ctx, teacher, files = toy
    arrays = load_file(files["data"]["transfer"].path)
    ds, new = ctx.data(spec.data), ctx.data(spec.transfer)
    x = torch.cat([new.x, ds.x])
    assert torch.equal(torch.as_tensor(arrays["x"]), x)
    assert torch.equal(torch.as_tensor(arrays["x_test"]), ds.x_test) and arrays["y_test"].dtype.kind == "i"
    state = ctx.state(teacher)
    pop = population_for(spec.teacher, ds, state.seeds)
    pop.load_state_dict({"params": state.params, "buffers": state.buffers})
    with torch.no_grad():  # reference: the teacher as a plain nn.Module (conv1d), not the population's im2col path
        ref = pop.member(0).eval()(x)
    # float32 round-off of a few hundred multiply-adds per logit: |δ| ~ 1e-6 on logits of size ~3
    assert torch.allclose(torch.as_tensor(arrays["y"]), ref, atol=1e-4, rtol=0)
    only = load_file(files["data"]["train-only"].path)
    assert torch.equal(torch.as_tensor(only["x"]), ds.x) and torch.equal(torch.as_tensor(only["y"]),
                                                                        torch.as_tensor(arrays["y"][len(new.x):]))


def test_the_teacher_as_its_own_student_stays_at_the_teacher(toy):
    spec, ctx, teacher, files = toy
    steps = spec.teacher_train.steps
    # SGD, not Adam: at the fixed point the gradient is ~1e-6 and Adam's normalized step would still move every weight
    # by ~lr; SGD moves them by lr × gradient
    mimic = TrainSpec(optimizer="sgd", lr=0.05, momentum=0.0, batch_size=100, steps=steps + 20, loss="kl",
                      temperature=spec.temperature, eval_points=2)
    data = files["data"]["transfer"]
    self_mimic = ctx.train({"oracle": "self-mimic"}, spec.teacher, data, mimic, [spec.teacher_seed], parent=teacher,
                           fresh_optimizer=True)
    # T²·KL(teacher ‖ student) with student logits = teacher logits + δ, |δ| ≲ 1e-5 (round-off, and 20 SGD steps of
    # size lr·|∇| ~ 1e-7): KL ~ δ² ~ 1e-10; 1e-7 leaves three orders of margin and is far below the fresh net's
    assert self_mimic["final"]["train_loss"][0] < 1e-7
    assert self_mimic["final"]["test_acc"] == teacher["final"]["test_acc"]  # no test prediction flips
    fresh = ctx.train({"oracle": "fresh-student"}, spec.teacher, data, replace(mimic, steps=20), [spec.teacher_seed + 1])
    assert fresh["final"]["train_loss"][0] > 1e3 * max(self_mimic["final"]["train_loss"][0], 1e-9)


def test_every_condition_starts_from_the_same_weights(toy):
    spec, ctx, _, files = toy
    model = ModelSpec(kind="mlp", depth=1, width=8)
    pops = [population_for(model, ctx.data(d), [0, 1]) for d in (spec.data, files["data"]["transfer"],
                                                                 files["data"]["train-only"])]
    for p in pops[1:]:  # soft targets (n, 10) give the same 10 outputs, so the same member_generator(seed) weights
        assert all(torch.equal(p.params[k], pops[0].params[k]) for k in pops[0].params)
    net = build(model, (40,), 10, torch.Generator().manual_seed(0))
    assert n_params(net) == mlp_params(8) == 418 and n_params(build(replace(model, width=1024), (40,), 10,
                                                                    torch.Generator())) == mlp_params(1024)


def _results(labels, transfer, train_only, teacher):
    """Fake results: per-width lists of per-seed accuracies (%) for each condition."""
    rows = lambda accs: {str(w): {"test_acc": a} for w, a in zip((64, 1024), accs)}  # noqa: E731
    return {"widths": [64, 1024], "teacher": {"test_acc": teacher, "correct": round(10 * teacher), "n_test": 1000,
                                                "acc_on_new": teacher},
            "transfer": {"n": {"transfer": 24000, "new": 20000, "train": 4000}},
            "students": {"labels": rows(labels), "transfer/kl": rows(transfer), "train-only/kl": rows(train_only)}}


def test_claims_decide_known_answers():
    spec = MimicSpec()
    lab = [[57.0, 58.0, 59.0], [68.0, 69.5, 70.0]]
    good = {c.id: c for c in claims(_results(lab, [[a + 8 for a in s] for s in lab], lab, 94.0), spec)}
    assert good["mimic/teacher-accurate"].status == "PASS"  # 940/1000, Clopper-Pearson lower end .923 >= .90
    # at the widest width the mimic is 8 points up in every seed: the paired interval is [8, 8], below 10
    assert good["mimic/transfer-closes-gap"].status == "FAIL"
    # exactly no gain at every width: [0, 0] is below Table 1's 2 points and inside the predicted ±2
    assert good["mimic/training-set-only"].status == "EXPECTED-FAIL"
    assert good["mimic/transfer-closes-gap-logit-regression"].verdict == "skipped"
    up = {c.id: c for c in claims(_results(lab, [[a + 15 for a in s] for s in lab],
                                           [[a + 5 for a in s] for s in lab], 94.0), spec)}
    assert up["mimic/transfer-closes-gap"].status == "PASS" and up["mimic/training-set-only"].status == "PASS"
    weak = {c.id: c for c in claims(_results(lab, [[a + 4 for a in s] for s in lab], lab, 75.0), spec)}
    # a teacher 5.8 points above the labels breaks the premise: the teacher's claim fails, the gap claim fails too
    assert weak["mimic/teacher-accurate"].status == "FAIL" and weak["mimic/transfer-closes-gap"].status == "FAIL"


def test_transfer_set_must_be_new_signals():
    with pytest.raises(SpecError, match="NEW signals"):
        MimicSpec(transfer=DataSpec(samples=25000, seed=0))  # seed 0 is the training set's own configuration
    with pytest.raises(SpecError, match="NEW signals"):
        MimicSpec(transfer=DataSpec(samples=25000, seed=42))  # ... whose generation seed is 42
    with pytest.raises(SpecError, match="losses"):
        MimicSpec(losses=("ce",))
    assert MimicSpec(data=DataSpec(seed=1000), transfer=DataSpec(samples=25000, seed=1001)).transfer.seed == 1001
