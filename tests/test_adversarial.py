"""Grading you can trust: the adversarial corpus (tests/adversarial.py) graded in one sandboxed,
parallel ``grade`` run of a scratch course. Each attack gets exactly its score, honest learners
keep full marks, and nothing outside each submission's own results changes."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from adversarial import EVERY_SUBMISSION as CORPUS
from adversarial import HONEST_FEATURES, KERNEL_ATTACKS
from adversarial import WRONG_MEAN as WRONG_MEAN_SOURCE
from autograder.course import nbgrader_api, succeed
from autograder.grade import grade
from autograder.sandbox import SandboxUnavailable, require_sandbox, sandbox_problem
from fixtures import mini_course

SLUG = mini_course.SLUG
LIMITS = ("c = get_config()\n"
          "c.Execute.timeout = 20\n"                     # short limits keep the corpus quick
          "c.GuardedExecute.test_cell_timeout = 20\n"
          "c.SandboxedKernelManager.memory_mb = 1536\n"
          "c.SandboxedKernelManager.processes = 128\n")

# The fork bomb keeps every core busy until its cell times out: `make test` runs this module by itself.
pytestmark = [pytest.mark.alone,
              pytest.mark.skipif(sandbox_problem() is not None, reason=f"no sandbox: {sandbox_problem()}")]


def learner_version(root: Path) -> nbformat.NotebookNode:
    with tempfile.TemporaryDirectory() as release:
        api = nbgrader_api(root, release_directory=release, db_url=f"sqlite:///{release}/gb.db")
        succeed(api.generate_assignment(SLUG, force=True, create=True), "release")
        return nbformat.read(Path(release) / SLUG / f"{SLUG}.ipynb", as_version=4)


def submission(attack, learner: nbformat.NotebookNode, root: Path) -> nbformat.NotebookNode:
    nb = nbformat.from_dict(json.loads(json.dumps(learner)))
    for cell in nb.cells:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in ("add", "mean"):
            cell.source = getattr(attack, grade_id).replace("{root}", str(root))
    if attack.edit:
        attack.edit(nb)
    return nb


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = mini_course.build(tmp_path_factory.mktemp("course"))
    (root / "nbgrader_config.py").write_text(LIMITS)
    learner = learner_version(root)
    for attack in CORPUS:
        folder = root / "submitted" / attack.student / SLUG
        folder.mkdir(parents=True)
        if attack.score is None:
            (folder / f"{SLUG}.ipynb").write_text("this is not a notebook {")
        else:
            nbformat.write(submission(attack, learner, root), folder / f"{SLUG}.ipynb")
    before = {"solutions": digest(root / "solutions"), "submitted": digest(root / "submitted")}
    status = grade(SLUG, root=root, jobs=2)
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        scores = {s.student_id: (s.code_score, s.max_code_score) for s in gradebook.assignment_submissions(SLUG)}
    return root, status, scores, before


@pytest.mark.parametrize("attack", CORPUS, ids=[a.student for a in CORPUS])
def test_attack_gets_exactly_its_score(graded, attack):
    root, _, scores, _ = graded
    if attack.score is None:
        assert attack.student not in scores, f"{attack.what}: should not be in the gradebook"
        return
    got, max_score = scores[attack.student]
    assert max_score == 5, f"{attack.what}: max score changed to {max_score}"
    assert got == attack.score, f"{attack.what}: expected {attack.score}, got {got}"
    text = (root / "autograded" / attack.student / SLUG / f"{SLUG}.ipynb").read_text()
    for mention in attack.output_mentions:
        assert mention.replace("{root}", str(root)) in text, f"{attack.what}: output lacks {mention!r}"


def test_no_other_grade_or_file_changed(graded):
    root, status, scores, before = graded
    assert status == 1, "the broken (not JSON) submission must make grade report a problem"
    gradable = {a.student for a in CORPUS if a.score is not None}
    assert set(scores) == gradable
    assert digest(root / "solutions") == before["solutions"]
    assert digest(root / "submitted") == before["submitted"]
    flooded = root / "autograded" / "floods-output" / SLUG / f"{SLUG}.ipynb"
    assert flooded.stat().st_size < 1_000_000, f"huge output kept: {flooded.stat().st_size} bytes"
    for student in ("honest-a", "honest-ipython", "honest-globals"):
        honest = nbformat.read(root / "autograded" / student / SLUG / f"{SLUG}.ipynb", as_version=4)
        assert "integrity" not in json.dumps(honest), f"an honest submission ({student}) was flagged"


def test_feedback_shows_messages_not_hidden_tests(graded):
    root = graded[0]
    feedback = (root / "feedback" / "edits-test" / SLUG / f"{SLUG}.html").read_text()
    assert "add(1, 2)" in feedback, "the failing test's message must be shown"
    assert "add(-5, 5)" not in feedback and "BEGIN HIDDEN TESTS" not in feedback


def test_grading_refuses_without_a_sandbox(monkeypatch):
    import autograder.sandbox as sandbox

    monkeypatch.setattr(sandbox, "sandbox_problem", lambda: "no bubblewrap on this machine")
    monkeypatch.delenv(sandbox.UNSAFE_VARIABLE, raising=False)
    with pytest.raises(SandboxUnavailable, match="UNSAFE"):
        require_sandbox()
    monkeypatch.setenv(sandbox.UNSAFE_VARIABLE, "1")
    assert require_sandbox() is False


def test_data_is_visible_where_the_variable_says(tmp_path, monkeypatch):
    """CI reaches the data through a symbolic link: the kernel must see it at that same path."""
    from autograder.sandbox import Sandbox

    real = tmp_path / "real"
    (real / "data").mkdir(parents=True)
    (tmp_path / "link").symlink_to(real)
    monkeypatch.setenv("FROMSCRATCH_DATA", str(tmp_path / "link" / "data"))
    work = tmp_path / "98-mini"
    work.mkdir()
    box = Sandbox(work, dict(memory_mb=512, cpu_seconds=10, processes=16, file_size_mb=1))
    try:
        command = box.command(["true"])
    finally:
        box.remove()
    at = command.index(str(real / "data"))
    assert command[at - 1] == "--ro-bind" and command[at + 1] == str(tmp_path / "link" / "data")


@pytest.mark.skipif(os.getuid() != 0, reason="grading uids are handed out only when root grades")
def test_every_sandbox_has_its_own_uid_and_leaves_nothing_behind(tmp_path):
    """Concurrent grading runs never share a uid (a fork bomb in one cannot starve another), and a
    uid's leftovers are killed before its next kernel starts."""
    from autograder.sandbox import FIRST_UID, Sandbox, _processes_of

    limits = dict(memory_mb=512, cpu_seconds=10, processes=16, file_size_mb=1)
    work = tmp_path / "98-mini"
    work.mkdir()
    first, second = Sandbox(work, limits), Sandbox(work, limits)
    try:
        assert first.uid != second.uid and min(first.uid, second.uid) >= FIRST_UID
        straggler = subprocess.Popen(["setpriv", f"--reuid={first.uid}", f"--regid={first.uid}", "--clear-groups",
                                      "sleep", "300"])
        deadline = time.monotonic() + 10
        while not _processes_of(first.uid) and time.monotonic() < deadline:
            time.sleep(0.05)                     # setpriv has switched to the uid
        assert _processes_of(first.uid) == [straggler.pid]
        first.clear()                            # what a kernel (re)start does first
        assert straggler.wait(timeout=10) == -signal.SIGKILL and _processes_of(first.uid) == []
        lock = first.grading_uid.fd
    finally:
        first.remove()
        second.remove()
    with pytest.raises(OSError):                 # the uid's lock is released with the sandbox
        os.fstat(lock)


# The attacks that work from any solution cell, and honest IPython use, on a real course notebook.
COURSE_NOTEBOOK = "00-python-basics"
CELL_LEVEL = [a for a in KERNEL_ATTACKS if a.kind in ("transformers", "execution methods", "import system", "threads")
              and a.student != "rebinds-helpers"]


def test_kernel_attacks_on_a_course_notebook():
    """Notebook 00 with every exercise unanswered (wrong) and an attack in its first solution cell
    scores 0; the solution with honest IPython use in it keeps every point, unflagged."""
    from autograder.grading import autograde
    from autograder.notebooks import is_solution, release_path, solution_path

    solution = nbformat.read(solution_path(COURSE_NOTEBOOK), as_version=4)
    learner = nbformat.read(release_path(COURSE_NOTEBOOK), as_version=4)

    def with_code_first(nb, code):
        nb = copy.deepcopy(nb)
        cell = next(c for c in nb.cells if is_solution(c) and c.cell_type == "code")
        cell.source = code + "\n" + cell.source
        return nb

    submissions = {a.student: with_code_first(learner, a.mean.replace(WRONG_MEAN_SOURCE, "")) for a in CELL_LEVEL}
    submissions["honest-ipython"] = with_code_first(solution, HONEST_FEATURES)
    results = autograde(COURSE_NOTEBOOK, submissions)
    full = results["honest-ipython"].max_points
    assert results["honest-ipython"].points == full, "honest IPython use lost points"
    assert not [e for e in results["honest-ipython"].events if e["event"] == "integrity"], "honest use was flagged"
    scored = {student: graded.points for student, graded in results.items() if student != "honest-ipython"}
    assert scored == dict.fromkeys(scored, 0.0), f"attacks on {COURSE_NOTEBOOK} kept points: {scored}"
