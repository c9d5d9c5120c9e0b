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
