"""How nbgrader runs a submission when the course grades it (``make grade``, the audit, the round trip).

:class:`GuardedExecute` replaces nbgrader's ``Execute`` step (see ``nbgrader_config.py``):

- the kernel starts in a sandbox (:mod:`autograder.sandbox`), or grading refuses;
- every cell gets a time limit suited to it: graded test cells less, a cell may ask for more
  with ``metadata.fromscratch.timeout`` (capped), everything else the default;
- a kernel that dies (``os._exit``, a crash, the memory cap) or that ignores the interrupt after a
  timeout costs only that cell: the kernel is restarted, the cells before are replayed, grading
  goes on, and the cell's output says so;
- every locked test cell runs through the kernel's guard (:mod:`autograder.integrity`): the
  guard puts back what the submission changed, runs the locked source, and signs a verdict only
  if the test reached its last line with nothing changed; the points need that signature, so
  tampering, or a failure the submission hides, costs the test and is named in its output;
- text on stderr in a graded cell (a harmless warning) is moved to stdout, so it costs nothing;
- every such event (a time limit hit, a dead kernel, a restart) is also recorded in the cell's
  ``metadata.autograder.events``, so the audit and ``make stress-audit`` can name the cell
  instead of guessing from the total time.
"""

from __future__ import annotations

import ast
import copy
import secrets
import time
from datetime import datetime

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from nbgrader.utils import is_grade
from traitlets import Integer

from autograder.integrity import VERDICT_MIME, expected_proof
from autograder.kernel_client import PromptKernelManager
from autograder.notebooks import is_test
from autograder.sandbox import SandboxedKernelManager, require_sandbox

NOTE_PREFIX = "[autograder]"
ARM = "__import__('sys').audit('autograder.arm')"


def _note(text: str) -> NotebookNode:
    return NotebookNode(output_type="stream", name="stdout", text=f"{NOTE_PREFIX} {text}\n")


def record_event(cell: NotebookNode, kind: str, detail: str) -> None:
    """Note what happened to ``cell`` in its metadata: ``{"event": kind, "detail": detail}``."""
    cell.setdefault("metadata", NotebookNode()).setdefault("autograder", {}).setdefault("events", []).append(
        {"event": kind, "detail": detail})


def kernel_stamps(cell: NotebookNode) -> tuple[datetime, datetime] | None:
    """When the kernel started and finished ``cell`` (nbclient records both in its metadata)."""
    timing = cell.get("metadata", {}).get("execution", {})
    if "iopub.execute_input" not in timing or "shell.execute_reply" not in timing:
        return None
    return tuple(datetime.fromisoformat(timing[k].replace("Z", "+00:00"))
                 for k in ("iopub.execute_input", "shell.execute_reply"))


def kernel_seconds(cell: NotebookNode) -> float | None:
    """Seconds the kernel spent on ``cell``, by its own clock; None when it was not run."""
    stamps = kernel_stamps(cell)
    return (stamps[1] - stamps[0]).total_seconds() if stamps else None


def events_of(nb) -> list[dict]:
    """Every recorded event of a graded notebook, each with its cell's index and grade id."""
    found = []
    for index, cell in enumerate(nb.cells):
        for event in cell.get("metadata", {}).get("autograder", {}).get("events", []):
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            found.append({"cell": index, "grade_id": grade_id, **event})
    return found


def _failure(ename: str, text: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=text,
                        traceback=[f"{ename}: {text}"])


class GuardedExecute(Execute):
    test_cell_timeout = Integer(60, help="seconds a graded test cell may run").tag(config=True)
    max_cell_timeout = Integer(900, help="the most a cell may ask for in its metadata").tag(config=True)
    max_output_chars = Integer(100_000, help="characters kept of one stream output").tag(config=True)
    restarts = Integer(3, help="kernel restarts allowed per submission before giving up").tag(config=True)
    wait_stall_seconds = Integer(10, help="waiting this much longer for a cell than the kernel spent on it "
                                          "is recorded as a stall").tag(config=True)

    def __init__(self, *args, **kwargs):
        sandboxed = require_sandbox()
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager if sandboxed else PromptKernelManager)
        super().__init__(*args, **kwargs)
        self.sandboxed = sandboxed

    # -- time limits ----------------------------------------------------------------------------
    def cell_timeout(self, cell: NotebookNode) -> int:
        asked = cell.metadata.get("fromscratch", {}).get("timeout")
        if isinstance(asked, int) and asked > 0:
            return min(asked, self.max_cell_timeout)
        return self.test_cell_timeout if is_grade(cell) else self.timeout

    def _get_timeout(self, cell):
        return self.cell_timeout(cell) if cell is not None else self.timeout

    # -- the run --------------------------------------------------------------------------------
    def preprocess(self, nb, resources=None, km=None):
        self._restarts_left = self.restarts
        self._abandoned_after: int | None = None
        for cell in nb.cells:                        # events are ours to write, never the submission's
            cell.get("metadata", {}).pop("autograder", None)
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code" or not cell.source.strip():
            return cell, self.resources
        if self._abandoned_after is not None:
            cell.outputs = [_failure("NotGraded", f"not run: the kernel could not be brought back after "
                                                  f"cell {self._abandoned_after}")]
            return cell, self.resources
        guarded = self.sandboxed and is_test(cell)
        source, nonce = cell.source, secrets.token_hex(16)
        if guarded:
            cell.source = guarded_source(source, nonce)
        started = time.monotonic()
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
            self._check_waiting(cell, time.monotonic() - started)
        except DeadKernelError:
            cell.outputs = list(cell.get("outputs", [])) + [_failure(
                "KernelDied", "the kernel died while running this cell (os._exit, a crash, or the memory cap)")]
            record_event(cell, "kernel-died", "the kernel died while running this cell")
            self._recover(index, "the kernel died in this cell")
        except CellTimeoutError:                    # and the kernel would not even go idle
            self._timed_out(cell, index)
        else:
            if any(o.output_type == "error" and o.get("ename") == "CellTimeoutError" for o in cell.outputs):
                self._timed_out(cell, index)
        finally:
            cell.source = source
        if guarded:
            self._judge(cell, nonce, source)
        for output in cell.outputs:
            if output.output_type == "stream" and len(output.text) > self.max_output_chars:
                cut = len(output.text) - self.max_output_chars
                output.text = output.text[: self.max_output_chars] + f"\n{NOTE_PREFIX} {cut} more characters cut\n"
            if is_grade(cell) and output.output_type == "stream" and output.name == "stderr":
                output.name = "stdout"            # a warning is not a failure
        if index == self._first_code_cell():
            self._silent(ARM)                      # trusted references of what setup imported
        return cell, self.resources

    def _check_waiting(self, cell: NotebookNode, waited: float) -> None:
        """Record a stall: we waited far longer than the kernel says it worked (a lost wake-up)."""
        worked = kernel_seconds(cell)
        if worked is not None and waited - worked > self.wait_stall_seconds:
            record_event(cell, "stall", f"waited {waited:.1f} s for a cell the kernel ran in {worked:.1f} s")

    def _timed_out(self, cell: NotebookNode, index: int) -> None:
        limit = self.cell_timeout(cell)
        if not any(o.output_type == "error" for o in cell.get("outputs", [])):
            cell.outputs = list(cell.get("outputs", [])) + [_failure("CellTimeoutError", f"ran past {limit} s")]
        record_event(cell, "timeout", f"ran past its {limit} s limit")
        self._recover(index, f"this cell ran past its {limit} s limit")

    def _first_code_cell(self) -> int:
        return next(i for i, c in enumerate(self.nb.cells) if c.cell_type == "code" and c.source.strip())

    # -- talking to the kernel behind the cells' backs -------------------------------------------
    def _silent(self, expression: str):
        """Evaluate ``expression`` in the kernel without touching history or outputs."""
        try:
            msg_id = self.kc.execute("", silent=True, store_history=False,
                                     user_expressions={"value": expression})
            reply = run_sync(self.async_wait_for_reply)(msg_id)
        except Exception:
            return None
        value = ((reply or {}).get("content", {}).get("user_expressions", {}).get("value", {}))
        if value.get("status") != "ok":
            return None
        try:
            return ast.literal_eval(value["data"]["text/plain"])
        except (KeyError, ValueError, SyntaxError):
            return None

    def _judge(self, cell: NotebookNode, nonce: str, source: str) -> None:
        """Keep a test's outcome only with the guard's signed verdict; otherwise withhold its points."""
        verdicts = [o for o in cell.outputs if o.output_type == "display_data" and VERDICT_MIME in o.get("data", {})]
        cell.outputs = [o for o in cell.outputs if not any(o is v for v in verdicts)]
        shown = [str((v.data[VERDICT_MIME] or {}).get("verdict", "")) for v in verdicts]
        errors = [o for o in cell.outputs if o.output_type == "error"]
        if any(o.get("ename") == "IntegrityError" for o in errors):
            record_event(cell, "integrity", next(o.get("evalue", "") for o in errors if o.get("ename") == "IntegrityError"))
            return
        if errors and not shown:
            return                                   # an honest failure: 0 points already
        problem = verdict_problem(shown, self.km.guard_key, nonce, source)
        if problem:
            record_event(cell, "integrity", problem)
            cell.outputs.append(_failure("IntegrityError", f"{NOTE_PREFIX} integrity: {problem}; "
                                                             "this test's points are withheld"))

    # -- restart and replay ---------------------------------------------------------------------
    def _recover(self, index: int, why: str) -> None:
        cell = self.nb.cells[index]
        while self._restarts_left > 0:
            self._restarts_left -= 1
            try:
                run_sync(self.km.restart_kernel)(now=True)
                run_sync(self.kc.wait_for_ready)(timeout=self.startup_timeout)
                self._replay(index)
            except Exception:
                continue
            cell.outputs.append(_note(f"{why}; the kernel was restarted and the cells before it "
                                      "replayed, so the cells after it are still graded"))
            record_event(cell, "restart", "kernel restarted and earlier cells replayed")
            return
        self._abandoned_after = index
        record_event(cell, "abandoned", "the kernel could not be restarted; later cells not run")
        cell.outputs.append(_note(f"{why}; the kernel could not be restarted, so later cells score 0"))

    def _replay(self, index: int) -> None:
        for position, earlier in enumerate(self.nb.cells[:index]):
            if earlier.cell_type == "code" and earlier.source.strip():
                scratch = copy.deepcopy(earlier)
                self.execute_cell(scratch, position, store_history=False)
                if any(o.output_type == "error" and o.get("ename") == "CellTimeoutError" for o in scratch.outputs):
                    raise RuntimeError("replay timed out")
                if position == self._first_code_cell():
                    self._silent(ARM)


def guarded_source(source: str, nonce: str) -> str:
    """What the kernel runs for a locked test cell: the source, handed to the guard as a string."""
    return f"__import__('autograder.integrity', fromlist=['_']).run_test({source!r}, {nonce!r})"


def verdict_problem(shown: list[str], key: bytes | None, nonce: str, source: str) -> str | None:
    """Why the verdicts a test cell showed do not prove a clean run (None: they do)."""
    if key is not None and expected_proof(key, 0, nonce, source) in shown:
        return None
    for verdict in shown:
        if verdict.startswith("tampered:"):
            return verdict.removeprefix("tampered:")
        turns = verdict.split(":")[1] if verdict.count(":") == 2 else ""
        if key is not None and turns.isdigit() and 0 < int(turns) <= 1000 \
                and verdict == expected_proof(key, int(turns), nonce, source):
            return ("the submission traced, profiled or walked the interpreter (sys.settrace, sys.setprofile, "
                    "gc.get_objects, sys._current_frames) or rewrote the grader's own functions, which can "
                    "reach the grader's key; no test after that can be trusted")
    if shown:
        return "the test's verdict was not signed by the grader's guard (forged)"
    return "the test did not confirm that it ran to its end (its verdict or its errors were suppressed)"
