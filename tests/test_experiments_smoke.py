"""Every experiment runs its smoke preset end to end: cells, claims with the paper's number, figures."""

import json

import pytest
import torch

import whynets as wn
from whynets.experiments import names

REQUIRED = {"id", "source", "statement", "criterion", "paper", "measured", "passed", "verdict", "margin", "checks"}
CHECK = {"name", "criterion", "estimate", "interval", "level", "n", "method", "verdict", "margin"}


@pytest.mark.parametrize("name", names())
def test_smoke_preset(name, smoke):
    record = smoke.record(name)
    assert record["claims"], "an experiment must check at least one claim"
    for claim in record["claims"]:
        assert REQUIRED <= set(claim), claim
        assert claim["id"].startswith(name + "/")
        assert claim["passed"] == (claim["verdict"] == "pass")
        assert claim["verdict"] in ("pass", "fail", "inconclusive", "reported", "skipped")
        if claim["verdict"] != "skipped":
            assert claim["checks"], claim["id"]
        for check in claim["checks"]:
            assert CHECK <= set(check), check
            lo, hi = check["interval"]
            assert lo <= check["estimate"] <= hi or check["op"] == "all", check  # the estimate lies in its interval
        if "expected_failure" in claim:
            assert claim["verdict"] in ("fail", "inconclusive")  # attached only to the failure it explains
            assert len(claim["expected_failure"]) > 20  # a reason, not a placeholder
    folder = smoke.folder(name)
    for f in ("spec.json", "env.json", "results.json", "metrics.jsonl", "status.json", "cells.json"):
        assert (folder / f).exists(), f
    assert json.loads((folder / "status.json").read_text())["state"] == "done"
    for fig in record["figures"]:
        assert (folder / "figures" / fig).stat().st_size > 1000
        assert json.loads((folder / "figures" / fig.replace(".png", ".json")).read_text())
    # a second run loads every cell instead of recomputing it
    again = wn.run(name, preset="smoke", out=smoke.out, device="cpu", escalate=False)
    assert again["cells"]["computed"] == 0 and again["cells"]["loaded"] == record["cells"]["computed"] + record["cells"]["loaded"]
    assert again["results"] == json.loads(json.dumps(record["results"]))
    assert json.dumps(again["claims"]) == json.dumps(record["claims"])


def test_public_api_is_curated():
    assert set(wn.__all__) >= {"run", "experiments", "measure", "data", "models", "Population"}
    for name in wn.__all__:
        assert hasattr(wn, name)


def test_auto_device_keeps_tiny_experiments_on_the_cpu(monkeypatch):
    """Where a GPU is present, ``--device auto`` picks it, except for experiments that declare (with the measured
    reason) that they run faster on the CPU; ``--device cuda`` still reaches CUDA for those."""
    from whynets.experiments import get
    from whynets.runner import choose_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    said = []
    tiny, big = get("soft-inductive-bias"), get("baselines")
    assert tiny.cpu_on_auto and not big.cpu_on_auto
    assert choose_device(tiny, "auto", said.append).type == "cpu"
    assert said and "soft-inductive-bias runs on the CPU" in said[0] and "--device cuda overrides" in said[0]
    assert choose_device(big, "auto").type == "cuda"
    assert choose_device(tiny, "cuda").type == "cuda"
    assert choose_device(tiny, "cpu").type == "cpu"
