"""The library against each notebook's own tests: ``make test-fast``, the author's quick loop.

For every notebook that exports a module, the test cells of its exercises run against the
*generated* module (``from fromscratch.<module> import *``) after the notebook's setup cell, at
the smoke budget, without the rest of the notebook. An author who edits one notebook and
releases it learns in seconds which notebook's tests now fail, downstream ones included (they
import the edited module). A test cell that needs state only the notebook builds (a name the
module does not define) is skipped and named, never counted as passed.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field

from autograder.exporter import module_name
from autograder.notebooks import grade_id, is_test, read, solution_path


@dataclass
class LibraryRun:
    slug: str
    module: str
    passed: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)     # grade id -> the name it missed
    failed: dict[str, str] = field(default_factory=dict)      # grade id -> the error


def run_against_library(slug: str) -> LibraryRun:
    """Run ``slug``'s test cells against its generated module (smoke budget)."""
    os.environ["FROMSCRATCH_BUDGET"] = "smoke"
    nb = read(solution_path(slug))
    run = LibraryRun(slug, f"fromscratch.{module_name(slug)}")
    namespace: dict = {"__name__": "__main__"}
    setup = next(cell for cell in nb.cells if cell.cell_type == "code")
    exec(compile(setup.source, f"{slug} setup cell", "exec"), namespace)
    module = importlib.import_module(run.module)
    exported = getattr(module, "__all__", None) or [name for name in vars(module) if not name.startswith("_")]
    namespace.update({name: getattr(module, name) for name in exported})
    for cell in nb.cells:
        if cell.cell_type != "code" or not is_test(cell):
            continue
        name = grade_id(cell)
        try:
            exec(compile(cell.source, f"{slug} {name}", "exec"), dict(namespace))
        except NameError as error:
            run.skipped[name] = str(error)
        except Exception as error:  # noqa: BLE001  every failure is reported, whatever its type
            run.failed[name] = f"{type(error).__name__}: {error}"
        else:
            run.passed.append(name)
    return run
