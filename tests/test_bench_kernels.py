"""``whynets bench kernels --quick``: analytic kernels against Monte Carlo, the CNN's empirical NTK against an
autograd loop; the figures it prints are measured, the comparisons agree."""

import re

from typer.testing import CliRunner

from whynets.cli.main import app

runner = CliRunner()


def test_bench_kernels_quick():
    res = runner.invoke(app, ["bench", "kernels", "--quick"])
    assert res.exit_code == 0, res.output
    lines = res.stdout.strip().splitlines()
    assert lines[-1].startswith("speedup ") and float(lines[-1].split()[1]) > 0
    for name in ("relu-depth3", "erf-depth2"):
        assert f"[{name}] analytic NNGP + NTK" in res.stdout
        reached = re.search(rf"\[{name}\] Monte Carlo NNGP.* relative error of ([0-9.]+)", res.stdout)
        assert reached and float(reached.group(1)) <= 0.05  # the Monte-Carlo side reached the stated error
    diff = re.search(r"max relative difference ([0-9.e+-]+)", res.stdout)
    assert diff and float(diff.group(1)) < 1e-4  # ours and the autograd loop compute the same kernel
    assert "[neural-tangents]" in res.stdout


def test_bench_kernels_refuses_a_gpu():
    res = runner.invoke(app, ["bench", "kernels", "--device", "cuda"])
    assert res.exit_code == 2 and "CPU only" in res.output
