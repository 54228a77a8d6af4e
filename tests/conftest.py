"""Shared fixtures: a private MNIST-1D cache per session and single-threaded torch for determinism."""

import os

import pytest
import torch


@pytest.fixture(scope="session", autouse=True)
def _env(tmp_path_factory):
    os.environ.setdefault("WHYNETS_CACHE", str(tmp_path_factory.mktemp("cache")))
    os.environ.setdefault("WHYNETS_THREADS", "1")  # tiny test sizes: one thread is faster and deterministic
    torch.set_num_threads(1)
    yield
