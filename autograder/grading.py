"""Real nbgrader autograding of chosen submissions in a scratch course.

Used by the audit (the solution and the untouched learner version, graded exactly as an
instructor's ``nbgrader autograde`` would) and by the tests that hold the fast replay engine
to nbgrader's verdicts.
"""

from __future__ import annotations

import resource
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.course import nbgrader_api, succeed
from autograder.execution import events_of, kernel_seconds, kernel_stamps
from autograder.notebooks import course_root


@dataclass
class Graded:
    """One autograded submission: auto-graded points per test cell, and what it cost."""

    scores: dict[str, float] = field(default_factory=dict)
    max_scores: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0            # wall time of `autograde` for this submission
    execution_seconds: float = 0.0  # first cell start to last cell end, in the kernel
    events: list[dict] = field(default_factory=list)   # time limits, dead kernels, restarts (by cell)
    cell_seconds: list[tuple[int, float]] = field(default_factory=list)  # (cell index, seconds), slowest first
    notebook: nbformat.NotebookNode | None = None   # the autograded notebook, outputs and all

    @property
    def points(self) -> float:
        return sum(self.scores.values())

    @property
    def max_points(self) -> float:
        return sum(self.max_scores.values())


def _execution_seconds(nb) -> float:
    """Span of the kernel's recorded cell timings (nbclient writes them into cell metadata)."""
    stamps = [stamp for cell in nb.cells for stamp in (kernel_stamps(cell) or ())]
    return (max(stamps) - min(stamps)).total_seconds() if len(stamps) >= 2 else 0.0


def _cell_seconds(nb) -> list[tuple[int, float]]:
    """Each executed cell's own time (execute_input to execute_reply), slowest first."""
    times = [(index, round(seconds, 3)) for index, cell in enumerate(nb.cells)
             if (seconds := kernel_seconds(cell)) is not None]
    return sorted(times, key=lambda pair: -pair[1])


def autograde(slug: str, submissions: dict[str, nbformat.NotebookNode],
              root: Path | None = None) -> dict[str, Graded]:
    """Autograde each ``student id -> notebook`` with nbgrader in a throwaway course."""
    from nbgrader.api import Gradebook

    root = root or course_root()
    results: dict[str, Graded] = {}
    with tempfile.TemporaryDirectory(prefix="fromscratch-grade-") as scratch:
        course = Path(scratch)
        shutil.copytree(root / "solutions" / slug, course / "source" / slug)
        db_url = f"sqlite:///{course}/gradebook.db"
        api = nbgrader_api(course, source_directory="source", release_directory="release", db_url=db_url)
        succeed(api.generate_assignment(slug, force=True, create=True), f"generate_assignment {slug}")
        for student, nb in submissions.items():
            folder = course / "submitted" / student / slug
            folder.mkdir(parents=True)
            for extra in (course / "release" / slug).iterdir():  # data files beside the notebook
                if extra.suffix != ".ipynb":
                    (shutil.copytree if extra.is_dir() else shutil.copy)(extra, folder / extra.name)
            nbformat.write(nb, folder / f"{slug}.ipynb")
            started = time.perf_counter()
            succeed(api.autograde(slug, student, force=True, create=True), f"autograde {slug} for {student}")
            graded = Graded(seconds=time.perf_counter() - started)
            autograded = nbformat.read(course / "autograded" / student / slug / f"{slug}.ipynb", as_version=4)
            graded.execution_seconds = _execution_seconds(autograded)
            graded.cell_seconds = _cell_seconds(autograded)
            graded.events = events_of(autograded)
            graded.notebook = autograded
            with Gradebook(db_url) as gradebook:
                notebook = gradebook.find_submission_notebook(slug, slug, student)
                for grade in notebook.grades:
                    if grade.cell.cell_type == "code":
                        graded.scores[grade.name] = float(grade.auto_score or 0.0)
                        graded.max_scores[grade.name] = float(grade.max_score)
            results[student] = graded
    return results


def peak_child_rss_mb() -> float:
    """The largest resident set of any finished child process (kernels, the replay engine)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
