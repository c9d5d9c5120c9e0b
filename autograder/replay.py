"""Grade many variants of one notebook quickly, by forking at the cell a variant changes.

A mutant changes one solution cell, so every cell above it runs exactly as in the solution.
This engine runs the solution once, in-process, in an IPython shell; when it reaches the first
cell that a variant replaces, it forks: the child runs the variant's cells (its own source where
it replaces one, the solution's elsewhere) up to the last test cell that variant is judged on,
and reports each test cell's score; the parent carries on with the solution. A variant may
replace several cells: the untouched learner version is the variant that replaces every
solution cell with its stub (nbgrader restores the locked cells, so nothing else differs). Scores come from nbgrader's own rule
(``nbgrader.utils.determine_grade``) applied to the outputs each cell produced, so a variant
scores here what it would score in ``nbgrader autograde``; ``tests/test_audit.py`` checks that
the two agree.

Run as ``python -m autograder.replay REQUEST.json RESULT.json`` (a fresh process: forking a
process that holds a Jupyter client or pytest is asking for trouble), with one BLAS/OpenMP
thread (``OMP_NUM_THREADS=1``): a child forked after a thread pool started would deadlock in
its first matrix product.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path


def _shell():
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False  # no sqlite thread to trip over after fork
    return InteractiveShell.instance(config=config)


def run_cell(shell, source: str) -> list[dict]:
    """Execute one cell; return its outputs in nbformat's shape (what a kernel would record)."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        result = shell.run_cell(source, store_history=True)
    outputs = []
    if stdout.getvalue():
        outputs.append({"output_type": "stream", "name": "stdout", "text": stdout.getvalue()})
    if stderr.getvalue():
        outputs.append({"output_type": "stream", "name": "stderr", "text": stderr.getvalue()})
    if result.result is not None:
        outputs.append({"output_type": "execute_result", "execution_count": None, "metadata": {},
                        "data": {"text/plain": repr(result.result)}})
    error = result.error_before_exec or result.error_in_exec
    if error is not None:
        outputs.append({"output_type": "error", "ename": type(error).__name__,
                        "evalue": str(error), "traceback": []})
    return outputs


def score(cell, outputs: list[dict]) -> float:
    """nbgrader's own scoring rule for a test cell with these outputs.

    Stderr is moved to stdout first, as :class:`autograder.execution.GuardedExecute` does for
    graded cells before nbgrader scores them: a warning is not a failure.
    """
    import nbformat
    from nbgrader.utils import determine_grade

    outputs = [{**o, "name": "stdout"} if o.get("output_type") == "stream" and o.get("name") == "stderr" else o
               for o in outputs]
    graded = nbformat.from_dict({**cell, "outputs": outputs})
    points, _ = determine_grade(graded)
    return float(points)


def first_replaced(variant: dict) -> int:
    """The index of the first cell a variant replaces: where the engine forks for it."""
    return min(int(index) for index in variant["sources"])


def run_variant(shell, cells, variant, workdir: Path, result_file: Path) -> None:
    """In the forked child: run the variant's cell, then on to its stop cell; report scores."""
    child_dir = Path(tempfile.mkdtemp(prefix="variant-"))
    shutil.copytree(workdir, child_dir, dirs_exist_ok=True)
    os.chdir(child_dir)
    scores = {}
    for index in range(first_replaced(variant), variant["stop_index"] + 1):
        cell = cells[index]
        if cell["cell_type"] != "code":
            continue
        source = variant["sources"].get(str(index), cell["source"])
        outputs = run_cell(shell, source)
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if index in variant["test_indices"]:
            scores[gid] = score(cell, outputs)
    result_file.write_text(json.dumps({"status": "ok", "scores": scores}))


def fork_variant(shell, cells, variant, workdir: Path, timeout: float) -> dict:
    """Fork; the child runs the variant; the parent waits (up to ``timeout``) for its report."""
    result_file = Path(tempfile.mkstemp(prefix="variant-", suffix=".json")[1])
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            run_variant(shell, cells, variant, workdir, result_file)
        except BaseException:  # noqa: BLE001 - anything: the parent reads the missing report
            code = 1
        finally:
            os._exit(code)
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return {"status": "timeout", "scores": {}}
        time.sleep(0.005)
    try:
        report = json.loads(result_file.read_text() or "{}")
    except json.JSONDecodeError:
        report = {}
    finally:
        result_file.unlink(missing_ok=True)
    return report if report.get("status") == "ok" else {"status": "crashed", "scores": {}}


def replay(request: dict) -> dict:
    import nbformat
    import nbgrader.utils  # noqa: F401 - imported once here, not in every forked child

    os.environ["NBGRADER_EXECUTION"] = "autograde"  # the smoke budget, as when nbgrader grades
    os.environ.setdefault("MPLBACKEND", "Agg")
    nb = nbformat.read(request["notebook"], as_version=4)
    cells = [dict(cell) for cell in nb.cells]
    workdir = Path(request["workdir"]).resolve()
    os.chdir(workdir)
    shell = _shell()
    by_cell: dict[int, list[dict]] = {}
    for variant in request["variants"]:
        by_cell.setdefault(first_replaced(variant), []).append(variant)
    stop = max([request.get("baseline_stop", -1)] + [v["stop_index"] for v in request["variants"]])
    test_indices = set(request.get("baseline_tests", []))
    baseline, variants = {}, {}
    started = time.perf_counter()
    for index, cell in enumerate(cells[: stop + 1]):
        for variant in by_cell.get(index, []):
            variants[variant["name"]] = fork_variant(shell, cells, variant, workdir, request["timeout"])
        if cell["cell_type"] != "code":
            continue
        outputs = run_cell(shell, cell["source"])
        if index in test_indices:
            baseline[cell["metadata"]["nbgrader"]["grade_id"]] = score(cell, outputs)
    return {"baseline": baseline, "variants": variants, "seconds": time.perf_counter() - started}


def main(argv: list[str]) -> int:
    request_file, result_file = argv
    result = replay(json.loads(Path(request_file).read_text()))
    Path(result_file).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
