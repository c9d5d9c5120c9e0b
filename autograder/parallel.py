"""Parallel autograding without gradebook corruption: separate work, then one writer.

Workers each run nbgrader's own ``autograde``, cut short after its execution step (sandboxed
kernels, :mod:`autograder.execution`), for one submission in a private scratch course with a
*copy* of the gradebook, so no two processes ever write the same SQLite file. A single writer
runs the whole ``autograde`` in the real course with the execution step replaced by
:class:`ReplayExecuted`, which takes each cell's outputs from the worker's run instead of
executing again: nbgrader sanitizes, scores and saves exactly as it would have, once per
submission, in order, each as soon as its worker is done (while the workers go on).
"""

from __future__ import annotations

import multiprocessing
import shutil
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Unicode

from autograder.course import nbgrader_api
from autograder.notebooks import course_root



def _private_course(scratch: Path, root: Path, slug: str, student: str) -> Path:
    """A course folder holding only what autograding ``student`` needs, and its own gradebook."""
    private = scratch / student
    (private / "submitted" / student).mkdir(parents=True)
    shutil.copytree(root / "submitted" / student / slug, private / "submitted" / student / slug)
    (private / "solutions").mkdir()
    (private / "solutions" / slug).symlink_to((root / "solutions" / slug).resolve())
    shutil.copy(root / "gradebook.db", private / "gradebook.db")
    if (root / "nbgrader_config.py").is_file() and root.resolve() != course_root().resolve():
        shutil.copy(root / "nbgrader_config.py", private / "nbgrader_config.py")
    return private


def _grade_privately(private: str, slug: str, student: str) -> tuple[str, str]:
    """One worker's job: nbgrader autograde in the private course. Returns (student, error)."""
    from autograder.course import succeed
    from autograder.notebooks import CourseError

    root = Path(private)
    api = nbgrader_api(root, db_url=f"sqlite:///{root / 'gradebook.db'}")
    # Sanitize and execute only: the writer runs every step after execution (scores, checks) once.
    api.config.Autograde.autograde_preprocessors = _steps(api)[:1]
    try:
        succeed(api.autograde(slug, student, force=True, create=True), f"autograde {slug} for {student}")
    except CourseError as error:
        return student, str(error)
    return student, ""


def execute_each(slug: str, students: list[str], root: Path, scratch: Path, jobs: int) -> Iterator[tuple[str, str]]:
    """Autograde every student in a private course on ``jobs`` workers; yield (student, error or '').

    Results come in submission order, each as soon as it is done, so the writer records one
    submission while the workers are still executing the next ones.
    """
    privates = {s: _private_course(scratch, root, slug, s) for s in students}
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = [pool.submit(_grade_privately, str(privates[s]), slug, s) for s in students]
        for future in futures:
            yield future.result()


class ReplayExecuted(NbGraderPreprocessor):
    """The writer's execution step: outputs from the worker's run of the same sanitized notebook."""

    executed_root = Unicode("", help="the scratch folder holding the workers' private courses").tag(config=True)

    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        student, assignment, notebook = info["student"], info["assignment"], info["notebook"]
        path = Path(self.executed_root) / student / "autograded" / student / assignment / f"{notebook}.ipynb"
        executed = nbformat.read(path, as_version=nbformat.NO_CONVERT)
        if len(executed.cells) != len(nb.cells):
            raise ValueError(f"{path}: {len(executed.cells)} cells, the sanitized submission has {len(nb.cells)}")
        for cell, ran in zip(nb.cells, executed.cells):
            if cell.cell_type != ran.cell_type or cell.source != ran.source:
                raise ValueError(f"{path}: cells differ from the sanitized submission")
            if cell.cell_type == "code":
                cell.outputs = ran.outputs
                cell.execution_count = ran.execution_count
        nb.metadata["language_info"] = executed.metadata.get("language_info", {})
        return nb, resources


def _steps(api) -> list:
    """nbgrader's autograde steps, checked to start with the sandboxed execution."""
    steps = list(api.config.Autograde.autograde_preprocessors)
    if not steps or not str(steps[0]).endswith("GuardedExecute"):
        raise ValueError("nbgrader_config.py: the first autograde step must be GuardedExecute")
    return steps


def writer_api(root: Path, db_url: str, scratch: Path):
    """nbgrader's API on the real course whose autograde replays the workers' outputs."""
    api = nbgrader_api(root, db_url=db_url)
    api.config.Autograde.autograde_preprocessors = ["autograder.parallel.ReplayExecuted", *_steps(api)[1:]]
    api.config.ReplayExecuted.executed_root = str(scratch)
    return api
