"""The terminal as a person reads it, through the real `whynets` process: `whynets list` and the claims summary at
COLUMNS=80 and COLUMNS=200 — one line per experiment or claim, no line past the width, no word broken, each claim
with its status and its estimate [95% interval]; colors on a terminal, none with NO_COLOR or without a terminal;
and the catalogue's progress with an ETA."""

from __future__ import annotations

import os
import pty
import re
import select
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from whynets.experiments import all_experiments

ANSI = re.compile(r"\x1b\[[0-9;]*m")
WHYNETS = [sys.executable, "-m", "whynets.cli.main"]
PYTHON = [sys.executable]


def _env(columns: int, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "TERM")}
    return {**env, "COLUMNS": str(columns), "TERM": "xterm-256color", **extra}


def _run(args: list[str], columns: int) -> str:
    res = subprocess.run(WHYNETS + args, capture_output=True, text=True, env=_env(columns), timeout=120)
    assert res.returncode == 0, res.stderr
    return res.stdout


def _run_in_terminal(args: list[str], columns: int, **extra: str) -> str:
    """stdout and stderr of ``python args`` on a pseudo-terminal (as a person's shell runs it)."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(PYTHON + args, stdin=follower, stdout=follower, stderr=follower, env=_env(columns, **extra),
                            close_fds=True)
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 120)
        if not ready:
            proc.kill()
            break
        try:
            data = os.read(leader, 65536)
        except OSError:  # the process closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert proc.wait(timeout=60) == 0
    return b"".join(chunks).decode().replace("\r\n", "\n")


def _whole_words(shown: str, text: str) -> bool:
    """``shown`` is ``text``, or its start cut between two words and marked with an ellipsis."""
    text = " ".join(text.split())
    if shown == text:
        return True
    if not shown.endswith("…"):
        return False
    head = shown[:-1]
    return text.startswith(head) and (len(head) == len(text) or not text[len(head)].isalnum() or text[len(head) - 1]
                                      in " ,;:—-")


def _check_list(lines: list[str], columns: int) -> None:
    experiments = all_experiments()
    assert len(lines) == 1 + len(experiments)
    assert all(len(line) <= columns for line in lines), max(lines, key=len)
    assert not any(ANSI.search(line) for line in lines)  # not a terminal: plain text
    for line, e in zip(lines[1:], experiments):
        assert line.startswith(e.name + " ")
        rest = line[len(e.name):].strip()
        claim = rest if columns < 140 else rest.split("  ")[0].strip()
        assert _whole_words(claim, e.claim), (line, e.claim)
        if columns >= 140:
            assert _whole_words(rest[len(claim):].strip(), e.paper), line


def test_list_at_80_columns_is_one_line_per_experiment_with_no_word_broken():
    _check_list(_run(["list"], 80).splitlines(), 80)  # the real process, as a person runs it


def _cli(args: list[str], columns: int, monkeypatch) -> str:
    from typer.testing import CliRunner

    from whynets.cli.main import app

    monkeypatch.setenv("COLUMNS", str(columns))  # rich reads it when it prints
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    return res.stdout


def test_list_at_200_columns_adds_the_paper(monkeypatch):
    _check_list(_cli(["list"], 200, monkeypatch).splitlines(), 200)


def test_list_name_shows_everything_wrapped_between_words(monkeypatch):
    e = next(e for e in all_experiments() if e.name == "double-descent")
    lines = _cli(["list", "double-descent"], 80, monkeypatch).splitlines()
    assert all(len(line) <= 80 for line in lines)
    text = " ".join(" ".join(line.split()) for line in lines)
    assert " ".join(e.claim.split()) in text and " ".join(e.paper.split()) in text


@pytest.fixture(scope="module")
def claims(smoke, tmp_path_factory) -> tuple[Path, list[dict]]:
    """The claims of two experiments' smoke runs, and a JSON file holding them."""
    import json

    claims = smoke.record("double-descent")["claims"] + smoke.record("random-labels")["claims"]
    path = tmp_path_factory.mktemp("terminal") / "claims.json"
    path.write_text(json.dumps(claims))
    return path, claims


@pytest.mark.parametrize("columns", [80, 200])
def test_claims_summary_is_one_line_per_claim(claims, columns, monkeypatch, capsys):
    from whynets.cli.common import claims_table, console
    from whynets.record import deciding_check
    from whynets.report import status

    _, claims = claims
    monkeypatch.setenv("COLUMNS", str(columns))
    console.print(claims_table(claims, "claims (smoke)", more="Every check: runs/claims.md"))
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert all(len(line) <= columns for line in lines), max(lines, key=len)
    for c in claims:
        name = c["id"].split("/", 1)[1]
        mine = [line for line in lines if re.match(rf"\s+{re.escape(status(c))}\s+{re.escape(name)}(\s|$)", line)]
        assert len(mine) == 1, (c["id"], out)
        check = deciding_check(c)
        if check and check["op"] != "all":
            lo, hi = check["interval"]
            assert f"[{lo:.4g}, {hi:.4g}]" in mine[0] or "(exact)" in mine[0], mine[0]
    assert "runs/claims.md" in out.replace("\n", " ")


SHOW = ("import json, sys; from whynets.cli.common import claims_table, console; "
        "console.print(claims_table(json.load(open(sys.argv[1])), 'claims'))")


def test_colors_on_a_terminal_and_none_with_no_color_or_without_one(claims):
    path, claims = claims
    colored = _run_in_terminal(["-c", SHOW, str(path)], 80)
    assert re.search(r"\x1b\[[0-9;]*(3[0-7]|9[0-7])m", colored), colored  # the statuses in color
    plain = _run_in_terminal(["-c", SHOW, str(path)], 80, NO_COLOR="1")
    assert not re.search(r"\x1b\[[0-9;]*(3[0-7]|9[0-7]|38;[0-9;]*)m", plain), plain  # no foreground color
    assert ANSI.sub("", plain).count("\n") >= len(claims)
    piped = subprocess.run([sys.executable, "-c", SHOW, str(path)], capture_output=True, text=True, env=_env(80),
                           timeout=120)
    assert piped.returncode == 0 and piped.stdout.count("\n") >= len(claims) and not ANSI.search(piped.stdout)


def test_the_catalogue_says_how_long_it_will_take_and_what_is_left():
    from whynets.cli.common import CatalogueEta

    said: list[str] = []
    eta = CatalogueEta(["min-norm", "soft-inductive-bias"], "quick", 1, said.append)
    assert re.match(r"2 experiment run\(s\), expected to take about \d+ s \(1 at a time", said[0]), said
    eta.finished("min-norm")
    assert re.match(r"1/2 done, \d+ s elapsed, about [\d.]+ (s|min) left$", said[1]), said
    eta.finished("soft-inductive-bias")
    assert said[2].startswith("2/2 done") and "left" not in said[2]
