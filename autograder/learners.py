"""Simulated learners: fill a released notebook the way a person would (tests and benchmarks)."""

from __future__ import annotations

import copy

from autograder.mutants import splice
from autograder.notebooks import BEGIN_SOLUTION, END_SOLUTION, grade_id, is_solution


def answer(solution_source: str) -> str:
    """A solution cell as a learner would type it: the solution, without nbgrader's markers."""
    return "\n".join(line for line in solution_source.splitlines()
                     if line.strip() not in (BEGIN_SOLUTION, END_SOLUTION))


def fill(learner, solution, wrong: dict[str, str] | None = None):
    """The learner notebook with every answer filled from ``solution`` (``wrong``: cell -> code)."""
    wrong = wrong or {}
    by_id = {grade_id(c): c for c in solution.cells if is_solution(c)}
    filled = copy.deepcopy(learner)
    for cell in filled.cells:
        gid = grade_id(cell)
        if gid in wrong:
            cell.source = answer(splice(by_id[gid].source, wrong[gid]))
        elif gid in by_id:
            cell.source = answer(by_id[gid].source)
    return filled
