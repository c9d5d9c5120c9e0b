"""The whole nbgrader cycle with the real command line, against a temporary exchange:
release_assignment, fetch, submit (a correct and a wrong learner), collect, autograde,
generate_feedback, export."""

import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.notebooks import course_root, read, release_path, slugs, solution_path
from autograder.learners import fill

NBGRADER = [sys.executable, "-m", "autograder.nbgrader_cli"]  # nbgrader's CLI, minus a slow subprocess
PILOT = "00-python-basics"


def nbgrader(cwd: Path, user: str, *args: str) -> str:
    if user != "instructor" and args[0] == "submit":
        args = (*args, f"--student={user}")  # one OS user plays every learner
    run = subprocess.run([*NBGRADER, *args], cwd=cwd, capture_output=True, text=True)
    assert run.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{run.stdout}\n{run.stderr}"
    return run.stdout + run.stderr


def course(tmp: Path, source_root: Path, slug: str) -> tuple[Path, Path]:
    instructor, exchange = tmp / "instructor", tmp / "exchange"
    (instructor / "source").mkdir(parents=True)
    exchange.mkdir(mode=0o777)
    shutil.copytree(source_root / "solutions" / slug, instructor / "source" / slug)
    (instructor / "nbgrader_config.py").write_text(
        f"c = get_config()\nload_subconfig({str(course_root() / 'nbgrader_config.py')!r})\n"
        "c.CourseDirectory.source_directory = 'source'\n"
        "c.CourseDirectory.release_directory = 'release'\n"
        f"c.CourseDirectory.db_url = 'sqlite:///{instructor}/gradebook.db'\n"
        f"c.Exchange.root = {str(exchange)!r}\n")
    return instructor, exchange


def learner_dir(tmp: Path, name: str, exchange: Path) -> Path:
    home = tmp / name
    home.mkdir()
    (home / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.CourseDirectory.course_id = 'fromscratch'\nc.Exchange.root = {str(exchange)!r}\n"
        f"c.Exchange.cache = {str(home / '.nbgrader_cache')!r}\n")
    return home


def cases() -> list:
    """The first pilot notebook, for real; the mini course until a pilot exists."""
    if PILOT in slugs():
        return [pytest.param("repo", PILOT, None, id=PILOT)]
    return [pytest.param("mini", "98-mini", {"mean": "return sum(xs) / (len(xs) + 1)"}, id="mini")]


@pytest.mark.parametrize("which, slug, wrong", cases())
def test_round_trip(which, slug, wrong, released_mini, tmp_path):
    source_root = released_mini if which == "mini" else course_root()
    instructor, exchange = course(tmp_path, source_root, slug)
    solution = read(solution_path(slug, source_root))
    nbgrader(instructor, "instructor", "generate_assignment", slug, "--force")
    nbgrader(instructor, "instructor", "release_assignment", slug, "--force")

    if wrong is None:  # a real notebook: the wrong learner breaks its first exercise
        from autograder.mutants import load
        first = load(slug, solution, source_root)[0]
        wrong = {first.cell: first.code}
    for learner, mistakes in (("alice", None), ("bob", wrong)):
        home = learner_dir(tmp_path, learner, exchange)
        nbgrader(home, learner, "fetch_assignment", slug)
        fetched = home / slug / f"{slug}.ipynb"
        nbformat.write(fill(read(fetched), solution, mistakes), fetched)
        nbgrader(home, learner, "submit", slug)

    nbgrader(instructor, "instructor", "collect", slug)
    nbgrader(instructor, "instructor", "autograde", slug)
    nbgrader(instructor, "instructor", "generate_feedback", slug)
    nbgrader(instructor, "instructor", "export", "--to", "grades.csv")

    with open(instructor / "grades.csv") as f:
        grades = {row["student_id"]: row for row in csv.DictReader(f)}
    auto_points = sum(float(c.metadata.nbgrader["points"]) for c in solution.cells
                      if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code")
    written = sum(float(c.metadata.nbgrader["points"]) for c in solution.cells
                  if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "markdown")
    assert float(grades["alice"]["max_score"]) == auto_points + written
    assert float(grades["alice"]["score"]) == auto_points  # written answers await the instructor
    assert 0 < float(grades["bob"]["score"]) < auto_points

    hidden = [line.strip() for c in solution.cells if "### BEGIN HIDDEN TESTS" in c.source
              for line in c.source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0].splitlines()
              if len(line.strip()) > 20]
    for learner in ("alice", "bob"):
        html = (instructor / "feedback" / learner / slug / f"{slug}.html").read_text()
        assert "(hidden tests ran here)" in html
        leaked = [line for line in hidden if nbformat.v4.new_markdown_cell(line).source in html]
        assert not leaked, f"feedback for {learner} shows hidden test code: {leaked[:2]}"
    bob = (instructor / "feedback" / "bob" / slug / f"{slug}.html").read_text()
    assert "expected:" in bob and "hint:" in bob  # the failing test's message reaches the learner
