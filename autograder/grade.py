"""``make grade``: the instructor's half on real submissions in ``submitted/``.

Syncs the gradebook with ``solutions/``, autogrades every collected submission (already
graded ones are kept unless ``--force``) in sandboxed kernels, on ``jobs`` workers when asked
(:mod:`autograder.parallel`), writes feedback without hidden tests, and exports ``grades.csv``.
A broken submission is reported on one line and skipped: it is never deleted or overwritten.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from autograder.course import nbgrader_api, succeed
from autograder.notebooks import CourseError, course_root, read
from autograder.sandbox import require_sandbox


def submissions(slug: str, root: Path) -> list[tuple[str, Path]]:
    submitted = root / "submitted"
    if not submitted.is_dir():
        raise CourseError(f"{submitted}: no submissions yet (collect them first: nbgrader collect {slug})")
    found = sorted((p.parent.parent.name, p) for p in submitted.glob(f"*/{slug}/{slug}.ipynb"))
    if not found:
        raise CourseError(f"no submissions of {slug} under {submitted}")
    return found


def grade(slug: str, force: bool = False, root: Path | None = None, jobs: int = 1) -> int:
    root = root or course_root()
    require_sandbox()                      # refuse before anything runs, not halfway through
    db_url = f"sqlite:///{root / 'gradebook.db'}"
    broken = 0
    with tempfile.TemporaryDirectory(prefix="fromscratch-sync-") as scratch:
        sync = nbgrader_api(root, release_directory=scratch, db_url=db_url)
        succeed(sync.generate_assignment(slug, force=True, create=True), f"syncing {slug} into the gradebook")
    todo = []
    for student, path in submissions(slug, root):
        try:
            read(path)
        except CourseError as error:
            broken += 1
            print(f"SKIPPED {student}: {error}")
            continue
        already = (root / "autograded" / student / slug).exists()
        if already and not force:
            print(f"kept    {student}: already autograded (pass --force / FORCE=1 to grade again)")
            continue
        todo.append(student)
    failed = _autograde(slug, todo, root, db_url, jobs)
    for student in todo:
        print(f"FAILED  {student}: {failed[student]}" if failed.get(student) else f"graded  {student}")
    api = nbgrader_api(root, db_url=db_url)
    succeed(api.generate_feedback(slug, force=True), f"generate_feedback {slug}")
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gradebook:
        for sub in gradebook.assignment_submissions(slug):
            print(f"  {sub.student_id:20s} {sub.score:6.1f} / {sub.max_score:g}"
                  f"  (auto-graded code {sub.code_score:g} / {sub.max_code_score:g})")
    exported = _export(root, db_url)
    print(f"feedback in feedback/*/{slug}/; grades in {exported}")
    return 1 if broken or any(failed.values()) else 0


def _autograde(slug: str, students: list[str], root: Path, db_url: str, jobs: int) -> dict[str, str]:
    """Autograde ``students``: serially, or on ``jobs`` workers and then one writer."""
    failed: dict[str, str] = {}
    if jobs <= 1 or len(students) <= 1:
        api = nbgrader_api(root, db_url=db_url)
        for student in students:
            try:
                succeed(api.autograde(slug, student, force=True, create=True), f"autograde {slug} for {student}")
            except CourseError as error:
                failed[student] = str(error)
        return failed
    from autograder.parallel import execute_each, writer_api

    with tempfile.TemporaryDirectory(prefix="fromscratch-workers-") as scratch:
        writer = writer_api(root, db_url, Path(scratch))
        for student, error in execute_each(slug, students, root, Path(scratch), jobs):
            if error:
                failed[student] = error
                continue
            try:
                succeed(writer.autograde(slug, student, force=True, create=True), f"recording {student}")
            except CourseError as error:
                failed[student] = str(error)
    return failed


def _export(root: Path, db_url: str) -> Path:
    import subprocess
    import sys

    target = root / "grades.csv"
    subprocess.run([Path(sys.executable).parent / "nbgrader", "export", f"--db={db_url}",
                    f"--to={target}"], cwd=root, check=True, capture_output=True)
    return target
