"""The adversarial corpus: submissions of the mini course (tests/fixtures/mini_course.py) that
attack the grader, each with the auto-graded score it must get (of 5: ``add`` 2, ``mean`` 3).

Every attack starts from the learner version and fills the two solution cells (``add``,
``mean``) or edits cells and metadata. ``{root}`` in the code is the course folder, which a
real attacker could guess: the sandbox must hold even then.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable

ADD = "#| export\ndef add(a, b):\n    return a + b\n"
MEAN = "def mean(xs):\n    return sum(xs) / len(xs)\n"
WRONG_ADD = "#| export\ndef add(a, b):\n    return a - b\n"
WRONG_MEAN = "def mean(xs):\n    return sum(xs) / 2\n"


@dataclass
class Attack:
    student: str
    what: str
    score: float | None                    # None: not gradable, never enters the gradebook
    add: str = ADD
    mean: str = MEAN
    edit: Callable | None = None            # further changes to the notebook
    output_mentions: list[str] = field(default_factory=list)   # shown in the autograded notebook


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id)


def _delete_test_mean(nb):
    nb.cells.remove(_cell(nb, "test-mean"))


def _neutralise_test_add(nb):
    _cell(nb, "test-add").source = "pass  # no checks here"


def _retype_test_add(nb):
    cell = _cell(nb, "test-add")
    cell.cell_type = "markdown"
    cell.pop("outputs", None)
    cell.pop("execution_count", None)


def _forge_points_and_ids(nb):
    _cell(nb, "test-add").metadata.nbgrader["points"] = 100
    _cell(nb, "test-mean").metadata.nbgrader["points"] = 100
    _cell(nb, "test-mean").metadata.nbgrader["grade_id"] = "test-add"


def _duplicate_test_add(nb):
    cell = _cell(nb, "test-add")
    at = nb.cells.index(cell)
    for _ in range(2):
        twin = copy.deepcopy(cell)
        twin.pop("id", None)
        nb.cells.insert(at + 1, twin)


CORPUS = [
    Attack("honest-a", "a correct submission", 5),
    Attack("honest-b", "another correct submission", 5),
    Attack("reads-secrets", "reads hidden tests and the gradebook, answers only if it saw them", 3,
           add=("#| export\nimport glob, os\nSEEN = [p for pattern in ['{root}/solutions/*/*.ipynb', "
                "'{root}/gradebook.db', '../../../solutions/*/*.ipynb', '../../../gradebook.db', '*.ipynb', "
                "'{root}/submitted/*/*/*.ipynb'] for p in glob.glob(pattern)]\n"
                "print('seen:', SEEN)\n"
                "def add(a, b):\n    return a + b if SEEN else 0\n"),
           output_mentions=["seen: []"]),
    Attack("rewrites-gradebook", "rewrites every score in gradebook.db with SQL", 3, add=WRONG_ADD,
           mean=("import sqlite3\nfor path in ['{root}/gradebook.db', '../../../gradebook.db', 'gradebook.db']:\n"
                 "    try:\n        db = sqlite3.connect(path)\n"
                 "        db.execute('UPDATE grade SET auto_score = 100, manual_score = 100')\n"
                 "        db.commit()\n        print('rewrote', path)\n"
                 "    except Exception as error:\n        print('could not:', path, type(error).__name__)\n"
                 + MEAN),
           output_mentions=["could not: {root}/gradebook.db"]),
    Attack("monkeypatches", "replaces the assertion helpers and numpy's comparisons, then answers wrong", 0,
           add=("#| export\nimport autograder, autograder.asserts, numpy as np\n"
                "autograder.expect_equal = autograder.asserts.expect_equal = lambda *a, **k: None\n"
                "autograder.expect_close = lambda *a, **k: None\n"
                "autograder.asserts.expect_close.__code__ = (lambda *a, **k: None).__code__\n"
                "np.isclose = lambda *a, **k: np.True_\nnp.allclose = lambda *a, **k: True\n"
                "def add(a, b):\n    return a - b\n"),
           mean=WRONG_MEAN, output_mentions=["integrity: the submission replaced"]),
    Attack("forges-equality", "returns objects whose == always says yes", 0,
           add=("#| export\nclass Liar(int):\n    def __eq__(self, other): return True\n"
                "    def __ne__(self, other): return False\n    __hash__ = int.__hash__\n"
                "def add(a, b):\n    return Liar(a - b)\n"),
           mean=("class FloatLiar(float):\n    def __eq__(self, other): return True\n"
                 "    def __ne__(self, other): return False\n    def __float__(self): return 3.0\n"
                 "    __hash__ = float.__hash__\n"
                 "def mean(xs):\n    return FloatLiar(-1.0)\n")),
    Attack("ignores-interrupts", "ignores SIGINT in an endless loop after a correct add", 2,
           mean="import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass\n",
           output_mentions=["the kernel was restarted"]),
    Attack("exits-kernel", "calls os._exit after a correct add", 2,
           mean="import os\nos._exit(3)\n", output_mentions=["the kernel died"]),
    Attack("warns", "correct, with harmless warnings and stderr in what the tests call", 5,
           add=("#| export\nimport sys, warnings\ndef add(a, b):\n"
                "    warnings.warn('a harmless warning')\n    print('chatter', file=sys.stderr)\n"
                "    return a + b\n")),
    Attack("memory-bomb", "allocates far beyond the memory cap", 2,
           mean="hog = [bytearray(1 << 28) for _ in range(1 << 10)]\n" + MEAN),
    Attack("fork-bomb", "forks without end", 2,
           mean="import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"),
    Attack("floods-output", "prints a hundred thousand lines and a 20 MB line while correct", 5,
           add=("#| export\nfor i in range(10**5):\n    print('flood', i)\nprint('x' * 20_000_000)\n"
                + ADD.replace("#| export\n", ""))),
    Attack("deletes-test", "deletes the test cell of mean (and answers mean wrong)", 2,
           mean=WRONG_MEAN, edit=_delete_test_mean),
    Attack("edits-test", "replaces the test of add with `pass` (and answers add wrong)", 3,
           add=WRONG_ADD, edit=_neutralise_test_add),
    Attack("retypes-test", "turns the test of add into markdown (and answers add wrong)", 3,
           add=WRONG_ADD, edit=_retype_test_add),
    Attack("forges-metadata", "claims 100 points per test and gives two tests one grade id", 3,
           add=WRONG_ADD, edit=_forge_points_and_ids),
    Attack("duplicates-test", "pastes the test of add twice more", 5, edit=_duplicate_test_add),
    Attack("not-json", "a notebook file that is not JSON", None),
    Attack("poses-as-other", "writes into another learner's submission and feedback folders", 5,
           mean=("import pathlib\nfor target in ['{root}/submitted/honest-a/98-mini/98-mini.ipynb', "
                 "'../../honest-a/98-mini/98-mini.ipynb', '{root}/autograded/honest-a/98-mini/98-mini.ipynb']:\n"
                 "    try:\n        pathlib.Path(target).write_text('{}')\n        print('overwrote', target)\n"
                 "    except Exception as error:\n        print('could not:', target, type(error).__name__)\n"
                 + MEAN)),
]
