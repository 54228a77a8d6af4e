"""Training in phases: 0 → T in one call equals 0 → k then k → T, bit for bit on CPU (issue: phases).

The second phase starts from the first's end state, or from that state written to a safetensors file and read
back (what a child cell does with its parent's state). Compared: every parameter, every optimizer tensor, the
step, and every measurement row at the schedule's measurement steps."""

import pytest
import torch

from whynets.data import DataSpec, load
from whynets.engine import TrainSpec, population_for, train
from whynets.engine.state import load_state, save_state
from whynets.models import ModelSpec


def _data():
    return load(DataSpec(n_train=300, n_test=100))


def _rows(history):
    return [r for r in history if not r.get("phase_end")]


def _equal_states(a, b):
    assert a.step == b.step
    for name in a.params:
        assert torch.equal(a.params[name], b.params[name]), name
    sa, sb = a.optimizer["state"], b.optimizer["state"]
    assert sa.keys() == sb.keys()
    for i in sa:
        for key, value in sa[i].items():
            if torch.is_tensor(value):
                assert torch.equal(value, sb[i][key]), (i, key)
            else:
                assert value == sb[i][key]


@pytest.mark.parametrize("optimizer,lr", [("sgd", 0.05), ("adam", 3e-3)])
@pytest.mark.parametrize("split", [37, 40])  # between measurement steps, and at one
def test_phase_split_equals_one_run(optimizer, lr, split, tmp_path):
    ds = _data()
    spec = TrainSpec(optimizer=optimizer, lr=lr, momentum=0.9, batch_size=64, steps=90, schedule="cosine",
                     warmup_steps=5, eval_every=20)
    model = ModelSpec(width=24)
    whole = train(population_for(model, ds, [0, 1, 2]), ds, spec)
    first = train(population_for(model, ds, [0, 1, 2]), ds, spec, until=split)
    assert first.steps == split
    second = train(population_for(model, ds, [0, 1, 2]), ds, spec, start=first.state)
    _equal_states(whole.state, second.state)
    assert _rows(second.history) == _rows(whole.history)
    assert [r["step"] for r in second.history if r.get("phase_end")] == ([split] if split % 20 else [])
    # through the file format a child cell reads its parent from
    save_state(first.state, tmp_path / "parent.safetensors")
    again = train(population_for(model, ds, [0, 1, 2]), ds, spec, start=load_state(tmp_path / "parent.safetensors"))
    _equal_states(whole.state, again.state)


def test_checkpoint_resume_inside_a_phase_is_exact(tmp_path):
    ds = _data()
    spec = TrainSpec(optimizer="adam", lr=3e-3, batch_size=64, steps=60, schedule="cosine", eval_every=20)
    model = ModelSpec(width=16)
    whole = train(population_for(model, ds, [0, 1]), ds, spec)
    ckpt = tmp_path / "checkpoint.safetensors"
    part = train(population_for(model, ds, [0, 1]), ds, spec, until=25, checkpoint=ckpt)
    assert load_state(ckpt).step == 25 == part.steps
    seen = []
    resumed = train(population_for(model, ds, [0, 1]), ds, spec, checkpoint=ckpt, on_resume=seen.extend)
    assert [r["step"] for r in seen] == [r["step"] for r in part.history]
    _equal_states(whole.state, resumed.state)


def test_spawn_copies_members_with_their_optimizer_state():
    ds = _data()
    spec = TrainSpec(optimizer="sgd", lr=0.05, momentum=0.9, batch_size=64, steps=40, eval_every=20)
    model = ModelSpec(width=16)
    parent = train(population_for(model, ds, [3, 4]), ds, spec, until=15).state
    child = parent.select([0, 0, 1], seeds=[7, 8, 9])
    assert child.seeds == [7, 8, 9]
    for name, t in parent.params.items():
        assert torch.equal(child.params[name][1], t[0]) and torch.equal(child.params[name][2], t[1])
    buf = next(iter(parent.optimizer["state"].values()))["momentum_buffer"]
    assert torch.equal(next(iter(child.optimizer["state"].values()))["momentum_buffer"][2], buf[1])
    # a child trained from the spawn: the copy of member 0 with the parent's seed follows member 0 exactly
    same = parent.select([0], seeds=[3])
    alone = train(population_for(model, ds, [3]), ds, spec, start=same)
    both = train(population_for(model, ds, [3, 4]), ds, spec, start=parent)
    for name in alone.state.params:
        torch.testing.assert_close(alone.state.params[name][0], both.state.params[name][0], rtol=1e-5, atol=1e-6)
