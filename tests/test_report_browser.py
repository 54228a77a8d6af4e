"""The HTML reports as a person sees them: opened in a real headless Chromium (Debian's, driven by Playwright), every
figure decodes (natural width > 0), the claims table has one row per claim, the page asks nothing of the network,
and nothing is written to the console as an error. CI installs chromium (.ci/run); where it is absent (a
developer's machine) the test is skipped, saying so; under CI=true a missing chromium fails instead.

    WHYNETS_SCREENSHOTS=/tmp/shots pytest tests/test_report_browser.py    # also keep what the browser showed
(The README's docs/report-*.png were taken the same way from quick runs and `diagnose --demo`, not smoke runs.)
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import tiny_diagnosis

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SIZE = {"width": 1280, "height": 900}


def _browser_or_skip():
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed, and CI must run the browser test (.ci/run installs it)")
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run does it in CI)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("the playwright package is missing; it is a test dependency (pip install -e '.[test]')")
        pytest.skip("the playwright package is not installed (pip install -e '.[test]')")
    return sync_playwright


def _open(path: Path, profile: Path, screenshot: Path | None = None) -> dict:
    """What a person would see of ``path``: images (complete, natural width), the network asked, console errors,
    and the page itself for further questions (returned inside the context manager's lifetime as plain data)."""
    sync_playwright = _browser_or_skip()
    seen: dict = {"requests": [], "errors": []}
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(str(profile), executable_path=CHROMIUM, headless=True,
                                                       args=FLAGS, viewport=SIZE)
        try:
            page = context.new_page()
            page.on("request", lambda r: seen["requests"].append(r.url))
            page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: seen["errors"].append(str(e)))
            page.goto(path.resolve().as_uri(), wait_until="load")
            seen["images"] = page.eval_on_selector_all("img", "els => els.map(e => [e.complete, e.naturalWidth, "
                                                              "e.naturalHeight, e.src.slice(0, 22)])")
            seen["claim_rows"] = page.eval_on_selector_all("tr.claim", "rows => rows.map(r => r.innerText)")
            seen["simpler_rows"] = page.evaluate(
                """() => { const h = [...document.querySelectorAll('h2')].find(e => e.textContent.startsWith('1.'));
                           let t = h && h.nextElementSibling;
                           while (t && t.tagName !== 'TABLE') t = t.nextElementSibling;
                           return t ? t.querySelectorAll('tr').length - 1 : -1; }""")
            seen["text"] = page.inner_text("body")
            if screenshot is not None:
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot))
        finally:
            context.close()
    return seen


def _shots(tmp_path: Path) -> Path:
    return Path(os.environ["WHYNETS_SCREENSHOTS"]) if os.environ.get("WHYNETS_SCREENSHOTS") else tmp_path


def _looks_right(seen: dict, path: Path, figures: int) -> None:
    assert seen["requests"] == [path.resolve().as_uri()], f"the page asked for more than itself: {seen['requests']}"
    assert seen["errors"] == [], f"console errors: {seen['errors']}"
    assert len(seen["images"]) == figures
    for complete, width, height, src in seen["images"]:
        assert complete and width > 0 and height > 0 and src == "data:image/png;base64,"


def test_reproduce_report_in_a_browser(smoke, tmp_path):
    from whynets.report import build_report, status

    _browser_or_skip()
    names = ("double-descent", "random-labels")
    records = [smoke.record(n) for n in names]
    paths = build_report(smoke.out, only=[smoke.folder(n) for n in names], out=tmp_path / "report")
    shot = _shots(tmp_path) / "report-reproduce.png"
    seen = _open(paths["html"], tmp_path / "profile", shot)
    claims = [c for r in records for c in r["claims"]]
    _looks_right(seen, paths["html"], sum(len(r["figures"]) for r in records))
    assert len(seen["claim_rows"]) == len(claims)
    for row, claim in zip(seen["claim_rows"], claims):  # in order, each with its id and its status as shown
        assert row.startswith(claim["id"]) and status(claim) in row.split("\t")[-1], row
    assert shot.stat().st_size > 10_000


def test_diagnose_report_in_a_browser(tmp_path):
    _browser_or_skip()
    diagnosis = tiny_diagnosis.shared()
    path = diagnosis.folder / "report.html"
    shot = _shots(tmp_path) / "report-diagnose.png"
    seen = _open(path, tmp_path / "profile", shot)
    _looks_right(seen, path, len(list((diagnosis.folder / "figures").glob("*.png"))))
    assert seen["simpler_rows"] == len(diagnosis.record["answers"]["simpler"]["points"])
    assert "1. Could a simpler model do as well?" in seen["text"]
    assert "4. What do the learned parameters say?" in seen["text"]
    assert shot.stat().st_size > 10_000
