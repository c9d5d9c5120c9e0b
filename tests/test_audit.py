"""The honesty audit on the mini course, and the replay engine held to nbgrader's verdicts."""

import pytest

from autograder import grading, mutants
from autograder.audit import audit_notebook, replay_mutants, table
from autograder.notebooks import read, solution_path

import mini_course

SLUG = mini_course.SLUG


def test_audit_of_an_honest_notebook(released_mini):
    record = audit_notebook(SLUG, released_mini)
    assert record["violations"] == []
    assert (record["max_points"], record["solution_points"], record["release_points"]) == (5, 5, 0)
    assert (record["mutants_total"], record["mutants_killed"]) == (4, 4)
    assert 0 < record["smoke_seconds"] < 20 and record["peak_rss_mb"] > 0
    assert "98-mini" in table([record])


def test_audit_catches_a_surviving_mutant_and_too_few_mutants(mini):
    (mini / "mutants" / f"{SLUG}.toml").write_text(
        "[[mutant]]\ncell = 'mean'\nmistake = 'same maths, other words'\n"
        "code = 'return sum(x for x in xs) / len(xs)'\n")
    record = audit_notebook(SLUG, mini)
    assert "mutant mean#1 survives: same maths, other words" in record["violations"]
    assert "exercise add has 0 mutant(s); needs 2" in record["violations"]
    assert "exercise mean has 1 mutant(s); needs 2" in record["violations"]


def test_audit_catches_a_learner_version_that_scores(mini):
    # A test cell that passes without any answer: the learner version would score its points.
    from autograder.release import generate_learner_versions
    import nbformat

    path = solution_path(SLUG, mini)
    nb = read(path)
    nb.cells[6].source = "from autograder import expect\nexpect(True, what='nothing', expected='', got='')"
    nbformat.write(nb, path)
    generate_learner_versions(mini / "notebooks", root=mini)
    record = audit_notebook(SLUG, mini)
    assert any("untouched learner version scores 3" in v for v in record["violations"])


def test_audit_holds_the_solution_run_to_nbvals_check(mini):
    """The one nbgrader run of the solution stands in for nbval: a changed output or an error fails."""
    import nbformat

    path = solution_path(SLUG, mini)
    nb = read(path)
    nb.cells[-1].outputs[0].text = "4 2.5\n"                      # the reference says otherwise
    nb.cells.append(nbformat.v4.new_code_cell("1 / 0"))            # a payoff cell that raises
    nbformat.write(nb, path)
    record = audit_notebook(SLUG, mini)
    assert any("cell 8 (nbval-check-output) differs from the reference run" in v and "4 2.5" in v
               for v in record["violations"]), record["violations"]
    assert "solution run (nbval's check): cell 9 raised ZeroDivisionError: division by zero" in record["violations"]


def test_audit_names_a_cell_that_hit_its_time_limit_although_the_points_are_right(mini):
    import nbformat

    path = solution_path(SLUG, mini)
    nb = read(path)
    stuck = nbformat.v4.new_code_cell("import time\ntime.sleep(60)")
    stuck.metadata["fromscratch"] = {"timeout": 2}                 # a cell may ask for its own limit
    nb.cells.insert(3, stuck)
    nbformat.write(nb, path)
    record = audit_notebook(SLUG, mini)
    assert record["solution_points"] == record["max_points"] == 5   # the points alone would not show it
    assert "solution: cell 3 (ungraded): timeout: ran past its 2 s limit" in record["violations"]
    assert "solution: cell 3 (ungraded): restart: kernel restarted and earlier cells replayed" in record["violations"]


def test_untouched_learner_version_by_replay_matches_nbgrader(mini):
    """The replay engine's grade of the learner version equals real `nbgrader autograde`'s."""
    from autograder.release import generate_learner_versions
    import nbformat

    path = solution_path(SLUG, mini)
    nb = read(path)
    nb.cells[6].source = "from autograder import expect\nexpect(True, what='nothing', expected='', got='')"
    nbformat.write(nb, path)
    generate_learner_versions(mini / "notebooks", root=mini)
    by_replay = audit_notebook(SLUG, mini)
    by_nbgrader = audit_notebook(SLUG, mini, learner_by_nbgrader=True)
    assert by_replay["release_points"] == by_nbgrader["release_points"] == 3


def test_replay_engine_agrees_with_nbgrader(released_mini):
    """Every mini mutant, graded by real `nbgrader autograde` and by the replay engine."""
    nb = read(solution_path(SLUG, released_mini))
    found = mutants.load(SLUG, nb, released_mini)
    replayed = replay_mutants(SLUG, nb, found, released_mini)
    real = grading.autograde(SLUG, {m.name.replace("#", "-"): mutants.apply(nb, m) for m in found},
                             released_mini)
    for m in found:
        expected = {t: real[m.name.replace("#", "-")].scores[t] for t in m.tests}
        assert replayed["variants"][m.name]["scores"] == pytest.approx(expected), m.name
    assert replayed["baseline"] == {"test-add": 2.0, "test-mean": 3.0}


def test_replay_engine_counts_a_hanging_mutant_as_caught(released_mini):
    nb = read(solution_path(SLUG, released_mini))
    hang = mutants.Mutant("add#9", "add", "loops forever", "while True:\n    pass", ("test-add",))
    import autograder.audit as audit_module

    original = audit_module.VARIANT_TIMEOUT_SECONDS
    audit_module.VARIANT_TIMEOUT_SECONDS = 2.0
    try:
        replayed = replay_mutants(SLUG, nb, [hang], released_mini)
    finally:
        audit_module.VARIANT_TIMEOUT_SECONDS = original
    assert replayed["variants"]["add#9"]["status"] == "timeout"


def test_replay_engine_forks_safely_after_torch_used_its_thread_pool(tmp_path):
    """A parent that ran a multi-threaded matmul, then forked: the child must not deadlock."""
    import json
    import subprocess
    import sys

    import nbformat

    from autograder.audit import replay_environment

    nb = mini_course.notebook()
    nb.cells.insert(1, nbformat.v4.new_code_cell("import torch\n_ = torch.randn(600, 600) @ torch.randn(600, 600)"))
    add_test = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == "test-add")
    nb.cells[add_test].source = "_ = torch.randn(600, 600) @ torch.randn(600, 600)\n" + nb.cells[add_test].source
    nbformat.write(nb, tmp_path / "nb.ipynb")
    variant = {"name": "v", "sources": {str(add_test - 1): "def add(a, b):\n    return a - b"},
               "test_indices": [add_test], "stop_index": add_test}
    request = {"notebook": str(tmp_path / "nb.ipynb"), "workdir": str(tmp_path), "timeout": 60,
               "variants": [variant], "baseline_tests": [add_test], "baseline_stop": add_test}
    (tmp_path / "request.json").write_text(json.dumps(request))
    subprocess.run([sys.executable, "-m", "autograder.replay", str(tmp_path / "request.json"),
                    str(tmp_path / "result.json")], check=True, env=replay_environment(), cwd=tmp_path)
    result = json.loads((tmp_path / "result.json").read_text())
    assert result["variants"]["v"] == {"status": "ok", "scores": {"test-add": 0.0}}
    assert result["baseline"] == {"test-add": 2.0}


def test_replay_scores_a_warning_in_a_test_cell_as_grading_does():
    """Grading moves stderr to stdout in test cells (a warning is not a failure); so does the replay."""
    from autograder.replay import score

    cell = {"cell_type": "code", "source": "import warnings; warnings.warn('x')", "metadata": {
        "nbgrader": {"grade": True, "solution": False, "locked": True, "points": 2, "grade_id": "t",
                     "schema_version": 3}}, "outputs": [], "execution_count": 1}
    warning = {"output_type": "stream", "name": "stderr", "text": "UserWarning: x\n"}
    failure = {"output_type": "error", "ename": "AssertionError", "evalue": "", "traceback": []}
    assert score(cell, [warning]) == 2.0
    assert score(cell, [warning, failure]) == 0.0
