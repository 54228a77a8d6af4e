"""``whynets tour``: its plan without running it (the jobs exist, the diagnosis's lighter settings are valid settings,
every job has a reference wall, the estimate is the longest-first schedule), and its mistakes as one line."""

import pytest
from typer.testing import CliRunner

from whynets.cli import tour_cmd
from whynets.cli.main import app


def test_every_job_exists_and_has_a_reference_wall():
    from whynets.experiments import names

    assert set(tour_cmd.EXPERIMENTS) <= set(names())
    assert set(tour_cmd.CPU_S) == {*tour_cmd.EXPERIMENTS, tour_cmd.DIAGNOSE}


def test_the_lighter_diagnosis_is_made_of_valid_settings():
    from whynets.diagnosis import DiagnoseSpec

    spec = DiagnoseSpec().override(list(tour_cmd.DIAGNOSE_SETTINGS))
    default = DiagnoseSpec()
    assert len(spec.seeds) < len(default.seeds) and spec.prune_rounds < default.prune_rounds
    assert len(spec.width_factors) < len(default.width_factors) and 1.0 in spec.width_factors
    assert spec.questions == default.questions  # the tour's command asks --demo, which asks every question


def test_schedule_is_longest_first_on_the_workers():
    walls = {"a": 5.0, "b": 4.0, "c": 3.0, "d": 3.0}
    assert tour_cmd.schedule(walls, 1) == 15.0
    assert tour_cmd.schedule(walls, 2) == 8.0  # a+c | b+d
    assert tour_cmd.schedule(walls, 8) == 5.0


def test_commands_name_the_preset_and_the_settings(tmp_path):
    cmd = tour_cmd._command("min-norm", tmp_path, "cpu")
    assert cmd[3:] == ["run", "min-norm", "--preset", "quick", "--out", str(tmp_path / "runs"), "--device", "cpu",
                       "--no-escalate"]
    diag = tour_cmd._command(tour_cmd.DIAGNOSE, tmp_path, "cpu")
    assert "--demo" in diag and diag.count("--set") == len(tour_cmd.DIAGNOSE_SETTINGS)


@pytest.mark.parametrize("jobs", ["0", "two"])
def test_bad_jobs_is_one_line(jobs, tmp_path):
    res = CliRunner().invoke(app, ["tour", "--jobs", jobs, "--out", str(tmp_path / "t")])
    assert res.exit_code == 2
    assert len([line for line in res.output.splitlines() if line.strip()]) == 1 and "--jobs" in res.output
