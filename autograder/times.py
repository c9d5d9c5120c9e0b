"""``python -m autograder times``: where ``make test``'s time went, by stage and by notebook.

Reads what ``tests/conftest.py`` records for each pytest session (every test's seconds, the
session's wall time) and the audit's records (``build/audit/``: the nbgrader run of the solution
and the replay engine's share of each notebook), and prints two tables.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path

from autograder.notebooks import course_root

STAGES = {   # test module -> what it stands for in CI
    "test_course": "notebooks: honesty audit (nbgrader + replay) and drift",
    "test_adversarial": "adversarial corpus",
    "test_roundtrip": "nbgrader round trip",
    "test_launch": "launch: JupyterLab in the browser, Colab, Binder",
    "test_audit": "harness: audit and replay engine on the mini course",
}


def stage_of(nodeid: str) -> str:
    module = Path(nodeid.split("::")[0]).stem
    return STAGES.get(module, f"harness and library: {module}")


def notebook_of(nodeid: str) -> str | None:
    match = re.search(r"\[(\d\d-[a-z0-9-]+)\]$", nodeid)
    return match.group(1) if match else None


def load_sessions(root: Path) -> list[dict]:
    folder = root / "build" / "test-times"
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []


def table(header: tuple, rows: list[tuple]) -> str:
    rows = [header] + [tuple(str(v) for v in row) for row in rows]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths)))
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def report(root: Path | None = None) -> str:
    root = root or course_root()
    sessions = load_sessions(root)
    if not sessions:
        return "no test times recorded (run `make test`)"
    by_stage: dict[str, list[float]] = defaultdict(list)
    by_notebook: dict[str, float] = defaultdict(float)
    for session in sessions:
        for nodeid, seconds in session["tests"].items():
            by_stage[stage_of(nodeid)].append(seconds)
            if notebook := notebook_of(nodeid):
                by_notebook[notebook] += seconds
    total = sum(sum(v) for v in by_stage.values()) or 1.0
    out = ["where `make test`'s time went (seconds of test time; workers run side by side)", ""]
    out.append(table(("stage", "tests", "seconds", "share"),
                     [(stage, len(v), f"{sum(v):.0f}", f"{100 * sum(v) / total:.0f}%")
                      for stage, v in sorted(by_stage.items(), key=lambda kv: -sum(kv[1]))]))
    out.append("")
    out.append("  ".join(f"session {s['label']}: {s['wall_seconds']:.0f} s wall on {s['workers']} worker(s)"
                         for s in sessions))
    records = {p.stem: json.loads(p.read_text()) for p in (root / "build" / "audit").glob("*.json")} \
        if (root / "build" / "audit").is_dir() else {}
    if by_notebook:
        rows = []
        for notebook in sorted(by_notebook):
            record = records.get(notebook, {})
            rows.append((notebook, f"{by_notebook[notebook]:.1f}", record.get("autograde_seconds", ""),
                         record.get("smoke_seconds", ""), record.get("replay_seconds", ""),
                         record.get("mutants_total", "")))
        out += ["", table(("notebook", "test s", "nbgrader s", "in kernel s", "replay s", "mutants"), rows)]
        out.append(f"{len(by_notebook)} notebooks, {sum(by_notebook.values()) / len(by_notebook):.1f} s of test "
                   "time each on average")
    return "\n".join(out)


def main() -> int:
    print(report())
    return 0
