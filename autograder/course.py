"""nbgrader, driven in-process on a course directory of our choosing.

The repository's ``nbgrader_config.py`` is the one configuration; this module loads it and
points the directories elsewhere when the harness works in a scratch course (a release into a
temporary folder, an audit, the round trip) so nothing touches the instructor's gradebook.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from autograder.notebooks import CourseError, course_root


def tools_on_path() -> None:
    """nbgrader runs ``alembic`` and kernels from PATH: make it the interpreter's own bin first."""
    bin_dir = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != bin_dir:
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def _alembic_head_in_process() -> str:
    """The gradebook schema's alembic head, read in-process.

    nbgrader asks for it by running the ``alembic`` command for every new gradebook, which
    costs seconds each time; the answer only depends on the installed nbgrader.
    """
    from alembic.config import Config as AlembicConfig
    from alembic.script import ScriptDirectory
    from nbgrader.api import _temp_alembic_ini

    with _temp_alembic_ini("sqlite:////tmp/gradebook.db") as alembic_ini:
        return ScriptDirectory.from_config(AlembicConfig(alembic_ini)).get_current_head()


def speed_up_nbgrader() -> None:
    import functools

    import nbgrader.api

    if not hasattr(nbgrader.api.get_alembic_version, "cache_info"):
        nbgrader.api.get_alembic_version = functools.cache(_alembic_head_in_process)


def course_config(root: Path | None = None, **directories: str) -> Config:
    """The course's nbgrader config with ``CourseDirectory`` traits overridden by ``directories``."""
    root = root or course_root()
    config_file = course_root() / "nbgrader_config.py"
    config = PyFileConfigLoader(config_file.name, path=str(config_file.parent)).load_config()
    own = Path(root) / "nbgrader_config.py"     # a scratch course may tighten limits on top
    if own.is_file() and own.resolve() != config_file.resolve():
        config.merge(PyFileConfigLoader(own.name, path=str(own.parent)).load_config())
    config.CourseDirectory.root = str(root)
    for name, value in directories.items():
        setattr(config.CourseDirectory, name, str(value))
    return config


def nbgrader_api(root: Path, **directories: str):
    """An ``NbGraderAPI`` on ``root`` (quiet: its log goes to the returned result)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    tools_on_path()
    speed_up_nbgrader()
    config = course_config(root, **directories)
    config.Application.log_level = logging.WARNING
    coursedir = CourseDirectory(config=config)
    return NbGraderAPI(coursedir=coursedir, config=config)


def succeed(result: dict, what: str) -> dict:
    """Raise a clear error when an nbgrader API call failed; otherwise return its result."""
    if not result.get("success"):
        log = (result.get("log") or "") + "\n" + (result.get("error") or "")
        errors = re.findall(r"^\s*(\w+(?:Error|Exception)\b.*)$", log, re.M)
        reason = errors[0].strip() if errors else "see nbgrader's log"
        raise CourseError(f"{what} failed: {reason or result.get('error', 'no reason given')}")
    return result
