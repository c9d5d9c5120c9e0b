"""Grading throughput: nbgrader's serial autograde vs the course's sandboxed, parallel grade.

    make bench-grade [NB=00-python-basics] [JOBS=2] [SUBMISSIONS=40]

Builds a scratch course with SUBMISSIONS submissions of one notebook (a mix of correct ones,
untouched learner versions and the notebook's mutants, as a real class hands in), then times
(1) stock nbgrader: ``autograde`` one submission after another, no sandbox, and
(2) ``autograder.grade``'s autograding on JOBS workers, every kernel sandboxed,
on the same submissions, and checks that both give every submission the same score.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

from autograder.course import nbgrader_api, succeed
from autograder.grade import _autograde
from autograder.learners import fill
from autograder.mutants import load as load_mutants
from autograder.notebooks import course_root, release_path, solution_path

STOCK_NBGRADER = """c = get_config()
c.Autograde.autograde_preprocessors = [
    "nbgrader.preprocessors.Execute", "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor", "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades", "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata"]
"""


def class_of_submissions(slug: str, count: int) -> list[nbformat.NotebookNode]:
    solution = nbformat.read(solution_path(slug), as_version=4)
    learner = nbformat.read(release_path(slug), as_version=4)
    mutants = load_mutants(slug, solution)
    kinds = [fill(learner, solution), learner] + [fill(learner, solution, {m.cell: m.code}) for m in mutants]
    return [kinds[i % len(kinds)] for i in range(count)]


def course(folder: Path, slug: str, submissions: list, stock: bool) -> tuple[Path, str]:
    shutil.copytree(course_root() / "solutions" / slug, folder / "solutions" / slug)
    if stock:
        (folder / "nbgrader_config.py").write_text(STOCK_NBGRADER)
    db_url = f"sqlite:///{folder / 'gradebook.db'}"
    with tempfile.TemporaryDirectory() as release:
        api = nbgrader_api(folder, release_directory=release, db_url=db_url)
        succeed(api.generate_assignment(slug, force=True, create=True), "generate_assignment")
    for number, nb in enumerate(submissions):
        target = folder / "submitted" / f"learner{number:03d}" / slug
        target.mkdir(parents=True)
        nbformat.write(nb, target / f"{slug}.ipynb")
    return folder, db_url


def scores(db_url: str, slug: str) -> dict[str, float]:
    with Gradebook(db_url) as gradebook:
        return {s.student_id: s.code_score for s in gradebook.assignment_submissions(slug)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--notebook", default="00-python-basics")
    parser.add_argument("--jobs", type=int, default=int(os.environ.get("JOBS", 2)))
    parser.add_argument("--submissions", type=int, default=40)
    args = parser.parse_args()
    submissions = class_of_submissions(args.notebook, args.submissions)
    students = [f"learner{n:03d}" for n in range(args.submissions)]
    with tempfile.TemporaryDirectory(prefix="bench-grade-") as scratch:
        stock, stock_db = course(Path(scratch) / "stock", args.notebook, submissions, stock=True)
        ours, ours_db = course(Path(scratch) / "ours", args.notebook, submissions, stock=False)

        started = time.perf_counter()
        api = nbgrader_api(stock, db_url=stock_db)
        for student in students:
            succeed(api.autograde(args.notebook, student, force=True, create=True), f"autograde {student}")
        serial = time.perf_counter() - started

        started = time.perf_counter()
        failed = _autograde(args.notebook, students, ours, ours_db, args.jobs)
        parallel = time.perf_counter() - started

        if any(failed.values()):
            raise SystemExit(f"grading failed: {failed}")
        same = scores(stock_db, args.notebook) == scores(ours_db, args.notebook)
    n = args.submissions
    print(f"notebook {args.notebook}, {n} submissions, {os.cpu_count()} CPUs")
    print(f"nbgrader serial autograde (no sandbox): {serial:7.1f} s  {60 * n / serial:6.1f} submissions/min")
    print(f"course grade, sandboxed, {args.jobs} workers:  {parallel:7.1f} s  {60 * n / parallel:6.1f} submissions/min")
    print(f"speedup: {serial / parallel:.2f}x; identical scores: {'yes' if same else 'NO'}")
    if not same:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
