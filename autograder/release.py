"""``make release``: learner notebooks with nbgrader, and the library from ``#| export`` cells."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import nbformat

from autograder.course import nbgrader_api, succeed
from autograder.exporter import write_library
from autograder.launch import stamp
from autograder.notebooks import course_root, read, slugs, solution_path


def generate_learner_versions(release_dir: Path, only: list[str] | None = None,
                              root: Path | None = None) -> list[str]:
    """Run ``nbgrader generate_assignment`` for each notebook into ``release_dir``.

    A throwaway gradebook keeps the instructor's ``gradebook.db`` out of it.
    """
    root = root or course_root()
    chosen = only or slugs(root)
    with tempfile.TemporaryDirectory(prefix="fromscratch-release-") as scratch:
        api = nbgrader_api(root, release_directory=str(release_dir),
                           db_url=f"sqlite:///{scratch}/gradebook.db")
        for slug in chosen:
            target = Path(release_dir) / slug
            if target.exists():
                shutil.rmtree(target)
            succeed(api.generate_assignment(slug, force=True, create=True), f"generate_assignment {slug}")
    return chosen


def stamp_solutions(chosen: list[str], root: Path) -> list[str]:
    """Write launch badges and the Colab install into the solutions that lack them."""
    stamped = []
    for slug in chosen:
        path = solution_path(slug, root)
        nb = read(path)
        if stamp(nb, slug, root):
            nbformat.write(nb, path)
            stamped.append(slug)
    return stamped


def release(only: list[str] | None = None, root: Path | None = None) -> None:
    root = root or course_root()
    stamp_solutions(only or slugs(root), root)
    done = generate_learner_versions(root / "notebooks", only, root)
    modules = write_library(root, only)
    print(f"released {len(done)} notebook(s) into notebooks/; library modules: {', '.join(modules) or 'none'}")
