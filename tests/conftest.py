"""Shared fixtures: a private MNIST-1D cache per session, single-threaded torch, and ONE smoke run of every
experiment for the whole test session (``smoke.record(name)``), which the per-experiment tests read instead of
running the smoke preset again."""

import os
from pathlib import Path

import pytest
import torch


@pytest.fixture(scope="session", autouse=True)
def _env(tmp_path_factory):
    os.environ.setdefault("WHYNETS_CACHE", str(tmp_path_factory.mktemp("cache")))
    os.environ.setdefault("WHYNETS_THREADS", "1")  # tiny test sizes: one thread is faster and deterministic
    torch.set_num_threads(1)
    yield


class SmokeRuns:
    """Each experiment's smoke preset, run once per test session into one store (``out``), on first request."""

    def __init__(self, out: Path):
        self.out = out
        self._records: dict[str, dict] = {}

    def record(self, name: str) -> dict:
        if name not in self._records:
            import whynets as wn

            self._records[name] = wn.run(name, preset="smoke", out=self.out, device="cpu", escalate=False)
        return self._records[name]

    def folder(self, name: str) -> Path:
        return self.out / name / self.record(name)["spec_hash"]


@pytest.fixture(scope="session")
def smoke(tmp_path_factory) -> SmokeRuns:
    return SmokeRuns(tmp_path_factory.mktemp("smoke-runs"))
