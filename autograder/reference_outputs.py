"""nbval's check, applied to a run that already happened.

CI used to execute every solution once under nbval (``--nbval-lax``) and once more under
nbgrader for the audit. Now the audit's nbgrader run of the solution serves both: this module
holds that run to what nbval would have checked:

* no code cell raised, except cells tagged ``raises-exception``;
* every cell tagged ``nbval-check-output`` produced the outputs of the committed reference run,
  compared as ``nbval --nbval-lax`` compares them (streams merged by name with ``\\r`` and
  ``\\b`` applied, MIME data flattened, images, metadata, tracebacks, execution counts and
  widget model ids ignored), using nbval's own stream helpers.
"""

from __future__ import annotations

import copy
from collections import defaultdict

from nbval.plugin import coalesce_streams, transform_streams_for_comparison

CHECK_TAG = "nbval-check-output"
ERROR_TAG = "raises-exception"
# The keys nbval's lax mode leaves out of a comparison (its default, without nbdime).
SKIPPED = {"metadata", "traceback", "prompt_number", "output_type", "name", "execution_count",
           "application/vnd.jupyter.widget-view+json", "image/png", "image/jpeg"}


def comparable(outputs) -> dict[str, list]:
    """Outputs as nbval compares them: each key (MIME types flattened) -> its values, in order."""
    flat: dict[str, list] = defaultdict(list)
    for output in transform_streams_for_comparison(coalesce_streams(copy.deepcopy(list(outputs)))):
        for key, value in output.items():
            if key in SKIPPED:
                continue
            if key == "data":
                for mime, data in value.items():
                    if mime not in SKIPPED:
                        flat[mime].append(data)
            else:
                flat[key].append(value)
    return dict(flat)


def _tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def _label(index: int, cell) -> str:
    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
    return f"cell {index}" + (f" ({grade_id})" if grade_id else "")


def differences(executed, reference) -> list[str]:
    """What nbval would report for ``executed`` against the committed ``reference`` run."""
    problems = []
    if len(executed.cells) != len(reference.cells):
        return [f"the executed notebook has {len(executed.cells)} cells, the reference {len(reference.cells)}"]
    for index, (ran, ref) in enumerate(zip(executed.cells, reference.cells)):
        if ran.cell_type != "code":
            continue
        errors = [o for o in ran.get("outputs", []) if o.get("output_type") == "error"]
        if errors and ERROR_TAG not in _tags(ref):
            problems.append(f"{_label(index, ran)} raised {errors[0].get('ename')}: {errors[0].get('evalue')}")
        if CHECK_TAG in _tags(ref):
            got, expected = comparable(ran.get("outputs", [])), comparable(ref.get("outputs", []))
            if got != expected:
                problems.append(f"{_label(index, ran)} ({CHECK_TAG}) differs from the reference run: "
                                f"expected {_short(expected)}, got {_short(got)}")
    return problems


def _short(flat: dict, limit: int = 300) -> str:
    text = repr(flat)
    return text if len(text) <= limit else text[:limit] + "..."
