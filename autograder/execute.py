"""``make execute``: run solutions with papermill and keep the outputs as the reference run.

Readers on GitHub see real results, and nbval later compares the cells tagged
``nbval-check-output`` against these outputs. Prints seconds and peak memory per notebook.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import nbformat

from autograder.notebooks import course_root, solution_path

VOLATILE_CELL_KEYS = ("papermill", "execution")


def strip_run_metadata(nb) -> None:
    """Drop what changes on every run (timings, papermill's bookkeeping) so diffs stay quiet."""
    nb.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        for key in VOLATILE_CELL_KEYS:
            cell.metadata.pop(key, None)


def execute_one(slug: str, budget: str) -> dict:
    """In this process: papermill the solution in place; report seconds and the kernel's peak RSS."""
    import papermill

    from autograder.kernel_client import PromptKernelManager

    path = solution_path(slug)
    os.environ["FROMSCRATCH_BUDGET"] = budget
    os.environ.pop("NBGRADER_EXECUTION", None)
    started = time.perf_counter()
    papermill.execute_notebook(str(path), str(path), cwd=str(path.parent), progress_bar=False,
                               kernel_name="python3", log_output=False,
                               kernel_manager_class=PromptKernelManager)  # widgets cannot stall a cell
    seconds = time.perf_counter() - started
    nb = nbformat.read(path, as_version=4)
    strip_run_metadata(nb)
    nbformat.write(nb, path)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    return {"notebook": slug, "budget": budget, "seconds": round(seconds, 1), "peak_rss_mb": round(peak, 1)}


def execute(chosen: list[str], budget: str) -> int:
    """Each notebook in a fresh process (so its memory figure is its own); print a line each."""
    failures = 0
    for slug in chosen:
        run = subprocess.run([sys.executable, "-m", "autograder.execute", slug, budget],
                             capture_output=True, text=True, cwd=course_root())
        if run.returncode != 0:
            failures += 1
            tail = (run.stderr or run.stdout).strip().splitlines()[-6:]
            print(f"{slug}: FAILED\n  " + "\n  ".join(tail))
            continue
        record = json.loads(run.stdout.strip().splitlines()[-1])
        print(f"{slug}: {record['seconds']:.1f} s, peak {record['peak_rss_mb']:.0f} MB at budget {budget}")
    return 1 if failures else 0


if __name__ == "__main__":
    print(json.dumps(execute_one(sys.argv[1], sys.argv[2])))
