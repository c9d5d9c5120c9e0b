"""Self-check for learners without nbgrader (Colab, a plain Jupyter):

    python -m autograder check notebooks/00-python-basics/00-python-basics.ipynb

Runs the notebook top to bottom in a fresh kernel (the notebook file itself is not changed)
and prints each exercise's visible tests: passed, or the message with expected, got and hint.
"""

from __future__ import annotations

import os
from pathlib import Path

from autograder.notebooks import CourseError, grade_id, is_test, meta, points, read

ANSI = "\x1b"


def run_notebook(path: Path, timeout: int = 300):
    from nbclient import NotebookClient

    from autograder.kernel_client import PromptKernelManager

    nb = read(path)
    os.environ.setdefault("FROMSCRATCH_BUDGET", "smoke")
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            kernel_manager_class=PromptKernelManager,   # widgets cannot stall a cell
                            resources={"metadata": {"path": str(path.parent.resolve())}})
    client.execute()
    return nb


def _failure(cell) -> str | None:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            text = f"{output.get('ename')}: {output.get('evalue')}"
            if output.get("ename") == "NotImplementedError":
                return "not answered yet (the cell still raises NotImplementedError)"
            return text
        if output.get("output_type") == "stream" and output.get("name") == "stderr":
            return "the test cell wrote to stderr (nbgrader scores that 0): " + output.get("text", "")[:200]
    return None


def self_check(path: Path) -> int:
    path = Path(path)
    if path.suffix != ".ipynb":
        raise CourseError(f"{path}: not a notebook (expected a .ipynb file)")
    print(f"checking {path} (visible tests only; your instructor's grading also runs hidden tests)")
    nb = run_notebook(path)
    earned = total = 0.0
    failed = 0
    for cell in nb.cells:
        if is_test(cell):
            total += points(cell)
            problem = _failure(cell)
            if problem is None:
                earned += points(cell)
                print(f"  PASS  {grade_id(cell)} ({points(cell):g} pts)")
            else:
                failed += 1
                print(f"  FAIL  {grade_id(cell)} ({points(cell):g} pts)")
                for line in problem.splitlines():
                    print(f"        {line}")
        elif meta(cell).get("grade") and meta(cell).get("solution"):
            print(f"  ----  {grade_id(cell)} ({points(cell):g} pts): a written answer, graded by your instructor")
    print(f"visible tests: {earned:g}/{total:g} points; {failed} test cell(s) failing")
    return 1 if failed else 0
