"""Every notebook of the course: `make check` holds, nbval replays the reference outputs at
the smoke budget, and the honesty audit passes (its record goes to build/audit/)."""

import os
import shutil
import subprocess
import sys
import time

import pytest

from autograder.audit import audit_in_subprocess
from autograder.notebooks import course_root, slugs
from autograder.verify import verify

ROOT = course_root()
NOTEBOOKS = slugs(ROOT)


def test_generated_files_match_their_sources():
    started = time.perf_counter()
    problems = verify(ROOT)
    assert problems == [], "run `make release` (or fix the notebook):\n" + "\n".join(problems)
    assert time.perf_counter() - started < 60


@pytest.mark.parametrize("slug", NOTEBOOKS)
def test_nbval_reproduces_the_reference_outputs(slug, tmp_path):
    """nbval runs a copy (so files the notebook writes stay out of the repository)."""
    shutil.copytree(ROOT / "solutions" / slug, tmp_path / slug)
    env = {**os.environ, "FROMSCRATCH_BUDGET": "smoke", "MPLBACKEND": "Agg"}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider",
                          "--nbval-lax", "--nbval-current-env", str(tmp_path / slug / f"{slug}.ipynb")],
                         cwd=tmp_path / slug, env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]


@pytest.mark.parametrize("slug", NOTEBOOKS)
def test_honesty_audit(slug):
    record = audit_in_subprocess(slug, ROOT / "build" / "audit" / f"{slug}.json")
    assert record["violations"] == [], "\n".join(record["violations"])
