"""Question 4's curvature stage planned against the memory budget (``diagnosis.memory_plan``): float64 when it fits,
float32 when only that fits, nothing (with the reason) when neither does; the Fisher trace sampled above 32 classes;
and a diagnosis whose budget leaves out the curvature and the random-label control says so in its answer, its record
and its report — nothing crashes and nothing is silently missing."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn as nn

from whynets.diagnosis import memory_plan
from whynets.diagnosis.memory_plan import (ACTIVATION_COPIES, FIXED_VECTORS, activation_numel, curvature_plan,
                                           min_lanczos_steps, plan_key)
from whynets.measure.fisher import fisher_trace


def _net(classes: int = 10) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(20, 32), nn.Tanh(), nn.Linear(32, classes))


def _need(net, n, dtype_bytes, steps):
    P = sum(p.numel() for p in net.parameters())
    acts = activation_numel(net, torch.zeros(1, 20)) * n
    return FIXED_VECTORS * P * dtype_bytes + ACTIVATION_COPIES * acts * dtype_bytes + steps * P * dtype_bytes


def test_activation_count_is_every_module_output():
    net = _net()
    # Linear(32) + Tanh(32) + Linear(10) + the Sequential's own output (10)
    assert activation_numel(net, torch.zeros(1, 20)) == 32 + 32 + 10 + 10


def test_plenty_of_memory_keeps_float64_and_every_default():
    net = _net()
    plan = curvature_plan(net, torch.zeros(1, 20), n_examples=100, top_k=5, trace_matvecs=30, classes=10, free=2**40)
    assert plan["dtype"] == "float64" and plan["lanczos_steps"] == 100 and plan["trace_matvecs"] == 30
    assert plan["fisher"] == {"kind": "exact", "samples": 0, "chunk": 256}


def test_float32_when_float64_cannot_hold_the_fewest_lanczos_steps_and_skip_when_nothing_can():
    net = _net()
    k, n = 5, 100
    floor = min_lanczos_steps(k)
    need64, need32 = _need(net, n, 8, floor), _need(net, n, 4, floor)
    x1 = torch.zeros(1, 20)
    between = curvature_plan(net, x1, n_examples=n, top_k=k, trace_matvecs=30, classes=10, free=(need32 + need64) // 2)
    assert between["dtype"] == "float32" and floor <= between["lanczos_steps"] < 100
    exactly64 = curvature_plan(net, x1, n_examples=n, top_k=k, trace_matvecs=30, classes=10, free=need64)
    assert exactly64["dtype"] == "float64" and exactly64["lanczos_steps"] == floor
    short = curvature_plan(net, x1, n_examples=n, top_k=k, trace_matvecs=30, classes=10, free=need32 - 1)
    assert "skip" in short and "float32" in short["skip"] and "--memory-budget" in short["skip"]
    assert plan_key(short) == "skip" and plan_key(between) != plan_key(exactly64)  # another plan, another cell


def test_hutchpp_products_are_capped_to_what_fits():
    net = _net()
    floor = min_lanczos_steps(1)
    free = _need(net, 10, 8, floor + 12)  # room for 22 vectors: 2m/3 + 10 <= 22 -> m <= 18 -> 15 (steps of 15)
    plan = curvature_plan(net, torch.zeros(1, 20), n_examples=10, top_k=1, trace_matvecs=60, classes=10, free=free)
    assert plan["dtype"] == "float64" and plan["trace_matvecs"] == 15


def test_many_classes_sample_the_fisher_and_the_interval_holds_the_exact_trace():
    net = _net(classes=40)
    plan = curvature_plan(net, torch.zeros(1, 20), n_examples=50, top_k=1, trace_matvecs=6, classes=40, free=2**40)
    assert plan["fisher"]["kind"] == "true" and plan["fisher"]["samples"] == memory_plan.FISHER_SAMPLES
    x = torch.randn(64, 20, generator=torch.Generator().manual_seed(1))
    y = torch.zeros(64, dtype=torch.long)
    exact = fisher_trace(net, [(x, y)], kind="exact").estimate
    sampled = fisher_trace(net, [(x, y)], kind="true", num_samples=plan["fisher"]["samples"], seed=0)
    assert sampled.ci_low <= exact <= sampled.ci_high
    assert sampled.num_matvecs == 64 * memory_plan.FISHER_SAMPLES  # 8 backward passes an example, not 40


@pytest.fixture()
def tiny_budget(monkeypatch):
    """What the budget leaves this process: 10 KB — neither the curvature nor the control fits."""
    small = lambda device="cpu": (10 * 2**10, "the test's 10 KB")  # noqa: E731
    monkeypatch.setattr(memory_plan, "free_bytes", small)
    import whynets.diagnosis.parameters as parameters

    monkeypatch.setattr(parameters, "free_bytes", small)


def test_a_budget_that_holds_neither_the_curvature_nor_the_control_is_said_everywhere(tiny_budget, tmp_path):
    import whynets as wn

    g = np.random.default_rng(0)
    x = g.normal(size=(160, 20)).astype(np.float32)
    y = (x[:, :3].argmax(1)).astype(np.int64)
    net = _net(classes=3)
    report = wn.diagnose(net, (x[:120], y[:120], x[120:], y[120:]), questions=("parameters",), out=tmp_path,
                         seeds=(0,), spectra_boot=5, top_k=2, trace_matvecs=6, curvature_examples=50)
    q = report.record["answers"]["parameters"]
    assert "skipped" in q["curvature"] and "the test's 10 KB" in q["curvature"]["skipped"]
    assert q["spectra"]["random_labels"] is None and "x8" in q["spectra"]["control_skipped"]
    reading = " ".join(q["reading"])
    assert "curvature not measured" in reading and "control was left out" in reading
    html = (tmp_path / "report.html").read_text()
    assert "not measured" in html and "λ_max" not in report.summary()
    assert json.loads((tmp_path / "diagnosis.json").read_text())["answers"]["parameters"]["curvature"]["skipped"]
    assert report.curvature_frame().empty  # no measures to list, and no crash
