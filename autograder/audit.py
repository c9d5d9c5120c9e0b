"""The honesty audit: does the grading reward right answers and only right answers?

For one notebook it proves, by grading:

* the solution, submitted as is, gets every auto-graded point (real ``nbgrader autograde``);
* the untouched learner version gets zero (real ``nbgrader autograde``);
* every mutant (a plausible wrong answer in one solution cell) loses points on the test
  cells of its exercise (the fork-based replay engine, which applies nbgrader's scoring rule);
* each graded exercise has at least two mutants; the solution runs within the smoke budget.

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

SMOKE_LIMIT_SECONDS = 20.0
VARIANT_TIMEOUT_SECONDS = 60.0
MIN_MUTANTS_PER_EXERCISE = 2
COLUMNS = ("notebook", "max_points", "solution_points", "release_points", "mutants_total",
           "mutants_killed", "smoke_seconds", "autograde_seconds", "peak_rss_mb")


def replay_environment() -> dict:
    """One BLAS/OpenMP thread: a thread pool started before ``fork`` deadlocks the child."""
    import os

    return {**os.environ, **{name: "1" for name in
                            ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}}


def replay_mutants(slug: str, nb, found: list, root: Path) -> dict:
    """Run every mutant through the replay engine in a fresh process."""
    index_of = {grade_id(cell): i for i, cell in enumerate(nb.cells) if grade_id(cell)}
    test_indices = [i for i, cell in enumerate(nb.cells) if is_test(cell)]
    variants = []
    for m in found:
        mutated = mutant_file.apply(nb, m)
        tests = [index_of[t] for t in m.tests]
        variants.append({"name": m.name, "cell_index": index_of[m.cell],
                         "source": mutated.cells[index_of[m.cell]].source,
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


def audit_notebook(slug: str, root: Path | None = None) -> dict:
    root = root or course_root()
    started = time.perf_counter()
    nb = read(solution_path(slug, root))
    learner = read(release_path(slug, root))
    violations: list[str] = []

    real = grading.autograde(slug, {"solution": nb, "learner": learner}, root)
    solution, untouched = real["solution"], real["learner"]
    if solution.points != solution.max_points:
        lost = [g for g, s in solution.scores.items() if s < solution.max_scores[g]]
        violations.append(f"solution scores {solution.points:g}/{solution.max_points:g} (fails {', '.join(lost)})")
    if untouched.points != 0:
        passed = [g for g, s in untouched.scores.items() if s > 0]
        violations.append(f"untouched learner version scores {untouched.points:g} (passes {', '.join(passed)})")

    found = mutant_file.load(slug, nb, root)
    per_exercise = {e.solution_id: 0 for e in exercises(nb)}
    for m in found:
        per_exercise[m.cell] += 1
    for exercise, count in per_exercise.items():
        if count < MIN_MUTANTS_PER_EXERCISE:
            violations.append(f"exercise {exercise} has {count} mutant(s); needs {MIN_MUTANTS_PER_EXERCISE}")

    replayed = replay_mutants(slug, nb, found, root) if found else {"baseline": {}, "variants": {}}
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

    if solution.execution_seconds > SMOKE_LIMIT_SECONDS:
        violations.append(f"solution takes {solution.execution_seconds:.1f} s at the smoke budget "
                          f"(limit {SMOKE_LIMIT_SECONDS:g} s)")
    return {
        "notebook": slug,
        "max_points": solution.max_points,
        "solution_points": solution.points,
        "release_points": untouched.points,
        "mutants_total": len(found),
        "mutants_killed": sum(row["killed"] for row in mutant_rows),
        "smoke_seconds": round(solution.execution_seconds, 2),
        "autograde_seconds": round(solution.seconds, 2),
        "peak_rss_mb": round(grading.peak_child_rss_mb(), 1),
        "audit_seconds": round(time.perf_counter() - started, 2),
        "mutants": mutant_rows,
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
