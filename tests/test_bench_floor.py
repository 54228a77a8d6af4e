"""``whynets bench population`` prints ``floor-fraction <x>`` (the bench's tight floor — batched matmuls, evaluation
matmuls and fused Adam, each timed alone in the same run — over the engine's time) just before ``speedup``."""

from typer.testing import CliRunner

from whynets.cli.main import app


def test_population_bench_prints_its_floor_fraction():
    res = CliRunner().invoke(app, ["bench", "population", "--quick"])
    assert res.exit_code == 0, res.output
    lines = res.stdout.strip().splitlines()
    assert lines[-1].startswith("speedup ") and lines[-2].startswith("floor-fraction ")
    fraction = float(lines[-2].split()[1])
    # the floor is work the engine also does, timed alone: the engine cannot take much less (timer noise aside)
    assert 0 < fraction < 1.5
