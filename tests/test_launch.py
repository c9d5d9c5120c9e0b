"""`make lab` serves the course, and a learner's round in a real browser: JupyterLab in headless
Debian Chromium (driven by Playwright; never a downloaded browser), run all cells, press
nbgrader's Validate. Screenshots are kept under build/browser/."""

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from autograder.notebooks import course_root, read, release_path, solution_path
from autograder.learners import fill

ROOT = course_root()
CHROMIUM = Path("/usr/bin/chromium")
PILOT = "00-python-basics"
SHOTS = ROOT / "build" / "browser"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_served(url: str, deadline_s: float = 90) -> str:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read().decode()
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"nothing served at {url} within {deadline_s:g} s")


def stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def test_make_lab_serves_jupyterlab_on_the_learner_notebooks():
    port, token = free_port(), secrets.token_hex(8)
    args = f"--no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port={port} --ServerApp.token={token}"
    lab = subprocess.Popen(["make", "--no-print-directory", "lab", f"LAB_ARGS={args}"], cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        page = wait_until_served(f"http://127.0.0.1:{port}/lab?token={token}")
        assert "JupyterLab" in page
        listing = wait_until_served(f"http://127.0.0.1:{port}/api/contents?token={token}")
        assert f'"name": "{PILOT}"' in listing or f'"name":"{PILOT}"' in listing  # rooted at notebooks/
    finally:
        stop(lab)


@pytest.fixture
def lab_server(tmp_path):
    """JupyterLab on a temporary course: the untouched learner notebook and a filled-in copy."""
    (tmp_path / "stub").mkdir()
    (tmp_path / "filled").mkdir()
    shutil.copy(release_path(PILOT), tmp_path / "stub" / f"{PILOT}.ipynb")
    import nbformat

    filled = fill(read(release_path(PILOT)), read(solution_path(PILOT)))
    nbformat.write(filled, tmp_path / "filled" / f"{PILOT}.ipynb")
    port, token = free_port(), secrets.token_hex(8)
    lab = subprocess.Popen([str(Path(os.sys.executable).parent / "jupyter"), "lab", "--no-browser", "--allow-root",
                            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", f"--ServerApp.token={token}",
                            f"--ServerApp.root_dir={tmp_path}"],
                           cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until_served(f"http://127.0.0.1:{port}/lab?token={token}")
        yield f"http://127.0.0.1:{port}", token
    finally:
        stop(lab)


def run_all_and_validate(page, url: str, screenshot: Path) -> str:
    page.goto(url)
    page.wait_for_selector(".jp-Notebook", timeout=60_000)
    idle = page.get_by_text("Python 3 (ipykernel) | Idle")
    idle.wait_for(timeout=60_000)
    page.click("li.lm-MenuBar-item:has-text('Run')")
    page.click("li.lm-Menu-item:has-text('Run All Cells')")
    page.wait_for_timeout(1000)
    idle.wait_for(timeout=120_000)
    page.locator(".jp-ToolbarButtonComponent-label:visible", has_text="Validate").click()  # this tab's
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=120_000)
    page.wait_for_timeout(500)
    page.screenshot(path=str(screenshot))
    return dialog.inner_text()


@pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"),
                    reason="needs Debian's chromium (apt-get install chromium); CI installs it")
def test_learner_validates_in_a_real_browser(lab_server):
    from playwright.sync_api import sync_playwright

    base, token = lab_server
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            stub = run_all_and_validate(page, f"{base}/lab/tree/stub/{PILOT}.ipynb?token={token}",
                                        SHOTS / "validate-stub.png")
            assert "The following cell failed" in stub and "NotImplementedError" in stub
            assert page.get_by_text("NotImplementedError").count() > 0  # the stubs raised in the page too
            page.keyboard.press("Escape")
            filled = run_all_and_validate(page, f"{base}/lab/tree/filled/{PILOT}.ipynb?token={token}",
                                          SHOTS / "validate-filled.png")
            assert "Success! Your notebook passes all the tests." in filled
        finally:
            browser.close()
