"""The honesty audit: does the grading reward right answers and only right answers?

For one notebook it proves, by grading:

* the solution, submitted as is, gets every auto-graded point (real ``nbgrader autograde``,
  sandboxed), with no time limit hit, no dead kernel and no stall on the way;
* that same run is what nbval would pass: no cell raises, and the cells tagged
  ``nbval-check-output`` reproduce the committed reference outputs
  (:mod:`autograder.reference_outputs`), so CI executes each solution under nbgrader once;
* the untouched learner version gets zero, and every mutant (a plausible wrong answer in one
  solution cell) loses points on the test cells of its exercise: both through the fork-based
  replay engine, which applies nbgrader's scoring rule (``tests/test_audit.py`` holds it to
  real ``nbgrader autograde``; ``learner_by_nbgrader=True`` grades the learner version that way);
* each graded exercise has at least two mutants.

The smoke budget (20 s) is a design limit for authors: the record keeps the figure and a note
when it is exceeded, and only a run past :data:`SMOKE_FAIL_SECONDS`, which a loaded machine
does not reach, is a violation (a stall is caught by its event, not by the clock).

Run one notebook as ``python -m autograder.audit SLUG OUT.json`` (a fresh process, so its
peak memory figure is its own); ``python -m autograder audit`` runs many in parallel.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from autograder import grading, mutants as mutant_file
from autograder.notebooks import course_root, exercises, grade_id, is_test, read, release_path, solution_path
from autograder.reference_outputs import differences

SMOKE_LIMIT_SECONDS = 20.0        # the design limit authors size the smoke budget for
SMOKE_FAIL_SECONDS = 90.0         # a violation only far beyond it: CI fails on results, not on load
LEARNER = "untouched-learner-version"
VARIANT_TIMEOUT_SECONDS = 60.0
MIN_MUTANTS_PER_EXERCISE = 2
COLUMNS = ("notebook", "max_points", "solution_points", "release_points", "mutants_total",
           "mutants_killed", "smoke_seconds", "autograde_seconds", "peak_rss_mb")


def replay_environment() -> dict:
    """One BLAS/OpenMP thread: a thread pool started before ``fork`` deadlocks the child."""
    import os

    return {**os.environ, **{name: "1" for name in
                            ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}}


def learner_variant(nb, learner) -> dict:
    """The untouched learner version as a replay variant: every solution cell holds its stub.

    ``nbgrader autograde`` restores every locked cell (tests with their hidden part) from the
    gradebook, so the stubs are all that differ from the solution when it grades this version.
    """
    stubs = {grade_id(cell): cell.source for cell in learner.cells
             if cell.get("metadata", {}).get("nbgrader", {}).get("solution") and cell.cell_type == "code"}
    sources = {str(i): stubs[grade_id(cell)] for i, cell in enumerate(nb.cells)
               if cell.cell_type == "code" and grade_id(cell) in stubs and stubs[grade_id(cell)] != cell.source}
    tests = [i for i, cell in enumerate(nb.cells) if is_test(cell)]
    return {"name": LEARNER, "sources": sources, "test_indices": tests, "stop_index": max(tests, default=-1)}


def replay_mutants(slug: str, nb, found: list, root: Path, extra_variants: list[dict] = ()) -> dict:
    """Run every mutant (and any ``extra_variants``) through the replay engine in a fresh process."""
    index_of = {grade_id(cell): i for i, cell in enumerate(nb.cells) if grade_id(cell)}
    test_indices = [i for i, cell in enumerate(nb.cells) if is_test(cell)]
    variants = [v for v in extra_variants if v["sources"] and v["test_indices"]]
    for m in found:
        mutated = mutant_file.apply(nb, m)
        tests = [index_of[t] for t in m.tests]
        variants.append({"name": m.name, "sources": {str(index_of[m.cell]): mutated.cells[index_of[m.cell]].source},
                         "test_indices": tests, "stop_index": max(tests)})
    with tempfile.TemporaryDirectory(prefix="fromscratch-replay-") as scratch:
        workdir = Path(scratch) / slug
        shutil.copytree(root / "solutions" / slug, workdir)
        request = {"notebook": str(workdir / f"{slug}.ipynb"), "workdir": str(workdir),
                   "timeout": VARIANT_TIMEOUT_SECONDS, "variants": variants,
                   "baseline_tests": test_indices, "baseline_stop": max(test_indices, default=-1)}
        request_file, result_file = Path(scratch) / "request.json", Path(scratch) / "result.json"
        request_file.write_text(json.dumps(request))
        run = subprocess.run([sys.executable, "-m", "autograder.replay", str(request_file), str(result_file)],
                             capture_output=True, text=True, cwd=workdir, env=replay_environment())
        if run.returncode != 0 or not result_file.exists():
            tail = (run.stderr or run.stdout).strip().splitlines()[-5:]
            raise RuntimeError(f"replay engine failed on {slug}: " + " | ".join(tail))
        return json.loads(result_file.read_text())


def audit_notebook(slug: str, root: Path | None = None, learner_by_nbgrader: bool = False) -> dict:
    root = root or course_root()
    started = time.perf_counter()
    nb = read(solution_path(slug, root))
    learner = read(release_path(slug, root))
    violations: list[str] = []
    notes: list[str] = []

    submissions = {"solution": nb, **({"learner": learner} if learner_by_nbgrader else {})}
    real = grading.autograde(slug, submissions, root)
    solution = real["solution"]
    if solution.points != solution.max_points:
        lost = [g for g, s in solution.scores.items() if s < solution.max_scores[g]]
        violations.append(f"solution scores {solution.points:g}/{solution.max_points:g} (fails {', '.join(lost)})")
    for who, graded in real.items():
        for event in graded.events:             # a stall is a defect even when the points come out right
            violations.append(f"{who}: cell {event['cell']} ({event['grade_id'] or 'ungraded'}): "
                              f"{event['event']}: {event['detail']}")
    violations += [f"solution run (nbval's check): {problem}" for problem in differences(solution.notebook, nb)]

    found = mutant_file.load(slug, nb, root)
    per_exercise = {e.solution_id: 0 for e in exercises(nb)}
    for m in found:
        per_exercise[m.cell] += 1
    for exercise, count in per_exercise.items():
        if count < MIN_MUTANTS_PER_EXERCISE:
            violations.append(f"exercise {exercise} has {count} mutant(s); needs {MIN_MUTANTS_PER_EXERCISE}")

    replay_started = time.perf_counter()
    replayed = replay_mutants(slug, nb, found, root, [learner_variant(nb, learner)])
    replay_seconds = time.perf_counter() - replay_started
    if learner_by_nbgrader:
        untouched_scores = real["learner"].scores
    else:
        outcome = replayed["variants"].get(LEARNER, {"status": "ok", "scores": {}})
        if outcome["status"] != "ok":
            violations.append(f"the untouched learner version could not be graded: {outcome['status']}")
        untouched_scores = outcome["scores"]
    release_points = sum(untouched_scores.values())
    if release_points != 0:
        passed = [g for g, s in untouched_scores.items() if s > 0]
        violations.append(f"untouched learner version scores {release_points:g} (passes {', '.join(passed)})")
    baseline_lost = [g for g, s in replayed["baseline"].items() if s < solution.max_scores.get(g, 0)]
    if baseline_lost:
        violations.append(f"replay engine's solution run fails {', '.join(baseline_lost)} "
                          "(cannot judge mutants; see autograder/replay.py)")
    mutant_rows = []
    for m in found:
        outcome = replayed["variants"].get(m.name, {"status": "missing", "scores": {}})
        lost = [t for t in m.tests if outcome["scores"].get(t, 0.0) < solution.max_scores.get(t, 0.0)]
        killed = outcome["status"] != "ok" or bool(lost)
        mutant_rows.append({"mutant": m.name, "mistake": m.mistake, "status": outcome["status"],
                            "failed_tests": lost, "killed": killed})
        if not killed:
            violations.append(f"mutant {m.name} survives: {m.mistake}")

    if solution.execution_seconds > SMOKE_FAIL_SECONDS:
        violations.append(f"solution takes {solution.execution_seconds:.1f} s at the smoke budget "
                          f"(design limit {SMOKE_LIMIT_SECONDS:g} s; fails past {SMOKE_FAIL_SECONDS:g} s)")
    elif solution.execution_seconds > SMOKE_LIMIT_SECONDS:
        notes.append(f"solution took {solution.execution_seconds:.1f} s at the smoke budget, over the "
                     f"{SMOKE_LIMIT_SECONDS:g} s design limit (a loaded machine, or a budget to shrink)")
    return {
        "notebook": slug,
        "max_points": solution.max_points,
        "solution_points": solution.points,
        "release_points": release_points,
        "mutants_total": len(found),
        "mutants_killed": sum(row["killed"] for row in mutant_rows),
        "smoke_seconds": round(solution.execution_seconds, 2),
        "autograde_seconds": round(solution.seconds, 2),
        "replay_seconds": round(replay_seconds, 2),
        "peak_rss_mb": round(grading.peak_child_rss_mb(), 1),
        "audit_seconds": round(time.perf_counter() - started, 2),
        "mutants": mutant_rows,
        "slowest_cells": solution.cell_seconds[:3],
        "notes": notes,
        "violations": violations,
    }


def audit_in_subprocess(slug: str, out_file: Path, root: Path | None = None) -> dict:
    """Audit one notebook in a fresh Python process; return its record."""
    out_file.parent.mkdir(parents=True, exist_ok=True)
    run = subprocess.run([sys.executable, "-m", "autograder.audit", slug, str(out_file)],
                         capture_output=True, text=True, cwd=root or course_root())
    if run.returncode != 0 or not out_file.exists():
        tail = (run.stderr or run.stdout).strip().splitlines()[-8:]
        return {"notebook": slug, "violations": ["audit crashed: " + " | ".join(tail)]}
    return json.loads(out_file.read_text())


def table(records: list[dict]) -> str:
    """The audit as a fixed-width table, one row per notebook."""
    rows = [COLUMNS] + [tuple(_cell(r.get(c, "")) for c in COLUMNS) for r in records]
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(COLUMNS))]
    lines = ["  ".join(str(v).rjust(w) if i else str(v).ljust(w) for i, (v, w) in enumerate(zip(row, widths)))
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cell(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def main(argv: list[str]) -> int:
    slug, out_file = argv
    record = audit_notebook(slug)
    Path(out_file).write_text(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
