"""Every notebook of the course: `make check` holds, and the honesty audit passes (its record goes
to build/audit/). The audit's one nbgrader run of each solution is also held to nbval's check:
no cell raises, and the tagged cells reproduce the committed reference outputs."""

import pytest

from autograder.audit import audit_in_subprocess
from autograder.notebooks import course_root, slugs
from autograder.verify import verify

ROOT = course_root()
NOTEBOOKS = slugs(ROOT)


def test_generated_files_match_their_sources():
    problems = verify(ROOT)
    assert problems == [], "run `make release` (or fix the notebook):\n" + "\n".join(problems)


@pytest.mark.parametrize("slug", NOTEBOOKS)
def test_honesty_audit(slug):
    record = audit_in_subprocess(slug, ROOT / "build" / "audit" / f"{slug}.json")
    assert record["violations"] == [], "\n".join(record["violations"])


@pytest.mark.parametrize("slug", ["00-python-basics", "11-pytorch-fundamentals"])
def test_untouched_learner_version_graded_by_replay_as_nbgrader_grades_it(slug):
    """The audit grades the learner version with the replay engine; it must agree with nbgrader."""
    from autograder import grading
    from autograder.audit import LEARNER, learner_variant, replay_mutants
    from autograder.notebooks import read, release_path, solution_path

    nb, learner = read(solution_path(slug)), read(release_path(slug))
    by_nbgrader = grading.autograde(slug, {"learner": learner})["learner"].scores
    by_replay = replay_mutants(slug, nb, [], ROOT, [learner_variant(nb, learner)])["variants"][LEARNER]
    assert by_replay["status"] == "ok"
    assert by_replay["scores"] == by_nbgrader and len(by_nbgrader) > 3
