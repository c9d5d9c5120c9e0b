"""Trusted references, taken in the grading kernel before any learner code runs.

The sandboxed kernel imports this module at start. It records what the test helpers rely on
(the namespaces of ``autograder``, ``numpy``, ``numpy.testing``, ``math``, ``builtins``, and of
``torch`` once the locked setup cell has imported it) and the code objects of the assertion
helpers. Before every graded test cell the grader calls :func:`check_and_restore`: whatever
learner code replaced is put back, and the names come back so the grader can flag the
submission in its feedback. It is a tripwire, not a wall: code in the same process can always
dig deeper, which is why grading also runs in a sandbox and compares plain values
(``autograder.asserts``).
"""

from __future__ import annotations

import builtins
import math
import os
import sys
import types

import numpy
import numpy.testing

import autograder
import autograder.asserts

WATCHED = ("builtins", "math", "numpy", "numpy.testing", "numpy.linalg", "autograder",
           "autograder.asserts", "torch", "torch.testing", "torch.nn.functional")

# IPython swaps these in and out of builtins around every execution.
IPYTHON_BUILTINS = {"exit", "quit", "get_ipython", "display", "__IPYTHON__", "_", "__", "___", "In", "Out"}

_namespaces: dict[str, tuple[types.ModuleType, dict]] = {}
_code: list[tuple[types.FunctionType, types.CodeType, tuple | None, dict | None]] = []


def arm() -> None:
    """Record the watched modules imported so far (modules already recorded are kept)."""
    for name in WATCHED:
        module = sys.modules.get(name)
        if module is not None and name not in _namespaces:
            _namespaces[name] = (module, {key: value for key, value in vars(module).items()
                                          if _watched(name, key, value)})
            if name.startswith("autograder"):
                for value in vars(module).values():
                    if isinstance(value, types.FunctionType):
                        _code.append((value, value.__code__, value.__defaults__, value.__kwdefaults__))


def check_and_restore() -> list[str]:
    """Names that learner code replaced since :func:`arm`; each is restored."""
    tampered = []
    for name, (module, saved) in _namespaces.items():
        if sys.modules.get(name) is not module:
            sys.modules[name] = module
            tampered.append(f"sys.modules[{name!r}]")
        current = vars(module)
        for key, value in saved.items():
            now = current.get(key, _MISSING)
            if now is value:
                continue
            if rewrapped_by_its_library(name, value, now):
                saved[key] = now                   # honest: trust the library's own wrapper from now on
                continue
            setattr(module, key, value)
            tampered.append(f"{name}.{key}")
    for function, code, defaults, kwdefaults in _code:
        if (function.__code__ is not code or function.__defaults__ is not defaults
                or function.__kwdefaults__ is not kwdefaults):
            function.__code__, function.__defaults__, function.__kwdefaults__ = code, defaults, kwdefaults
            tampered.append(f"{function.__module__}.{function.__qualname__} (its code)")
    return sorted(set(tampered))


def rewrapped_by_its_library(module_name: str, original, now) -> bool:
    """True when ``now`` wraps ``original`` and is defined inside the same package.

    Libraries wrap their own functions lazily: importing ``torch._dynamo`` (as peft and the FLOP
    counter do) replaces ``torch.manual_seed`` with a wrapper from ``torch/_compile.py`` whose
    ``__wrapped__`` is the original. A learner's wrapper is defined in a cell, not in the package.
    """
    if getattr(now, "__wrapped__", None) is not original:
        return False
    package = sys.modules.get(module_name.split(".")[0])
    code = getattr(now, "__code__", None)
    if package is None or code is None or not getattr(package, "__file__", None):
        return False
    root = os.path.dirname(os.path.abspath(package.__file__)) + os.sep
    return os.path.abspath(code.co_filename).startswith(root)


def _watched(module: str, key: str, value) -> bool:
    """Callables only (functions, classes): modules and data change lazily in honest runs."""
    if module == "builtins" and key in IPYTHON_BUILTINS:
        return False
    return callable(value) and not isinstance(value, types.ModuleType)


_MISSING = object()
arm()
# Referenced so linters keep the imports that put these modules in sys.modules before arm().
_TRUSTED = (builtins, math, numpy, numpy.testing, autograder)
