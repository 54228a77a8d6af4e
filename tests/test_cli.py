"""Every CLI command on the smoke preset: list, run, reproduce, report, env, bench."""

import json
import math

import pytest

from typer.testing import CliRunner

from whynets.cli.main import app

runner = CliRunner()


def test_list():
    res = runner.invoke(app, ["list"])
    assert res.exit_code == 0 and "random-labels" in res.stdout and "baselines" in res.stdout


def test_env():
    res = runner.invoke(app, ["env", "--device", "cpu"])
    assert res.exit_code == 0 and "torch:" in res.stdout and "torch_threads:" in res.stdout


def test_run_rejects_typo_with_valid_keys(tmp_path):
    res = runner.invoke(app, ["run", "random-labels", "--preset", "smoke", "--out", str(tmp_path), "--set", "train.lrr=1"])
    assert res.exit_code == 2 and "train.lr" in res.output


def test_run_unknown_experiment(tmp_path):
    res = runner.invoke(app, ["run", "nope", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "unknown experiment" in res.output


def test_run_show_spec():
    res = runner.invoke(app, ["run", "random-labels", "--show-spec", "--set", "train.lr=0.5"])
    assert res.exit_code == 0 and "train.lr (float) = 0.5" in res.stdout


def test_reproduce_then_report(tmp_path):
    res = runner.invoke(app, ["reproduce", "random-labels", "--preset", "smoke", "--out", str(tmp_path), "--device", "cpu"])
    claims = json.loads((tmp_path / "claims.json").read_text())
    assert claims and all({"id", "paper", "measured", "passed"} <= set(c) for c in claims)
    failed = [c for c in claims if not c["passed"] and "expected_failure" not in c]
    # smoke sizes are too small for the claims: reproduce must say so through its exit code
    assert (res.exit_code == 1) == bool(failed)
    html = (tmp_path / "report.html").read_text()
    assert "data:image/png;base64," in html and "random-labels" in html
    (tmp_path / "report.html").unlink()
    for png in tmp_path.glob("random-labels/*/figures/*.png"):
        png.unlink()
    res = runner.invoke(app, ["report", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "report.html").exists() and (tmp_path / "claims.md").exists()
    assert list(tmp_path.glob("random-labels/*/figures/*.png"))  # figures rebuilt from the store only


def test_reproduce_in_parallel_processes_equals_one_by_one(tmp_path):
    """--jobs 2 runs each experiment in its own process; the claims equal a one-by-one run's."""
    names = ["min-norm", "soft-inductive-bias"]
    args = ["--preset", "smoke", "--device", "cpu"]
    serial = runner.invoke(app, ["reproduce", *names, *args, "--out", str(tmp_path / "a")])
    parallel = runner.invoke(app, ["reproduce", *names, *args, "--out", str(tmp_path / "b"), "--jobs", "2"])
    assert parallel.exit_code == serial.exit_code, parallel.output
    a, b = (json.loads((tmp_path / d / "claims.json").read_text()) for d in ("a", "b"))
    assert [c["id"] for c in a] == [c["id"] for c in b] and len(a) > 0
    assert [c["measured"] for c in a] == [c["measured"] for c in b]
    assert (tmp_path / "b" / "min-norm" / "reproduce.log").exists() and (tmp_path / "b" / "report.html").exists()


def test_reproduce_in_parallel_reports_a_crashed_experiment(tmp_path, monkeypatch):
    monkeypatch.setenv("WHYNETS_THREADS", "many")  # every experiment process stops at start-up
    res = runner.invoke(app, ["reproduce", "min-norm", "--preset", "smoke", "--device", "cpu", "--jobs", "2",
                              "--out", str(tmp_path)])
    assert res.exit_code == 1
    # the experiment process stops with a user error (exit 2) and one line; reproduce names it and shows the line
    assert "min-norm (default): exited with 2" in res.output and "WHYNETS_THREADS must be a positive" in res.output


def test_report_on_empty_dir(tmp_path):
    res = runner.invoke(app, ["report", str(tmp_path)])
    assert res.exit_code == 2 and "no finished run" in res.output


def test_bench_population_quick():
    res = runner.invoke(app, ["bench", "population", "--quick"])
    assert res.exit_code == 0, res.output
    last = res.stdout.strip().splitlines()[-1]
    assert last.startswith("speedup ") and float(last.split()[1]) > 0
    assert "max |test acc difference| = 0.0000" in res.stdout  # both sides trained the same models
    assert "floor" in res.stdout and "ceiling" in res.stdout  # what no engine on this machine could beat


@pytest.mark.slow
def test_bench_hessian_quick():
    res = runner.invoke(app, ["bench", "hessian", "--quick"])
    assert res.exit_code == 0, res.output
    lines = res.stdout.strip().splitlines()
    assert lines[-1].startswith("speedup ")
    assert "exact Hessian" in res.stdout  # accuracy is checked against the exact spectrum
    ratio = float(lines[-1].split()[1])
    try:
        import pyhessian  # noqa: F401  (a test dependency; without it only our side runs)
    except ImportError:
        assert math.isnan(ratio)
    else:
        assert ratio > 0 and "PyHessian" in res.stdout


def test_bench_hessian_refuses_a_gpu():
    res = runner.invoke(app, ["bench", "hessian", "--device", "cuda"])
    assert res.exit_code == 2 and "CPU only" in res.output


def test_jobs_start_the_longest_experiment_first(monkeypatch):
    from whynets.cli.reproduce_cmd import start_order
    from whynets.experiments import get, names

    everything = list(names())
    order = start_order(everything)
    assert sorted(order) == sorted(everything)
    walls = [get(n).quick_wall_s for n in order]
    assert all(w is not None for w in walls), "every experiment declares its quick wall"
    assert walls == sorted(walls, reverse=True) and order[0] == "double-descent"
    # an experiment with no declared wall is treated as the longest: it starts first
    import dataclasses

    import whynets.experiments as experiments
    unknown = dataclasses.replace(get("min-norm"), quick_wall_s=None)
    real_get = experiments.get
    monkeypatch.setattr(experiments, "get", lambda n: unknown if n == "min-norm" else real_get(n))
    assert start_order(["double-descent", "min-norm"]) == ["min-norm", "double-descent"]
