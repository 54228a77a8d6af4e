"""kernel-machine: the smoke run end to end; the PathKernel probe inside the engine's own training loop is exact for a
model linear in its weights (logistic regression) and not for a tanh MLP; it refuses sparse measurements."""

import pytest

from whynets.data import DataSpec, load
from whynets.engine import TrainSpec, population_for, train
from whynets.experiments._dynamics import PathKernel
from whynets.experiments.kernel_machine import EXPERIMENT
from whynets.models import ModelSpec


def test_smoke_run_records_claims_and_figure(smoke):
    record = smoke.record("kernel-machine")
    assert {c["id"] for c in record["claims"]} == {"kernel-machine/reconstructs", "kernel-machine/error-grows-with-step"}
    spec = EXPERIMENT.preset("smoke")
    runs = record["results"]["runs"]
    assert sorted(float(k) for k in runs) == sorted(spec.step_sizes)
    for r in runs.values():
        assert r["steps"] == round(spec.horizon / r["lr"])
        assert all(0 <= e < 1 for e in r["relative_error"]) and all(c > 0 for c in r["change"])
    assert (smoke.folder("kernel-machine") / "figures" / "kernel_machine.png").stat().st_size > 1000


def _relative_error(model: ModelSpec, lr: float, steps: int, every: int = 1) -> list[float]:
    ds = load(DataSpec(n_train=60, n_test=10, binary=True))
    pop = population_for(model, ds, [0, 1])
    rows: list[dict] = []
    probe = PathKernel(lr=lr, loss="mse")
    train(pop, ds, TrainSpec(optimizer="sgd", momentum=0.0, batch_size=0, lr=lr, steps=steps, loss="mse",
                             eval_every=every), measure=lambda p, step: probe(p, step, ds, rows), on_measure=rows.append)
    last = rows[-1]
    return [e / c for e, c in zip(last["pk_error"], last["pk_change"])]


def test_path_kernel_of_a_linear_model_is_exact_through_the_engine():
    # f(x; W, b) = Wx + b: every step's first-order term is the whole change, whatever the step (0.1: below the
    # logistic model's 2/λ_max, so float32 training stays finite)
    errors = _relative_error(ModelSpec(kind="logistic"), lr=0.1, steps=40)
    assert max(errors) < 1e-5  # float32 training, float64 kernel sums


def test_path_kernel_of_a_nonlinear_model_has_a_first_order_error():
    errors = _relative_error(ModelSpec(kind="mlp", width=16, depth=1, activation="tanh"), lr=0.1, steps=40)
    assert min(errors) > 1e-3  # 0.6-1.1% here: 10^4 times the linear model's rounding


def test_path_kernel_probe_needs_every_step():
    with pytest.raises(ValueError, match="eval_every=1"):
        _relative_error(ModelSpec(kind="logistic"), lr=0.1, steps=10, every=2)
