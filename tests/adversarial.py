"""The adversarial corpus: submissions of the mini course (tests/fixtures/mini_course.py) that
attack the grader, each with the auto-graded score it must get (of 5: ``add`` 2, ``mean`` 3).

Every attack starts from the learner version and fills the two solution cells (``add``,
``mean``) or edits cells and metadata. ``{root}`` in the code is the course folder, which a
real attacker could guess: the sandbox must hold even then.

``KERNEL_ATTACKS`` change how the kernel runs later cells (grading integrity, part 2): each class
has at least two variants, and every one answers both exercises wrong, so each must score 0.
They are also graded on a real course notebook (tests/test_adversarial.py).
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
    kind: str = ""                          # the class of attack (docs/grading.md's threat model)


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
           mean=WRONG_MEAN, output_mentions=["the submission changed how tests run"]),
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


# -- attacks on how the kernel runs later cells: each answers both exercises wrong ------------------
INPUT_TRANSFORMER = ("get_ipython().input_transformers_cleanup.append(lambda lines: ['pass\\n'])\n")
AST_TRANSFORMER = ("import ast\nclass DropChecks(ast.NodeTransformer):\n"
                   "    def visit_Expr(self, node):\n        return ast.Pass()\n"
                   "get_ipython().ast_transformers.append(DropChecks())\n")
RUN_CELL = ("from IPython.core.interactiveshell import ExecutionInfo, ExecutionResult\n"
            "shell = get_ipython()\n"
            "async def pretend(raw_cell, *args, **kwargs):\n"
            "    result = ExecutionResult(ExecutionInfo(raw_cell, False, False, True, None))\n"
            "    result.execution_count = shell.execution_count\n    return result\n"
            "shell.run_cell_async = pretend\nshell.should_run_async = lambda *args, **kwargs: True\n")
DO_EXECUTE = ("kernel = get_ipython().kernel\n"
              "async def do_execute(*args, **kwargs):\n"
              "    return {'status': 'ok', 'execution_count': 1, 'user_expressions': {}, 'payload': []}\n"
              "type(kernel).do_execute = do_execute\n")
CUSTOM_EXC = "get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)\n"
IMPORT_HOOK = ("import builtins, types\nreal_import = builtins.__import__\n"
               "fake = types.ModuleType('autograder')\nfake.expect_equal = fake.expect_close = lambda *a, **k: None\n"
               "fake.integrity = fake\nfake.run_test = lambda source, nonce: None\n"
               "def serve(name, *args, **kwargs):\n"
               "    return fake if name.startswith('autograder') else real_import(name, *args, **kwargs)\n"
               "builtins.__import__ = serve\n")
META_PATH = ("import sys, types, importlib.abc, importlib.util\n"
             "class LookAlike(importlib.abc.MetaPathFinder, importlib.abc.Loader):\n"
             "    def find_spec(self, name, path, target=None):\n"
             "        return importlib.util.spec_from_loader(name, self) if name.startswith('autograder') else None\n"
             "    def create_module(self, spec):\n"
             "        module = types.ModuleType(spec.name)\n"
             "        module.expect_equal = module.expect_close = lambda *a, **k: None\n"
             "        module.__path__ = []\n        return module\n"
             "    def exec_module(self, module):\n        pass\n"
             "sys.meta_path.insert(0, LookAlike())\n"
             "for name in [n for n in sys.modules if n.startswith('autograder')]:\n    del sys.modules[name]\n")
REPATCH_THREAD = ("import threading, time, autograder, autograder.asserts\n"
                  "def keep_patching():\n    while True:\n"
                  "        for module in (autograder, autograder.asserts):\n"
                  "            module.expect_equal = module.expect_close = lambda *a, **k: None\n"
                  "        time.sleep(0.0005)\n"
                  "threading.Thread(target=keep_patching, daemon=True).start()\n")
TIMER_THREAD = ("import threading, autograder, autograder.asserts\n"
                "def patch():\n    for module in (autograder, autograder.asserts):\n"
                "        module.expect_equal = module.expect_close = lambda *a, **k: None\n"
                "threading.Timer(0.5, patch).start()\n")
# Code the test itself calls: it hides the failure and shows a verdict it made up or signed with a
# key it dug out of the interpreter.
FORGED_VERDICT = ("from IPython.display import display\n"
                  "def swallow(shell, etype, value, tb, tb_offset=None):\n"
                  "    display({'application/vnd.fromscratch.verdict+json': {'verdict': 'proof:0:' + '0' * 64}}, raw=True)\n"
                  "def add(a, b):\n    from autograder.asserts import TestFailure\n"
                  "    get_ipython().set_custom_exc((TestFailure, AssertionError), swallow)\n    return a - b\n")
STOLEN_KEY = ("import gc, hashlib, hmac\nfrom IPython.display import display\n"
              "def swallow(shell, etype, value, tb, tb_offset=None):\n"
              "    cell = shell.user_ns['_ih'][-1]\n"
              "    source, nonce = eval(cell[cell.index('run_test(') + 9:-1])\n"
              "    message = f'{nonce}|{hashlib.sha256(source.encode()).hexdigest()}'.encode()\n"
              "    for state in [o for o in gc.get_objects() if isinstance(o, dict) and 'key' in o and 'turns' in o]:\n"
              "        proof = hmac.digest(state['key'], message, 'sha256').hex()\n"
              "        display({'application/vnd.fromscratch.verdict+json': {'verdict': f\"proof:{state['turns']}:{proof}\"}}, raw=True)\n"
              "def add(a, b):\n    from autograder.asserts import TestFailure\n"
                  "    get_ipython().set_custom_exc((TestFailure, AssertionError), swallow)\n    return a - b\n")
REBINDS_HELPERS = ("def add(a, b):\n    globals()['expect_equal'] = globals()['expect_close'] = lambda *a, **k: None\n"
                   "    return a - b\n")

KERNEL_ATTACKS = [
    Attack("input-transformer", "an input transformer turns every later cell into `pass`", 0,
           add=WRONG_ADD, mean=INPUT_TRANSFORMER + WRONG_MEAN, kind="transformers"),
    Attack("ast-transformer", "an AST transformer drops every expression statement (the checks)", 0,
           add=WRONG_ADD, mean=AST_TRANSFORMER + WRONG_MEAN, kind="transformers"),
    Attack("replaces-run-cell", "the shell's run_cell_async reports success without running anything", 0,
           add=WRONG_ADD, mean=RUN_CELL + WRONG_MEAN, kind="execution methods"),
    Attack("replaces-do-execute", "the kernel's do_execute answers 'ok' without running anything", 0,
           add=WRONG_ADD, mean=DO_EXECUTE + WRONG_MEAN, kind="execution methods"),
    Attack("custom-exception-handler", "a custom exception handler swallows every failure", 0,
           add=WRONG_ADD, mean=CUSTOM_EXC + WRONG_MEAN, kind="execution methods"),
    Attack("import-hook", "builtins.__import__ serves a look-alike autograder", 0,
           add=WRONG_ADD, mean=IMPORT_HOOK + WRONG_MEAN, kind="import system"),
    Attack("meta-path-finder", "a sys.meta_path finder serves a look-alike autograder", 0,
           add=WRONG_ADD, mean=META_PATH + WRONG_MEAN, kind="import system"),
    Attack("repatching-thread", "a thread re-patches the helpers every half millisecond", 0,
           add=WRONG_ADD, mean=REPATCH_THREAD + WRONG_MEAN, kind="threads",
           output_mentions=["a thread of the submission still running"]),
    Attack("timer-thread", "a timer patches the helpers after the check", 0,
           add=WRONG_ADD, mean=TIMER_THREAD + WRONG_MEAN, kind="threads",
           output_mentions=["a thread of the submission still running"]),
    Attack("forged-verdict", "code the test calls hides the failure and shows a made-up verdict", 0,
           add="#| export\n" + FORGED_VERDICT, mean=WRONG_MEAN, kind="forged verdicts",
           output_mentions=["not signed by the grader's guard"]),
    Attack("stolen-key", "code the test calls digs the guard's key out with gc and signs a verdict", 0,
           add="#| export\n" + STOLEN_KEY, mean=WRONG_MEAN, kind="forged verdicts",
           output_mentions=["which can reach the grader's key"]),
    Attack("rebinds-helpers", "code the test calls rebinds the test's helper names through globals()", 0,
           add="#| export\n" + REBINDS_HELPERS, mean=WRONG_MEAN, kind="execution methods"),
]

# Honest learners who use IPython's features keep every point and are never flagged.
HONEST_FEATURES = ("%matplotlib inline\n"
                   "import subprocess, sys, threading, time, warnings\n"
                   "from concurrent.futures import ThreadPoolExecutor\n"
                   "import ipywidgets as widgets\nimport matplotlib.pyplot as plt\n"
                   "from IPython.display import display\nfrom tqdm.auto import tqdm\n"
                   "%time total = sum(range(1000))\n"
                   "plt.plot([1, 2, 3]); plt.show()\n"
                   "display(widgets.IntSlider(3))\n"
                   "for _ in tqdm(range(3)):\n    time.sleep(0.01)\n"
                   "results = []\nworker = threading.Thread(target=lambda: results.append(1))\n"
                   "worker.start(); worker.join()\n"
                   "pool = ThreadPoolExecutor(2)\nprint(pool.submit(sum, [1, 2]).result())\n"
                   "print(subprocess.run([sys.executable, '-c', 'print(1)'], capture_output=True, text=True).stdout)\n"
                   "warnings.warn('a harmless warning')\nprint('to stderr', file=sys.stderr)\n")
HONEST = [
    Attack("honest-ipython", "correct, with magics, plots, widgets, tqdm, threads, a pool, a subprocess", 5,
           mean=HONEST_FEATURES + MEAN, kind="honest"),
    Attack("honest-globals", "correct, and its functions keep state in globals while the tests call them", 5,
           add="#| export\ncalls = 0\ndef add(a, b):\n    global calls\n    calls += 1\n    return a + b\n",
           mean=MEAN + "print('calls so far', calls)\n", kind="honest"),
]

EVERY_SUBMISSION = CORPUS + KERNEL_ATTACKS + HONEST
