"""The learner's self-check, on the untouched and on a filled-in mini notebook."""

import shutil

import nbformat

from autograder.notebooks import read
from autograder.selfcheck import self_check
from autograder.learners import fill


def test_untouched_notebook_fails_with_advice(released_mini, tmp_path, capsys):
    path = tmp_path / "98-mini.ipynb"
    shutil.copy(released_mini / "notebooks" / "98-mini" / "98-mini.ipynb", path)
    before = path.read_text()
    assert self_check(path) == 1
    out = capsys.readouterr().out
    assert "FAIL  test-add" in out and "not answered yet" in out
    assert "written answer, graded by your instructor" in out
    assert "visible tests: 0/5 points" in out
    assert path.read_text() == before  # the learner's file is never rewritten


def test_filled_notebook_passes_and_a_wrong_answer_shows_its_hint(released_mini, tmp_path, capsys):
    learner = read(released_mini / "notebooks" / "98-mini" / "98-mini.ipynb")
    solution = read(released_mini / "solutions" / "98-mini" / "98-mini.ipynb")
    good, bad = tmp_path / "good.ipynb", tmp_path / "bad.ipynb"
    nbformat.write(fill(learner, solution), good)
    nbformat.write(fill(learner, solution, {"add": "return a - b"}), bad)
    assert self_check(good) == 0
    assert "visible tests: 5/5 points" in capsys.readouterr().out
    assert self_check(bad) == 1
    out = capsys.readouterr().out
    assert "FAIL  test-add" in out and "expected: 3" in out and "hint:     use +" in out
