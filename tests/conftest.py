import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fixtures"))

import mini_course  # noqa: E402

from autograder.exporter import write_library  # noqa: E402
from autograder.notebooks import course_root, slugs  # noqa: E402
from autograder.release import generate_learner_versions  # noqa: E402

ROOT = course_root()


@pytest.fixture(scope="session")
def released_mini(tmp_path_factory) -> Path:
    """The mini course, released once per test session (treat as read-only)."""
    root = mini_course.build(tmp_path_factory.mktemp("mini"))
    generate_learner_versions(root / "notebooks", root=root)
    write_library(root)
    return root


@pytest.fixture
def mini(released_mini, tmp_path) -> Path:
    """A private, writable copy of the released mini course."""
    root = tmp_path / "course"
    shutil.copytree(released_mini, root)
    return root


def course_notebooks() -> list[str]:
    return slugs(ROOT)


# -- where CI time goes: every test's seconds, written for `python -m autograder times` ---------------
_durations: dict[str, float] = {}
_session_started: list[float] = []


def pytest_sessionstart(session):
    import time

    _session_started.append(time.perf_counter())


def pytest_runtest_logreport(report):
    """Runs in the controller (reports arrive from xdist workers too): setup + call + teardown."""
    _durations[report.nodeid] = _durations.get(report.nodeid, 0.0) + report.duration


def pytest_sessionfinish(session, exitstatus):
    import json
    import os
    import time

    if os.environ.get("PYTEST_XDIST_WORKER") or not _session_started:
        return                                    # only the controller writes the record
    label = "alone" if session.config.option.markexpr == "alone" else "main"
    out = ROOT / "build" / "test-times" / f"{label}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"label": label, "wall_seconds": time.perf_counter() - _session_started[0],
                               "workers": getattr(session.config.option, "numprocesses", None) or 1,
                               "tests": _durations}, indent=1))
