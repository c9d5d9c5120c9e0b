"""Mutants: plausible wrong answers, kept in ``mutants/NN-slug.toml``, spliced into a solution."""

from __future__ import annotations

import textwrap
import tomllib
from dataclasses import dataclass
from pathlib import Path

from autograder.notebooks import CourseError, course_root, exercises, grade_id, solution_span


@dataclass(frozen=True)
class Mutant:
    name: str          # "<cell>#<n>": stable, readable
    cell: str          # grade_id of the solution cell it replaces
    mistake: str       # the learner's mistake, in words
    code: str          # what goes between the solution markers
    tests: tuple[str, ...]  # grade_ids of the test cells that must catch it


def mutants_path(slug: str, root: Path | None = None) -> Path:
    return (root or course_root()) / "mutants" / f"{slug}.toml"


def load(slug: str, nb, root: Path | None = None) -> list[Mutant]:
    """Read and validate a notebook's mutants against its solution cells."""
    path = mutants_path(slug, root)
    if not path.is_file():
        return []
    try:
        entries = tomllib.loads(path.read_text(encoding="utf-8")).get("mutant", [])
    except tomllib.TOMLDecodeError as error:
        raise CourseError(f"{path}: not valid TOML ({error})") from None
    owners = {e.solution_id: e for e in exercises(nb)}
    counts: dict[str, int] = {}
    found = []
    for number, entry in enumerate(entries, 1):
        where = f"{path.name} mutant #{number}"
        cell, code = entry.get("cell"), entry.get("code")
        if not cell or not isinstance(code, str) or not entry.get("mistake"):
            raise CourseError(f"{where}: needs cell, mistake and code")
        if cell not in owners:
            raise CourseError(f"{where}: no graded solution cell {cell!r} (known: {', '.join(owners)})")
        tests = tuple(entry.get("tests") or owners[cell].test_ids)
        counts[cell] = counts.get(cell, 0) + 1
        found.append(Mutant(f"{cell}#{counts[cell]}", cell, entry["mistake"], code, tests))
    return found


def splice(source: str, code: str) -> str:
    """Replace a cell's solution region (markers included) by ``code``, re-indented to fit."""
    start, end, indent = solution_span(source)
    lines = source.splitlines()
    body = textwrap.indent(textwrap.dedent(code).strip("\n"), indent).splitlines()
    return "\n".join(lines[:start] + body + lines[end + 1:])


def apply(nb, mutant: Mutant):
    """A copy of the notebook with the mutant in place."""
    import copy

    mutated = copy.deepcopy(nb)
    for cell in mutated.cells:
        if grade_id(cell) == mutant.cell:
            cell.source = splice(cell.source, mutant.code)
            return mutated
    raise CourseError(f"mutant {mutant.name}: cell {mutant.cell!r} not found")
