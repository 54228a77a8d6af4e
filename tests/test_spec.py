"""Specs: canonical JSON, hashes over non-default fields only (pinned), overrides with type checks."""

from dataclasses import dataclass, field

import pytest

from whynets.data import DataSpec
from whynets.engine import TrainSpec
from whynets.experiments import get
from whynets.models import ModelSpec
from whynets.spec import Spec, SpecError


@dataclass(frozen=True)
class Toy(Spec):
    data: DataSpec = field(default_factory=DataSpec)
    train: TrainSpec = field(default_factory=TrainSpec)
    seeds: tuple[int, ...] = (0, 1)
    name: str = "toy"


def test_default_spec_hash_is_pinned():
    # sha256 of '{}' — the hash of "nothing differs from the defaults"; pins the hashing scheme itself
    assert Toy().hash() == "44136fa355b3"
    assert DataSpec().hash() == "44136fa355b3"


def test_pinned_literal_hashes():
    # literals = sha256 of the canonical JSON of the non-default fields, computed by hand:
    # '{"seeds":[0,1,2]}', '{"train":{"lr":0.01}}', '{"label_noise":0.2}'
    assert Toy(seeds=(0, 1, 2)).hash() == "d32a2a5b21cf"
    assert Toy().override(["train.lr=0.01"]).hash() == "28c5bbcea010"
    assert DataSpec(label_noise=0.2).hash() == "f9ffb33ac06b"


def test_adding_a_defaulted_field_keeps_old_hashes():
    @dataclass(frozen=True)
    class Toy2(Toy):
        new_knob: int = 7

    assert Toy2(seeds=(0, 1, 2)).hash() == Toy(seeds=(0, 1, 2)).hash()


def test_canonical_json_roundtrip():
    spec = Toy().override(["train.lr=0.5", "data.corruption=gaussian", "seeds=3,4"])
    again = Toy.from_dict(__import__("json").loads(spec.to_json()))
    assert again == spec and again.hash() == spec.hash()
    assert spec.seeds == (3, 4) and spec.train.lr == 0.5


def test_override_types_are_checked():
    with pytest.raises(SpecError, match="expected an int"):
        Toy().override(["train.steps=1.5"])
    with pytest.raises(SpecError, match="expected a bool"):
        Toy().override(["data.standardize=maybe"])
    with pytest.raises(SpecError, match="key=value"):
        Toy().override(["train.lr"])


def test_typo_lists_valid_keys():
    with pytest.raises(SpecError) as err:
        Toy().override(["train.lrr=0.1"])
    assert "train.lr" in str(err.value) and "data.label_noise" in str(err.value)


def test_nested_spec_cannot_be_assigned_a_scalar():
    with pytest.raises(SpecError, match="nested spec"):
        Toy().override(["train=3"])


def test_every_experiment_preset_is_a_spec_with_distinct_hashes():
    for name in ("baselines", "random-labels"):
        exp = get(name)
        hashes = {p: s.hash() for p, s in exp.presets.items()}
        assert len(set(hashes.values())) == len(hashes), hashes
        assert isinstance(exp.presets["quick"].override(["seeds=5"]), Spec)


def test_describe_lists_help():
    rows = {k: h for k, _, _, h in ModelSpec().describe()}
    assert "parametrization" in rows and "ntk" in rows["parametrization"]
