"""Finding, reading and taking apart the course's notebooks."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

SLUG = re.compile(r"^(\d\d)-[a-z0-9]+(?:-[a-z0-9]+)*$")
BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
EXPORT_MARK = "#| export"


class CourseError(Exception):
    """Bad input to the harness: one clear line for the person at the keyboard."""


def course_root() -> Path:
    """The repository root: ``$FROMSCRATCH_COURSE_ROOT``, else the folder above this package."""
    env = os.environ.get("FROMSCRATCH_COURSE_ROOT")
    return Path(env).resolve() if env else Path(__file__).resolve().parent.parent


def slugs(root: Path | None = None) -> list[str]:
    """Every notebook in ``solutions/``, in course order."""
    source = (root or course_root()) / "solutions"
    return sorted(p.name for p in source.iterdir() if p.is_dir() and SLUG.match(p.name)) if source.is_dir() else []


def solution_path(slug: str, root: Path | None = None) -> Path:
    return (root or course_root()) / "solutions" / slug / f"{slug}.ipynb"


def release_path(slug: str, root: Path | None = None) -> Path:
    return (root or course_root()) / "notebooks" / slug / f"{slug}.ipynb"


def resolve_slug(name: str, root: Path | None = None) -> str:
    """``00-python-basics``, ``00`` or a path to either version -> the slug, or a clear error."""
    known = slugs(root)
    candidate = Path(name).stem if name.endswith(".ipynb") else Path(name).name
    if candidate in known:
        return candidate
    by_number = [s for s in known if s.split("-", 1)[0] == candidate]
    if len(by_number) == 1:
        return by_number[0]
    raise CourseError(f"no notebook {name!r} in solutions/; known: {', '.join(known) or 'none'}")


def read(path: Path) -> nbformat.NotebookNode:
    """Read a notebook, turning every way it can be broken into one clear message."""
    path = Path(path)
    if not path.is_file():
        raise CourseError(f"{path}: no such notebook")
    try:
        return nbformat.read(path, as_version=4)
    except (json.JSONDecodeError, UnicodeDecodeError, nbformat.reader.NotJSONError) as error:
        raise CourseError(f"{path}: not a notebook (not valid JSON: {error})") from None
    except Exception as error:  # nbformat raises assorted errors for structurally broken files
        raise CourseError(f"{path}: not a readable notebook ({type(error).__name__}: {error})") from None


def meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def grade_id(cell) -> str | None:
    return meta(cell).get("grade_id")


def is_solution(cell) -> bool:
    return bool(meta(cell).get("solution"))


def is_test(cell) -> bool:
    """An auto-graded test cell: graded, not a solution, code."""
    m = meta(cell)
    return bool(m.get("grade")) and not m.get("solution") and cell.cell_type == "code"


def points(cell) -> float:
    return float(meta(cell).get("points", 0) or 0)


@dataclass
class Exercise:
    """A solution code cell and the test cells that grade it."""

    solution_id: str
    solution_index: int
    test_ids: list[str] = field(default_factory=list)


def exercises(nb) -> list[Exercise]:
    """Each test cell belongs to the nearest solution code cell above it."""
    found: list[Exercise] = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and is_solution(cell):
            found.append(Exercise(grade_id(cell), index))
        elif is_test(cell) and found:
            found[-1].test_ids.append(grade_id(cell))
    return [e for e in found if e.test_ids]


def solution_span(source: str) -> tuple[int, int, str]:
    """Line numbers of the BEGIN/END SOLUTION markers and the marker's indentation."""
    lines = source.splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == BEGIN_SOLUTION]
    ends = [i for i, line in enumerate(lines) if line.strip() == END_SOLUTION]
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        raise CourseError("a solution cell needs exactly one BEGIN SOLUTION / END SOLUTION pair")
    indent = lines[starts[0]][: len(lines[starts[0]]) - len(lines[starts[0]].lstrip())]
    return starts[0], ends[0], indent
