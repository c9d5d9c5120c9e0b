"""`make setup` survives interruption: a setup stopped while `python -m venv` runs, one whose
install failed, or a venv left without pip, is rebuilt by the next `make setup` instead of failing
with `No module named pip` forever.

Every test runs the course's real Makefile rule in a temporary copy with a venv of its own. To stay
fast and offline it installs a tiny local wheel (`INSTALL=tinypkg`, no package index) in place of
the course's packages; the rule under test is the same."""

import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from autograder.notebooks import course_root

ROOT = course_root()


def write_tiny_wheel(folder: Path) -> None:
    """A one-module wheel pip installs without a network: the package setup installs in these tests."""
    dist = "tinypkg-1.0.dist-info"
    files = {
        "tinypkg/__init__.py": "VERSION = '1.0'\n",
        f"{dist}/METADATA": "Metadata-Version: 2.1\nName: tinypkg\nVersion: 1.0\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: test_setup\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    files[f"{dist}/RECORD"] = "".join(f"{name},,\n" for name in [*files, f"{dist}/RECORD"])
    with zipfile.ZipFile(folder / "tinypkg-1.0-py3-none-any.whl", "w") as wheel:
        for name, text in files.items():
            wheel.writestr(name, text)


@pytest.fixture
def course(tmp_path) -> Path:
    """The course's Makefile and pyproject.toml in a folder of their own, and a local wheel."""
    folder = tmp_path / "course"
    folder.mkdir()
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, folder / name)
    (tmp_path / "wheels").mkdir()
    write_tiny_wheel(tmp_path / "wheels")
    return folder


def setup_command(course: Path, install: str = "tinypkg") -> tuple[list[str], dict]:
    command = ["make", "--no-print-directory", "setup", "VENV=venv", f"PYTHON={sys.executable}",
               f"INSTALL={install}"]
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(course.parent / "wheels"),
           "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    return command, env


def make_setup(course: Path, install: str = "tinypkg") -> subprocess.CompletedProcess:
    command, env = setup_command(course, install)
    return subprocess.run(command, cwd=course, env=env, capture_output=True, text=True, timeout=600)


def pip_works(venv: Path) -> bool:
    return subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "--version"],
                          capture_output=True).returncode == 0


def assert_set_up(course: Path, done: subprocess.CompletedProcess) -> None:
    venv = course / "venv"
    assert done.returncode == 0, done.stdout + done.stderr
    assert (venv / ".installed").exists() and not (venv / ".installing").exists()
    assert pip_works(venv)
    imported = subprocess.run([str(venv / "bin" / "python"), "-c", "import tinypkg; print(tinypkg.VERSION)"],
                              capture_output=True, text=True)
    assert imported.stdout.strip() == "1.0", imported.stderr


def test_a_setup_interrupted_while_the_venv_is_made_is_rebuilt(course):
    command, env = setup_command(course)
    setup = subprocess.Popen(command, cwd=course, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             start_new_session=True)
    python = course / "venv" / "bin" / "python"
    deadline = time.monotonic() + 120
    while not python.exists() and setup.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert setup.poll() is None, "setup finished before it could be interrupted"
    os.killpg(setup.pid, signal.SIGINT)                 # what Ctrl+C sends to the terminal's process group
    setup.wait(timeout=60)
    assert setup.returncode != 0
    venv = course / "venv"
    assert python.exists() and not (venv / ".installed").exists()   # half-made: the state users were stuck in
    assert (venv / ".installing").exists() or not pip_works(venv)

    again = make_setup(course)
    assert "half-made" in again.stdout
    assert_set_up(course, again)


def test_a_venv_without_pip_is_rebuilt(course):
    """Exactly what an interrupted `python -m venv` left before: a venv with Python and no pip."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(course / "venv")], check=True)
    assert not pip_works(course / "venv")
    done = make_setup(course)
    assert "half-made" in done.stdout
    assert_set_up(course, done)

    # finished: the next setup has nothing to do; a finished venv that loses pip is set up again
    assert "rebuilding" not in make_setup(course).stdout
    for pip in (course / "venv" / "lib").glob("python*/site-packages/pip"):
        shutil.rmtree(pip)
    done = make_setup(course)
    assert "half-made" in done.stdout
    assert_set_up(course, done)


def test_a_failed_install_is_rebuilt(course):
    failed = make_setup(course, install="no-such-package-anywhere")
    assert failed.returncode != 0
    assert (course / "venv" / ".installing").exists() and not (course / "venv" / ".installed").exists()
    done = make_setup(course)
    assert "half-made" in done.stdout
    assert_set_up(course, done)


def test_a_broken_venv_folder_holding_anything_else_is_never_deleted(course):
    (course / "venv").mkdir()
    (course / "venv" / "notes.txt").write_text("mine")
    done = make_setup(course)
    assert done.returncode != 0
    assert "holds more than a virtual environment" in done.stdout
    assert (course / "venv" / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("chromium, says", [("/nonexistent/chromium", True), (sys.executable, False)])
def test_make_says_when_the_browser_test_cannot_run(chromium, says):
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    done = subprocess.run(["make", "--no-print-directory", "-o", ".venv/.installed", "browser-note",
                           f"CHROMIUM={chromium}"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0
    assert ("apt-get install chromium" in done.stdout) is says
