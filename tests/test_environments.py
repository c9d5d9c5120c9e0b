"""The environment files, Binder and the doctor: static checks that stand in for mybinder.org,
conda and Colab, which cannot run here."""

import os
import re
import stat
import subprocess
import sys
import tomllib

import pytest
import yaml

from autograder.notebooks import course_root

ROOT = course_root()
# conda-forge names for what pyproject calls by its PyPI name
CONDA_NAMES = {"torch": {"pytorch", "pytorch-gpu"}, "scikit-learn": {"scikit-learn"}}


def pyproject_packages() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    specs = project["dependencies"] + project["optional-dependencies"]["dev"]
    return {re.split(r"[<>=!~ ]", spec, maxsplit=1)[0].lower(): spec for spec in specs}


def conda_packages(name: str) -> dict[str, str]:
    env = yaml.safe_load((ROOT / name).read_text())
    found = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str):
            found[re.split(r"[<>=!~ ]", dep, maxsplit=1)[0].lower()] = dep
    return found


@pytest.mark.parametrize("name", ["environment.yml", "environment-cuda.yml"])
def test_conda_environment_names_the_same_packages_as_pyproject(name):
    env = yaml.safe_load((ROOT / name).read_text())
    assert env["channels"] == ["conda-forge"], "conda-forge only (the pytorch channel is frozen at 2.5)"
    conda = conda_packages(name)
    for package in pyproject_packages():
        names = CONDA_NAMES.get(package, {package})
        assert names & set(conda), f"{name} lacks {package}"
    extra = set(conda) - {"python", "pip"} - {n for p in pyproject_packages() for n in CONDA_NAMES.get(p, {p})}
    assert not extra, f"{name} names packages pyproject.toml does not: {extra}"
    assert {"pip": ["-e ."]} in env["dependencies"], "the course package itself is installed from the repo"


def test_cuda_environment_uses_the_gpu_build_and_the_same_torch_version():
    cpu, gpu = conda_packages("environment.yml"), conda_packages("environment-cuda.yml")
    assert "pytorch-gpu" in gpu and "pytorch" not in gpu
    version = pyproject_packages()["torch"].split("==")[1]
    assert version in cpu["pytorch"] and version in gpu["pytorch-gpu"]


def test_binder_configuration_follows_repo2docker_rules():
    binder = ROOT / "binder"
    post_build = binder / "postBuild"
    assert post_build.stat().st_mode & stat.S_IXUSR, "postBuild must be executable"
    lines = post_build.read_text().splitlines()
    assert lines[0].startswith("#!") and "set -e" in lines, "postBuild needs a shebang and set -e"
    assert "nbgrader:formgrader" in post_build.read_text() and "nbgrader:create-assignment" in post_build.read_text()
    start = binder / "start"
    assert start.stat().st_mode & stat.S_IXUSR, "start must be executable"
    assert start.read_text().strip().splitlines()[-1] == 'exec "$@"'
    requirements = (binder / "requirements.txt").read_text()
    version = pyproject_packages()["torch"].split("==")[1]
    assert f"torch=={version}+cpu" in requirements and "download.pytorch.org/whl/cpu" in requirements
    assert "-e ." in requirements.splitlines()
    # binder/ wins over files at the root: nothing there may be half a configuration
    assert not (ROOT / "binder" / "environment.yml").exists()


def test_readme_has_binder_badge_opening_notebooks_in_lab():
    readme = (ROOT / "README.md").read_text()
    assert "mybinder.org/v2/gh/" in readme and "urlpath=lab/tree/notebooks" in readme


def test_doctor_reports_packages_device_budget_and_data():
    env = {**os.environ, "FROMSCRATCH_BUDGET": "smoke"}
    run = subprocess.run([sys.executable, "-m", "fromscratch.doctor"], capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    for line in ("OK    numpy", "OK    torch", "OK    nbgrader", "device: cpu", "budget: smoke", "tinyshakespeare"):
        assert line in run.stdout


def test_doctor_flags_a_bad_budget():
    env = {**os.environ, "FROMSCRATCH_BUDGET": "enormous"}
    run = subprocess.run([sys.executable, "-m", "fromscratch.doctor"], capture_output=True, text=True, env=env)
    assert run.returncode == 1 and "budget: FAIL" in run.stdout


def test_launch_stamp_points_at_the_notebook_and_is_idempotent(tmp_path):
    import nbformat

    from autograder.launch import stamp

    (tmp_path / "pyproject.toml").write_text('[tool.fromscratch]\nrepository = "me/course"\nbranch = "dev"\n')
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# 42 · Capstone\nBody."),
        nbformat.v4.new_code_cell("run = setup_notebook()", metadata={"nbgrader": {"grade_id": "setup"}})])
    assert stamp(nb, "42-capstone", tmp_path)
    title, setup = nb.cells[0].source, nb.cells[1].source
    assert title.startswith("# 42 · Capstone\n\n<!-- launch badges")
    assert "colab.research.google.com/github/me/course/blob/dev/notebooks/42-capstone/42-capstone.ipynb" in title
    assert "mybinder.org/v2/gh/me/course/dev?urlpath=lab/tree/notebooks/42-capstone/42-capstone.ipynb" in title
    assert '"google.colab" in sys.modules' in setup and "git+https://github.com/me/course@dev" in setup
    assert setup.rstrip().endswith("run = setup_notebook()")
    compile(setup, "setup", "exec")  # plain Python: runs (as a no-op) outside Colab
    assert not stamp(nb, "42-capstone", tmp_path)  # a second stamp changes nothing
    (tmp_path / "pyproject.toml").write_text('[tool.fromscratch]\nrepository = "other/course"\n')
    assert stamp(nb, "42-capstone", tmp_path) and "other/course" in nb.cells[0].source


def test_every_learner_notebook_carries_its_own_launch_links():
    from autograder.notebooks import read, release_path, slugs

    for slug in slugs(ROOT):
        learner = read(release_path(slug, ROOT))
        assert f"notebooks/{slug}/{slug}.ipynb" in learner.cells[0].source, slug
        setup = next(c for c in learner.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "setup")
        assert '"google.colab" in sys.modules' in setup.source, slug
