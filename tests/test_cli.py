"""Bad input to the command line: one clear line and a nonzero exit, nothing lost."""

import subprocess
import sys

import nbformat
import pytest

from autograder.feedback import HideHiddenTests, hide_hidden_tests
from autograder.notebooks import CourseError, read, resolve_slug


def cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "autograder", *args], capture_output=True, text=True, cwd=cwd)


@pytest.mark.parametrize("args", [("audit", "99-nope"), ("execute", "nope"), ("release", "77"), ("grade", "99-nope")])
def test_unknown_notebook_is_one_clear_line(args):
    run = cli(*args)
    assert run.returncode == 2
    assert run.stderr.strip().count("\n") == 0 and "no notebook" in run.stderr


def test_self_check_refuses_what_is_not_a_notebook(tmp_path):
    text = tmp_path / "answers.txt"
    text.write_text("hello")
    run = cli("check", str(text))
    assert run.returncode == 2 and "not a notebook" in run.stderr


def test_self_check_refuses_a_corrupt_notebook(tmp_path):
    broken = tmp_path / "broken.ipynb"
    broken.write_text('{"cells": [')
    run = cli("check", str(broken))
    assert run.returncode == 2 and "not valid JSON" in run.stderr
    assert broken.read_text() == '{"cells": ['  # untouched


def test_read_reports_structurally_broken_notebooks(tmp_path):
    odd = tmp_path / "odd.ipynb"
    odd.write_text('{"cells": "no", "nbformat": 4, "nbformat_minor": 5, "metadata": {}}')
    with pytest.raises(CourseError):
        read(odd)


def test_slug_resolution_by_number_and_path(released_mini):
    assert resolve_slug("98", released_mini) == "98-mini"
    assert resolve_slug("notebooks/98-mini/98-mini.ipynb", released_mini) == "98-mini"


def test_grade_without_submissions_says_what_to_do(mini):
    from autograder.grade import grade

    with pytest.raises(CourseError, match="collect them first"):
        grade("98-mini", root=mini)


def test_grade_skips_a_corrupt_submission_and_keeps_it(mini, capsys):
    from autograder.grade import grade
    from autograder.learners import fill

    alice = mini / "submitted" / "alice" / "98-mini"
    mallory = mini / "submitted" / "mallory" / "98-mini"
    alice.mkdir(parents=True)
    mallory.mkdir(parents=True)
    learner = read(mini / "notebooks" / "98-mini" / "98-mini.ipynb")
    nbformat.write(fill(learner, read(mini / "solutions" / "98-mini" / "98-mini.ipynb")), alice / "98-mini.ipynb")
    (mallory / "98-mini.ipynb").write_text("not json")
    assert grade("98-mini", root=mini) == 1
    out = capsys.readouterr().out
    assert "SKIPPED mallory" in out and "graded  alice" in out
    assert (mallory / "98-mini.ipynb").read_text() == "not json"
    assert (mini / "feedback" / "alice" / "98-mini" / "98-mini.html").exists()
    assert "alice" in (mini / "grades.csv").read_text()
    assert grade("98-mini", root=mini) == 1  # a second run keeps alice's grade
    assert "kept    alice" in capsys.readouterr().out


def test_feedback_preprocessor_hides_hidden_tests_and_tracebacks():
    cell = nbformat.v4.new_code_cell(
        "check(1)\n### BEGIN HIDDEN TESTS\ncheck(secret_case)\n### END HIDDEN TESTS",
        metadata={"nbgrader": {"grade": True, "solution": False, "grade_id": "t", "points": 1}})
    cell.outputs = [nbformat.v4.new_output("error", ename="TestFailure", evalue="x\n  expected: 2",
                                           traceback=["\x1b[31mTraceback", "check(secret_case)"])]
    nb = nbformat.v4.new_notebook(cells=[cell])
    HideHiddenTests().preprocess(nb, {})
    assert "secret_case" not in cell.source and "(hidden tests ran here)" in cell.source
    assert cell.outputs[0].traceback == ["TestFailure: x\n  expected: 2"]
    assert hide_hidden_tests("a\n  ### BEGIN HIDDEN TESTS\n  b\n  ### END HIDDEN TESTS\nc").endswith("here)\nc")
