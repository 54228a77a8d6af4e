"""The dependency floors are the versions CI tests: .ci/lowest installs .ci/lowest.txt (one pin per core dependency,
the lowest release at or above its floor in pyproject.toml) and runs the smoke tests on it; this keeps the pins
and the floors from drifting apart, and the core free of the optional extras."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _floors() -> dict[str, str]:
    text = (ROOT / "pyproject.toml").read_text()
    block = re.search(r"^dependencies = \[(.*?)^\]", text, re.S | re.M).group(1)
    deps = re.findall(r'"([A-Za-z0-9_.-]+)>=([0-9][0-9.]*)"', block)
    assert len(deps) == block.count('"') // 2, "every core dependency has a floor (>=)"
    return {name.lower(): floor for name, floor in deps}


def _pins() -> dict[str, str]:
    lines = [line.split("#")[0].strip() for line in (ROOT / ".ci" / "lowest.txt").read_text().splitlines()]
    return {name.lower(): version for name, version in (line.split("==") for line in lines if line)}


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.match(r"[0-9.]*[0-9]", version).group(0).split("."))


def test_ci_tests_every_floor():
    floors, pins = _floors(), _pins()
    assert set(pins) == set(floors)
    for name, floor in floors.items():
        pin = pins[name]
        # the pin is the floor itself, or its post-release when the floor was never published alone
        assert _release(pin) == _release(floor) + (0,) * (len(_release(pin)) - len(_release(floor))), (name, pin)


def test_the_core_stays_light():
    heavy = {"pandas", "mlflow", "mlflow-skinny", "tensorboardx", "ray", "jupyter", "ipykernel", "nbclient",
             "playwright", "tensorflow", "tensorboard"}
    assert not heavy & set(_floors())
