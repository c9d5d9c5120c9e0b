"""``make test-fast``: every library module imports, and each notebook's tests pass against it.

Not part of ``make test`` (the audit already grades every notebook end to end); this is the
author's loop, under a minute on two cores.
"""

import importlib
import pkgutil

import pytest

import fromscratch
from autograder.exporter import module_name
from autograder.library_tests import run_against_library
from autograder.notebooks import slugs, solution_path

pytestmark = pytest.mark.library
EXPORTING = [slug for slug in slugs() if (solution_path(slug).parent.parent.parent / "fromscratch"
                                           / f"{module_name(slug)}.py").is_file()]


@pytest.mark.parametrize("name", [m.name for m in pkgutil.iter_modules(fromscratch.__path__)])
def test_module_imports(name):
    importlib.import_module(f"fromscratch.{name}")


@pytest.mark.parametrize("slug", EXPORTING)
def test_notebook_tests_pass_against_the_library(slug):
    run = run_against_library(slug)
    assert not run.failed, f"{slug}'s tests against {run.module}: " + "; ".join(
        f"{name}: {error}" for name, error in run.failed.items())
    assert run.passed, f"no test of {slug} runs against {run.module} alone (skipped: {run.skipped})"
