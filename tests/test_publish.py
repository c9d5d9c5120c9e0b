"""`make publish`: the learner repository holds the notebooks up to UPTO and the library of the
notebooks before it, and nothing that answers a notebook not yet past due.

The course's real notebooks (00-18) are published with UPTO=12; the mini course checks the
publication against what nbgrader itself generates and takes the bad input."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbgrader.utils import compute_checksum

from autograder import exporter
from autograder.__main__ import main
from autograder.launch import badges, colab_install, repository, stamp
from autograder.notebooks import read, slugs, solution_path
from autograder import publish as publisher
from autograder.publish import COURSE_FILES, MANIFEST, find_leaks, missing_imports, publish
from autograder.release import generate_learner_versions
from autograder.verify import _canonical, library_imports

ROOT = Path(__file__).resolve().parent.parent
LEARNERS = "my-org/ml-learners"


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (but .git), by its path relative to it."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and ".git" not in p.relative_to(folder).parts}


def before(number: int) -> list[str]:
    return [s for s in slugs(ROOT) if int(s[:2]) < number]


@pytest.fixture(scope="module")
def week_12(tmp_path_factory) -> Path:
    """The real course published up to notebook 12 (treat as read-only)."""
    return publish("12", repo=LEARNERS, dest=tmp_path_factory.mktemp("pub") / "learners", root=ROOT)


# -- what is in it ---------------------------------------------------------------------------------

def test_it_holds_the_notebooks_up_to_upto_and_the_library_of_those_before_it(week_12):
    files = tree(week_12)
    notebooks = sorted(p.split("/")[1] for p in files if p.startswith("notebooks/"))
    assert notebooks == [s for s in slugs(ROOT) if int(s[:2]) <= 12]
    library = {p.split("/")[1][:-3] for p in files if p.startswith("fromscratch/")}
    earlier = {exporter.module_name(s, ROOT) for s in before(12)}
    earlier = {name for name in earlier if (ROOT / "fromscratch" / f"{name}.py").exists()}
    assert library == earlier | exporter.HAND_WRITTEN
    assert "cnn" not in library and "gpt" not in library          # 12's own answers and later ones
    for path in ("binder/requirements.txt", "binder/postBuild", "environment.yml", "pyproject.toml",
                 "autograder/asserts.py", "data/README.md", "README.md", MANIFEST):
        assert path in files, path
    assert os.access(week_12 / "binder" / "postBuild", os.X_OK)
    assert not {p.split("/")[0] for p in files} & {"solutions", "mutants", "tests", "benchmarks", "docs"}


def test_nothing_of_a_solution_a_hidden_test_or_a_later_module_leaks(week_12):
    assert find_leaks(tree(week_12), "12-cnn", ROOT) == []


def test_the_leak_check_finds_what_is_planted(week_12):
    """The check above means something: each way an answer could slip in is caught."""
    files = tree(week_12)
    later_module = (ROOT / "fromscratch" / "gpt.py").read_bytes()
    solution = read(solution_path("12-cnn", ROOT))
    answer = next(c.source for c in solution.cells if "### BEGIN SOLUTION" in c.source and c.cell_type == "code")
    hidden = next(c.source for c in solution.cells if "### BEGIN HIDDEN TESTS" in c.source)
    planted = {
        "fromscratch/gpt.py": later_module,
        "solutions/12-cnn/12-cnn.ipynb": (ROOT / "solutions/12-cnn/12-cnn.ipynb").read_bytes(),
        "notes/answer.py": answer.replace("### BEGIN SOLUTION", "").replace("### END SOLUTION", "").encode(),
        "notes/tests.py": hidden.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0].encode(),
    }
    for path, content in planted.items():
        leaks = find_leaks({**files, path: content}, "12-cnn", ROOT)
        assert any(leak.startswith(path) for leak in leaks), path


def test_its_notebooks_import_only_what_it_contains(week_12):
    files = tree(week_12)
    assert missing_imports(files) == []
    imported = set()
    for path in files:
        if path.endswith(".ipynb"):
            cells = nbformat.reads(files[path].decode(), as_version=4).cells
            imported |= set().union(*(library_imports(c.source) for c in cells if c.cell_type == "code"))
    assert imported                                               # the check saw real imports
    # importing them from the publication alone finds them there, not in the course
    names = sorted({f"fromscratch.{m}" for m in imported} | {"autograder"})
    probe = ("import importlib, sys\n"
             f"for name in {names!r}:\n"
             "    module = importlib.import_module(name)\n"
             f"    assert module.__file__.startswith({str(week_12)!r}), module.__file__\n"
             "print('ok')")
    done = subprocess.run([sys.executable, "-c", probe], cwd=week_12, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(week_12)}, timeout=300)
    assert done.stdout.strip() == "ok", done.stderr[-2000:]


def test_every_launch_link_and_the_colab_install_name_the_learner_repository(week_12):
    course_repo, branch = repository(ROOT)
    assert repository(week_12) == (LEARNERS, branch)               # pyproject's [tool.fromscratch]
    for path, content in tree(week_12).items():
        if not path.startswith("autograder/"):                     # the harness, copied as is
            assert course_repo.encode() not in content, path
        if path.endswith(".ipynb"):
            slug = path.split("/")[1]
            nb = nbformat.reads(content.decode(), as_version=4)
            text = "\n".join(c.source for c in nb.cells)
            assert badges(LEARNERS, branch, slug) in text and colab_install(LEARNERS, branch) in text
            for cell in nb.cells:                                  # Validate would call a stale one tampered
                grading = cell.metadata.get("nbgrader", {})
                if "checksum" in grading:
                    assert grading["checksum"] == compute_checksum(cell), (slug, grading["grade_id"])
    readme = (week_12 / "README.md").read_text()
    assert f"github/{LEARNERS}/blob/{branch}/notebooks/12-cnn/12-cnn.ipynb" in readme
    assert "13-" not in readme


def test_published_for_the_course_repository_the_notebooks_are_the_generated_ones(tmp_path):
    course_repo, _ = repository(ROOT)
    dest = publish("02", repo=course_repo, dest=tmp_path / "same", root=ROOT)
    for slug in ("00-python-basics", "01-algorithms", "02-numpy"):
        path = f"notebooks/{slug}/{slug}.ipynb"
        assert (dest / path).read_bytes() == (ROOT / path).read_bytes()


def test_publishing_a_week_later_adds_the_next_notebook_and_the_previous_module(tmp_path):
    dest = tmp_path / "learners"
    (dest / ".git").mkdir(parents=True)                            # a clone of the empty learner repository
    (dest / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    publish("11", repo=LEARNERS, dest=dest, root=ROOT)
    (dest / "LICENSE").write_text("the instructor's own file\n")
    week_11 = tree(dest)
    publish("12", repo=LEARNERS, dest=dest, root=ROOT)
    week_12 = tree(dest)
    added = set(week_12) - set(week_11)
    assert added == {"notebooks/12-cnn/12-cnn.ipynb", "fromscratch/pytorch_fundamentals.py"}
    assert set(week_11) <= set(week_12)
    changed = {p for p in week_11 if week_11[p] != week_12[p]}
    assert changed == {"README.md", MANIFEST}
    assert (dest / ".git" / "HEAD").exists() and (dest / "LICENSE").exists()
    assert json.loads((dest / MANIFEST).read_text())["upto"] == "12-cnn"


# -- the mini course: against nbgrader, and bad input ----------------------------------------------

@pytest.fixture
def mini_course(mini) -> Path:
    """The released mini course with what a real course has around it (pyproject, harness, runtime)."""
    for name in COURSE_FILES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, mini / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(ROOT / name, mini / name)
    for name in exporter.HAND_WRITTEN:
        shutil.copy(ROOT / "fromscratch" / f"{name}.py", mini / "fromscratch" / f"{name}.py")
    return mini


def test_a_mini_publication_is_what_nbgrader_generates_for_the_learner_repository(mini_course, tmp_path):
    dest = publish("98", repo=LEARNERS, dest=tmp_path / "learners", root=mini_course)
    assert not (dest / "fromscratch" / "mini.py").exists()             # 98's own answers
    assert find_leaks(tree(dest), "98-mini", mini_course) == []
    # the oracle: stamp the solution for the learner repository, let nbgrader generate the learner version
    oracle = tmp_path / "oracle"
    shutil.copytree(mini_course, oracle)
    nb = read(solution_path("98-mini", oracle))
    assert stamp(nb, "98-mini", where=(LEARNERS, "main"))
    nbformat.write(nb, solution_path("98-mini", oracle))
    generate_learner_versions(oracle / "released", ["98-mini"], oracle)
    expected = read(oracle / "released" / "98-mini" / "98-mini.ipynb")
    assert _canonical(read(dest / "notebooks" / "98-mini" / "98-mini.ipynb")) == _canonical(expected)


def run_publish(args: list[str], capsys) -> tuple[int, list[str]]:
    code = main(["publish", *args])
    return code, capsys.readouterr().err.splitlines()


@pytest.mark.parametrize("args, says", [
    (["77"], "UPTO='77' names no notebook"),
    (["98", "--repo", "ml-learners"], "is not a GitHub repository written owner/name"),
    (["98", "--repo", "https://github.com/my-org/ml-learners"], "is not a GitHub repository"),
    (["98", "--repo", "my-org/ml/learners"], "is not a GitHub repository"),
])
def test_bad_upto_or_repo_is_one_line_and_writes_nothing(mini_course, tmp_path, monkeypatch, capsys, args, says):
    monkeypatch.setenv("FROMSCRATCH_COURSE_ROOT", str(mini_course))
    dest = tmp_path / "learners"
    code, err = run_publish([*args, "--dest", str(dest)], capsys)
    assert code != 0 and len(err) == 1 and says in err[0], err
    assert not dest.exists()


def test_a_folder_that_is_not_an_earlier_publication_is_never_overwritten(mini_course, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FROMSCRATCH_COURSE_ROOT", str(mini_course))
    dest = tmp_path / "someone-elses"
    (dest / "notebooks").mkdir(parents=True)
    (dest / "README.md").write_text("my own work\n")
    snapshot = tree(dest)
    code, err = run_publish(["98", "--repo", LEARNERS, "--dest", str(dest)], capsys)
    assert code != 0 and len(err) == 1 and "is not an earlier publication" in err[0], err
    assert tree(dest) == snapshot


def test_a_publication_that_would_leak_is_refused_and_nothing_written(mini_course, tmp_path, monkeypatch, capsys):
    """The leak check guards every publication: had the module rule slipped, nothing goes out."""
    monkeypatch.setenv("FROMSCRATCH_COURSE_ROOT", str(mini_course))
    monkeypatch.setattr(publisher, "released_modules", lambda upto, root: ["mini.py", "runtime.py"])
    dest = tmp_path / "learners"
    code, err = run_publish(["98", "--repo", LEARNERS, "--dest", str(dest)], capsys)
    assert code != 0 and len(err) == 1, err
    assert "refusing to publish: fromscratch/mini.py: the library module of 98-mini" in err[0]
    assert not dest.exists()


def test_publishing_an_earlier_notebook_than_before_is_refused(tmp_path, capsys):
    dest = publish("01", repo=LEARNERS, dest=tmp_path / "learners", root=ROOT)
    capsys.readouterr()
    snapshot = tree(dest)
    code, err = run_publish(["00", "--repo", LEARNERS, "--dest", str(dest)], capsys)
    assert code != 0 and len(err) == 1 and "published up to 01-algorithms already" in err[0], err
    assert tree(dest) == snapshot


def test_make_publish_runs_the_command_and_needs_upto(tmp_path):
    dry = subprocess.run(["make", "--no-print-directory", "-n", "-o", ".venv/.installed", "publish", "UPTO=12",
                          f"REPO={LEARNERS}", f"DEST={tmp_path}/x"], cwd=ROOT, capture_output=True, text=True)
    assert f'-m autograder publish "12" --repo "{LEARNERS}" --dest "{tmp_path}/x"' in dry.stdout
    bare = subprocess.run(["make", "--no-print-directory", "-o", ".venv/.installed", "publish"], cwd=ROOT,
                          capture_output=True, text=True)
    assert bare.returncode != 0 and "usage: make publish UPTO=NN REPO=owner/name" in bare.stdout
