"""Limits that protect the machine (issue 21, parts 1-2): the torch floor, the memory budget, a population refused
before it is built, and progress that speaks without a terminal."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


def test_the_torch_floor_is_where_weights_only_holds():
    """pyproject and the Makefile's fallback both require a torch whose weights_only=True is not known to be
    bypassable (>= 2.10; the floor itself is the lowest torch CI tests, .ci/lowest); an older torch refuses a
    torch.save file in one line and reads safetensors as ever."""
    from whynets.safety import TORCH_FLOOR, UnsafeTorchError, check_torch_reads_pickles, torch_version

    assert TORCH_FLOOR >= (2, 10)
    pyproject = re.search(r'"torch>=([\d.]+)"', (ROOT / "pyproject.toml").read_text()).group(1)
    fallback = re.search(r'pip install -q "torch>=([\d.]+)"', (ROOT / "Makefile").read_text()).group(1)
    assert torch_version(pyproject) == torch_version(fallback) >= TORCH_FLOOR
    assert torch_version("2.13.0+cpu") == (2, 13) and torch_version("2.9.1") < TORCH_FLOOR
    check_torch_reads_pickles("net.pt")  # this machine's torch: allowed
    import whynets.safety as safety

    with pytest.MonkeyPatch.context() as m:
        m.setattr(torch, "__version__", "2.5.1")
        with pytest.raises(UnsafeTorchError, match=r"net.pt: a torch.save file, which torch 2.5.1 cannot read safely "
                                                   r".*CVE-2025-32434.*CVE-2026-24747.*install torch >= 2.10"):
            safety.check_torch_reads_pickles("net.pt")


@pytest.mark.parametrize("text, expected", [("12G", 12 * 2**30), ("800M", 800 * 2**20), ("1.5T", int(1.5 * 2**40)),
                                            ("123456", 123456), ("2GiB", 2 * 2**30)])
def test_memory_sizes(text, expected):
    from whynets.resources import parse_size

    assert parse_size(text) == expected


def test_the_budget_is_a_share_of_this_machine_unless_set(monkeypatch):
    from whynets.errors import ResourceError
    from whynets.resources import DEFAULT_SHARE, check_memory, machine_memory, memory_budget, parse_size

    monkeypatch.delenv("WHYNETS_MEMORY_BUDGET", raising=False)
    budget, how = memory_budget()
    assert budget == int(DEFAULT_SHARE * machine_memory()) and "of this machine's" in how
    assert parse_size("50%") == int(0.5 * machine_memory())
    check_memory(budget, "exactly the budget")
    with pytest.raises(ResourceError, match="a thing needs about"):
        check_memory(budget + 1, "a thing")
    monkeypatch.setenv("WHYNETS_MEMORY_BUDGET", "1M")
    assert memory_budget() == (2**20, "set by WHYNETS_MEMORY_BUDGET=1M")
    for bad in ("lots", "-3G", "0", "150%"):
        with pytest.raises(ResourceError, match="WHYNETS_MEMORY_BUDGET"):
            parse_size(bad)


def test_a_population_past_the_budget_is_refused_before_it_is_built(monkeypatch):
    """The estimate is exact for the parameters (COPIES of them per member), built on the meta device: a width-1e8 MLP
    is refused without allocating; one just under the budget is built."""
    import whynets as wn
    from whynets.engine.budget import COPIES, member_bytes, shapes_only
    from whynets.errors import ResourceError
    from whynets.models import ModelSpec

    ds = wn.data.Dataset(torch.zeros(8, 40), torch.zeros(8, dtype=torch.long), torch.zeros(4, 40),
                         torch.zeros(4, dtype=torch.long), {"n_classes": 10})
    spec = ModelSpec(width=64, depth=2)
    one = member_bytes(lambda: shapes_only(spec, (40,), 10))
    pop = wn.engine.population_for(spec, ds, [0, 1, 2])
    assert one == 4 * pop.n_params() + sum(b[0].numel() * b.element_size() for b in pop.buffers.values())
    monkeypatch.setenv("WHYNETS_MEMORY_BUDGET", str(COPIES * 3 * one))
    wn.engine.population_for(spec, ds, [0, 1, 2])  # exactly at the budget: built
    with pytest.raises(ResourceError, match=r"4 member\(s\)"):
        wn.engine.population_for(spec, ds, [0, 1, 2, 3])
    monkeypatch.setenv("WHYNETS_MEMORY_BUDGET", "8G")
    with pytest.raises(ResourceError, match=r"model mlp \{'width': 100000000\}"):
        wn.engine.population_for(ModelSpec(width=10 ** 8), ds, [0])
    with pytest.raises(ResourceError, match="padded to width 100000000"):
        wn.engine.padded_population(ModelSpec(width=8), [4, 10 ** 8], (40,), 10, seeds=0)


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_without_a_terminal_says_the_expected_time_then_a_line_a_minute():
    from rich.console import Console

    from whynets.cli.common import LineProgress

    console, clock = Console(record=True, width=300), _Clock()
    progress = LineProgress(console, first=5.0, every=60.0, clock=clock)
    quick = progress.add_task("quick", total=10)
    for _ in range(10):  # done in a second: it says nothing
        clock.now += 0.1
        progress.advance(quick, 1)
    progress.remove_task(quick)
    long = progress.add_task("random-labels [p=0]", total=10 ** 12)
    for _ in range(130):  # 1000 steps a second for 130 s
        clock.now += 1.0
        progress.advance(long, 1000)
    lines = console.export_text().splitlines()
    assert lines == [
        "random-labels [p=0]: 1,000,000,000,000 steps, expected to take about 32 years (at 1e+03 steps/s); a line "
        "every 60 s follows",
        "random-labels [p=0]: 65,000/1,000,000,000,000 steps (0.0%), 65 s elapsed, about 32 years left",
        "random-labels [p=0]: 125,000/1,000,000,000,000 steps (0.0%), 2.1 min elapsed, about 32 years left"]


def test_run_without_a_terminal_prints_progress_lines(tmp_path, monkeypatch):
    """`whynets run` with stderr not a terminal (CliRunner) uses LineProgress: a cell that trains for more than its
    first interval says how long it is expected to take."""
    from typer.testing import CliRunner

    import whynets.cli.common as common
    from whynets.cli.main import app

    import dataclasses

    import whynets.runner as runner
    from whynets.experiments import get

    real = common.LineProgress
    monkeypatch.setattr(common, "LineProgress", lambda console: real(console, first=0.0, every=1e9))
    monkeypatch.setattr(runner, "get", lambda n: dataclasses.replace(get(n), figures=lambda *a: []))
    res = CliRunner().invoke(app, ["run", "random-labels", "--preset", "smoke", "--out", str(tmp_path), "--no-escalate",
                                   "--set", "noise=0", "--set", "corruptions=gaussian", "--set", "regularized=false",
                                   "--set", "train.steps=30", "--set", "seeds=0", "--set", "model.width=16",
                                   "--set", "data.n_train=200"])
    assert res.exit_code == 0, res.output
    assert re.search(r"random-labels \[variant=p=0\]: 30 steps, expected to take about \d+ s", res.output)


def test_on_a_gpu_the_budget_is_most_of_the_device(monkeypatch):
    """No GPU here: the device is faked, to check the arithmetic and the words of the CUDA budget."""
    from types import SimpleNamespace

    from whynets.resources import memory_budget

    monkeypatch.delenv("WHYNETS_MEMORY_BUDGET", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda index: SimpleNamespace(total_memory=80 * 2**30))
    assert memory_budget("cuda") == (int(0.9 * 80 * 2**30), "90% of the GPU's 80 GiB")
    assert memory_budget("cuda:1")[0] == int(0.9 * 80 * 2**30)
