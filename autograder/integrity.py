"""The grading kernel's guard: a test cell's points need proof that the locked test really ran.

The sandboxed kernel imports this module before any learner code runs (``exec_lines``). It
installs a Python audit hook, which cannot be removed, and keeps everything it trusts in that
hook's closure, which no Python code can reach without an audited operation. The grader then
runs every locked test cell through :func:`run_test`:

1. ``autograder.compile``: the hook puts back whatever the submission changed in the helpers
   (``autograder``, ``numpy``, ``torch``, builtins), the import system, IPython's and the
   kernel's execution machinery, and names it; it also names submission threads still running.
   Anything found: the test is not run and scores 0. Otherwise the hook compiles the locked
   source itself (no input or AST transformer touches it) with one last line that calls back.
2. That last line (``autograder.attest``) is reached only if every assertion passed. The hook
   checks that the caller is the very code object it compiled, running in the notebook's own
   namespace, and that nothing was changed meanwhile; then it signs ``nonce | sha256(source)``
   with a key only the grader and the hook know (HMAC-SHA256).
3. The grader awards the test's points only for a valid signature (``autograder.execution``).

So a submission can no longer rewrite a test before it runs, fake the grader's checks, or hide
a failure: a failure it hides still leaves no signature. Operations that could reach the hook's
key (tracing, profiling, walking the garbage collector, other threads' frames, rewriting the
guard's own functions) turn the key over, one-way, so later signatures tell the grader the key
was exposed. Not defended here (docs/grading.md): code the test itself calls can swap a library
function for one call and put it back, and ``ctypes`` can rewrite memory.

Every function the hook calls takes the builtins and library functions it needs as keyword
defaults bound at import, before learner code runs: replacing ``builtins.getattr`` later cannot
make the guard run learner code. Changing those defaults is an audited operation.
"""

from __future__ import annotations

import builtins
import hashlib
import hmac
import importlib.util
import os
import sys
import sysconfig
import threading
import types

import numpy
import numpy.testing

import autograder
import autograder.asserts

KEY_FILE_VARIABLE = "FROMSCRATCH_GUARD_KEY"     # the file the grader wrote the key in (read, then deleted)
VERDICT_MIME = "application/vnd.fromscratch.verdict+json"
TEST_FILENAME = "<locked test cell>"
EPILOGUE = "\n__import__('sys').audit('autograder.attest')\n"

WATCHED = ("builtins", "sys", "math", "importlib", "numpy", "numpy.testing", "numpy.linalg", "autograder",
           "autograder.asserts", "torch", "torch.testing", "torch.nn.functional")

# IPython swaps these in and out of builtins and sys around every execution.
CHANGING = {"builtins": {"exit", "quit", "get_ipython", "display", "__IPYTHON__", "_", "__", "___", "In", "Out",
                         "input", "raw_input"},                  # ipykernel forwards input() per request
            "sys": {"stdout", "stderr", "stdin", "displayhook", "excepthook", "ps1", "ps2", "ps3", "last_type",
                    "last_value", "last_traceback", "breakpointhook"}}
# Operations after which the hook's key may have been read: the key is turned over.
EXPOSING = frozenset({"sys.settrace", "sys.setprofile", "gc.get_objects", "gc.get_referrers", "gc.get_referents",
                      "sys._current_frames"})
MACHINERY_DATA = frozenset({"custom_exceptions"})   # not callable, yet it decides which handler runs
REWIRING = frozenset({"__code__", "__defaults__", "__kwdefaults__"})
MISSING = object()
_FunctionType, _MethodType, _BuiltinType = types.FunctionType, types.MethodType, types.BuiltinFunctionType


class IntegrityError(AssertionError):
    """A test whose points are withheld because the submission changed how tests run."""

    __test__ = False


def trusted_roots() -> tuple[str, ...]:
    """Folders whose code is the Python installation's or the course's: never a submission's."""
    paths = sysconfig.get_paths()
    roots = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    roots.add(os.path.dirname(autograder.__file__))
    library = importlib.util.find_spec("fromscratch")
    if library is not None and library.origin:
        roots.add(os.path.dirname(library.origin))
    return tuple(sorted(os.path.realpath(root) + os.sep for root in roots)) + ("<frozen ",)


# -- what "trusted" means for one object ---------------------------------------------------------
def defined_in_library(obj, roots, *, _type=type, _vars=vars, _starts=str.startswith,
                       _proxy_get=types.MappingProxyType.get,
                       _class_dict=type.__dict__["__dict__"].__get__) -> bool:
    """True for builtins and for functions, methods and objects whose code lies under ``roots``."""
    kind = _type(obj)
    if kind is _BuiltinType:
        return True
    if kind is _MethodType:
        obj, kind = obj.__func__, _type(obj.__func__)
    if kind is _FunctionType:
        return _starts(obj.__code__.co_filename, roots)
    for value in _class_dict(kind).values():          # an object: judge its class by its methods' code
        if _type(value) is _FunctionType:
            return _starts(value.__code__.co_filename, roots)
    return _starts(_proxy_get(_class_dict(kind), "__module__", "") or "", ("builtins", "_", "IPython", "ipykernel"))


def rewrapped_by_its_library(original, now, package_root: str, *, _type=type, _vars=vars, _get=dict.get,
                             _starts=str.startswith) -> bool:
    """True when ``now`` is a function of the same package that wraps ``original``.

    Libraries wrap their own functions lazily: importing ``torch._dynamo`` (as peft and the FLOP
    counter do) replaces ``torch.manual_seed`` by a wrapper from ``torch/_compile.py`` whose
    ``__wrapped__`` is the original. A learner's wrapper is defined in a cell, not in the package.
    """
    return (_type(now) is _FunctionType and _get(_vars(now), "__wrapped__") is original
            and _starts(now.__code__.co_filename, package_root))


# -- a snapshot of everything a test relies on ---------------------------------------------------
def take_snapshot(roots, extend=None, *, _vars=vars, _type=type, _tuple=tuple, _callable=callable,
                  _get=dict.get, _modules=sys.modules, _getattr=getattr) -> tuple:
    """What is trusted now: names in the watched modules, the autograder functions' code, and the
    execution machinery (IPython's shell and the kernel, their classes, transformer lists, hooks).

    ``extend``: an earlier snapshot whose entries stay as they were; only modules imported since
    (torch, by the locked setup cell) are added.
    """
    if extend is not None:
        seen = {id(module) for _, module, _, _ in extend[0]}
        names = [entry for entry in extend[0]]
        code = [entry for entry in extend[1]]
    else:
        seen, names, code = set(), [], []
    for name in WATCHED:
        module = _get(_modules, name)
        if module is None or id(module) in seen:
            continue
        changing = _get(CHANGING, name, ())
        for key, value in _vars(module).items():
            if key not in changing and _callable(value) and _type(value) is not types.ModuleType:
                names.append((name, module, key, value))
        if name.startswith("autograder"):
            for value in _vars(module).values():
                if _type(value) is _FunctionType:
                    code.append((value, value.__code__, value.__defaults__, value.__kwdefaults__))
    if extend is not None:
        return (_tuple(names), _tuple(code), *extend[2:])
    owners, lists = [], []
    shell = _shell()
    if shell is not None:
        kernel = _get(_vars(shell), "kernel")
        manager = shell.input_transformer_manager
        instances = [("the shell", shell), ("the shell's events", shell.events),
                     ("the display hook", shell.displayhook), ("the display publisher", shell.display_pub),
                     ("the input transformer manager", manager)]
        if kernel is not None:
            instances += [("the kernel", kernel), ("the kernel's session", kernel.session)]
        classes = {}
        for label, owner in instances:               # the instances and every class they inherit from
            owners.append((label, owner, _tuple(_vars(owner).items())))
            for cls in _type(owner).__mro__:
                if cls is not object:
                    classes[id(cls)] = (cls.__qualname__, cls)
        owners += [(label, cls, _tuple(_vars(cls).items())) for label, cls in classes.values()]
        for owner, key in ((shell, "input_transformers_cleanup"), (shell, "input_transformers_post"),
                           (shell, "ast_transformers"), (manager, "cleanup_transforms"),
                           (manager, "line_transforms"), (manager, "token_transformers")):
            items = _getattr(owner, key)
            lists.append((f"IPython's {key}", items, _tuple(items)))
        for event, callbacks in shell.events.callbacks.items():
            lists.append((f"IPython's {event} callbacks", callbacks, _tuple(callbacks)))
        if kernel is not None:
            lists.append(("the kernel's message handlers", kernel.shell_handlers,
                          _tuple(kernel.shell_handlers.items())))
    lists.append(("sys.meta_path", sys.meta_path, _tuple(sys.meta_path)))
    lists.append(("sys.path_hooks", sys.path_hooks, _tuple(sys.path_hooks)))
    return (_tuple(names), _tuple(code), _tuple(owners), _tuple(lists), shell.user_ns if shell is not None else None)


def _shell(_getattr=getattr, _builtins=builtins):
    get = _getattr(_builtins, "get_ipython", None)
    return get() if get is not None else None


def check(snapshot, roots, restore: bool, *, _vars=vars, _type=type, _get=dict.get, _setattr=setattr,
          _delattr=delattr, _modules=sys.modules, _sorted=sorted, _set=set, _id=id, _list=list, _dict=dict,
          _gettrace=sys.gettrace, _getprofile=sys.getprofile, _settrace=sys.settrace,
          _setprofile=sys.setprofile, _threading=threading, _callable=callable, _items=dict.items,
          _proxy=types.MappingProxyType, _proxy_get=types.MappingProxyType.get,
          _proxy_items=types.MappingProxyType.items) -> list[str]:
    """What the submission changed since ``snapshot`` (put back when ``restore``), and its threads."""
    names, code, owners, lists, _ = snapshot
    found = []
    for name, module, key, value in names:
        if _get(_modules, name) is not module:
            found.append(f"sys.modules[{name!r}]")
            if restore:
                _modules[name] = module
        now = _get(_vars(module), key, MISSING)
        if now is value:
            continue
        root = _get(_vars(module), "__file__", None) or ""
        if now is not MISSING and rewrapped_by_its_library(value, now, root.rsplit(os.sep, 1)[0] + os.sep):
            continue
        found.append(f"{name}.{key}")
        if restore:
            _setattr(module, key, value)
    for function, original, defaults, kwdefaults in code:
        if (function.__code__ is not original or function.__defaults__ is not defaults
                or function.__kwdefaults__ is not kwdefaults):
            found.append(f"{function.__module__}.{function.__qualname__} (its code)")
            if restore:
                function.__code__, function.__defaults__, function.__kwdefaults__ = original, defaults, kwdefaults
    for label, owner, trusted in owners:           # replaced or added methods of the machinery
        now = _vars(owner)
        is_class = _type(now) is _proxy
        get, items = (_proxy_get, _proxy_items) if is_class else (_get, _items)
        for key, value in trusted:
            if (_callable(value) or key in MACHINERY_DATA) and get(now, key, MISSING) is not value:
                found.append(f"{label}: {key}")
                if restore:
                    _setattr(owner, key, value)
        known = _dict(trusted)
        for key, value in _list(items(now)):
            if key not in known and _callable(value) and not defined_in_library(value, roots):
                found.append(f"{label}: {key} (added)")
                if restore:
                    _delattr(owner, key)
    for label, items, trusted in lists:            # transformers, callbacks, finders added by the submission
        is_dict = _type(items) is _dict
        known = _set(_id(value) for value in (_dict(trusted).values() if is_dict else trusted))
        added = [value for value in (_list(items.values()) if is_dict else _list(items))
                 if _id(value) not in known and not defined_in_library(value, roots)]
        if added:
            found.append(f"{label} (added by the submission)")
            if restore and is_dict:
                items.clear()
                items.update(trusted)
            elif restore:
                items[:] = [value for value in _list(items) if _id(value) in known or defined_in_library(value, roots)]
    if _gettrace() is not None or _getprofile() is not None:
        found.append("a trace or profile function (sys.settrace, sys.setprofile)")
        if restore:
            _settrace(None)
            _setprofile(None)
    if _threading._trace_hook is not None or _threading._profile_hook is not None:
        found.append("threading.settrace / threading.setprofile")
        if restore:
            _threading._trace_hook = _threading._profile_hook = None
    found += running_threads(roots)
    return _sorted(_set(found))


def running_threads(roots, *, _current_frames=sys._current_frames, _get_ident=threading.get_ident,
                    _starts=str.startswith, _vars=vars, _get=dict.get, _type=type, _list=list,
                    _active=threading._active, _proxy_get=types.MappingProxyType.get) -> list[str]:
    """Threads that run, or will run, the submission's code (a target, a timer, a frame on their stack)."""
    found = []
    me = _get_ident()
    frames = _current_frames()
    for ident, thread in _list(_active.items()):
        if ident == me:
            continue
        state = _vars(thread)
        pending = (_get(state, "_target"), _get(state, "function"), _proxy_get(_vars(_type(thread)), "run"))
        learner = False
        for candidate in pending:
            learner = learner or (candidate is not None and not defined_in_library(candidate, roots))
        frame = _get(frames, ident)
        while frame is not None and not learner:
            learner = not _starts(frame.f_code.co_filename, roots)
            frame = frame.f_back
        if learner:
            found.append(f"a thread of the submission still running ({_get(state, '_name')!r})")
    return found


# -- the hook --------------------------------------------------------------------------------------
def install(key: bytes) -> None:
    """Install the audit hook that holds ``key``; nothing else keeps a reference to it."""
    roots = trusted_roots()
    protected = frozenset(id(f) for f in (defined_in_library, rewrapped_by_its_library, take_snapshot, check,
                                          running_threads, _shell, run_test, copy_back))
    state = {"key": key, "turns": 0, "snapshot": take_snapshot(roots), "armed": False, "test": None,
             "verdict": None, "busy": None}

    def answer(event, args, _type=type, _str=str, _list=list, _dict=dict, _len=len, _getframe=sys._getframe,
               _compile=compile, _sha256=hashlib.sha256, _hmac=hmac.digest, _code=types.CodeType):
        if event == "autograder.arm" and not state["armed"]:
            state["armed"] = True
            state["snapshot"] = take_snapshot(roots, extend=state["snapshot"])
        elif (event == "autograder.compile" and _len(args) == 4 and _type(args[0]) is _str
              and _type(args[1]) is _str and _type(args[2]) is _dict and _type(args[3]) is _list):
            source, nonce, namespace, box = args
            state["test"], state["verdict"] = None, None
            found = check(state["snapshot"], roots, restore=True)
            if found:
                box.append("the submission changed how tests run: " + ", ".join(found))
                return
            code = _compile(source + EPILOGUE, TEST_FILENAME, "exec", dont_inherit=True)
            state["test"] = (code, nonce, _sha256(source.encode()).hexdigest(), namespace)
            box.append(code)
        elif event == "autograder.attest" and state["test"] is not None:
            code, nonce, digest, namespace = state["test"]
            state["test"] = None
            frame = _getframe(2)                   # answer <- hook <- the test's last line
            if frame.f_code is not code or frame.f_globals is not namespace:
                state["verdict"] = "tampered:the test's last line was reached by other code than the locked test"
                return
            found = check(state["snapshot"], roots, restore=False)
            if found:
                state["verdict"] = "tampered:the submission changed how tests run: " + ", ".join(found)
                return
            message = f"{nonce}|{digest}".encode()
            state["verdict"] = f"proof:{state['turns']}:{_hmac(state['key'], message, 'sha256').hex()}"
        elif event == "autograder.verdict" and _len(args) == 1 and _type(args[0]) is _list:
            args[0].append(state["verdict"] or "tampered:the test did not reach its last line")
            state["verdict"] = None

    def hook(event, args, _startswith=str.startswith, _get_ident=threading.get_ident, _id=id,
             _sha256=hashlib.sha256):
        if _startswith(event, "autograder."):
            if state["busy"] is not None:
                return
            state["busy"] = _get_ident()
            try:
                answer(event, args)
            except BaseException:                  # never let a traceback hold the hook's frames
                state["verdict"] = "tampered:the grader's guard could not check this test"
            finally:
                state["busy"] = None
        elif state["busy"] == _get_ident():        # the guard's own operations
            return
        elif event in EXPOSING or (event == "object.__setattr__" and args[1] in REWIRING
                                   and _id(args[0]) in protected):
            state["key"] = _sha256(b"exposed" + state["key"]).digest()
            state["turns"] += 1

    sys.addaudithook(hook)


def run_test(source: str, nonce: str) -> None:
    """Run a locked test cell through the guard and show its verdict (called by the grader).

    The test runs in a copy of the notebook's namespace, so code the test calls cannot rebind the
    test's own names through ``globals()``; what the test assigns is copied back afterwards, as if
    it had run in the notebook's namespace.
    """
    __tracebackhide__ = True
    user_ns = _shell().user_ns
    namespace = dict(user_ns)
    before = dict(namespace)
    box: list = []
    sys.audit("autograder.compile", source, nonce, namespace, box)
    if not box or not isinstance(box[0], types.CodeType):
        raise IntegrityError(f"[autograder] integrity: {box[0] if box else 'the guard did not answer'}; "
                             "the test did not run and its points are withheld")
    try:
        exec(box[0], namespace)
    finally:
        copy_back(before, namespace, user_ns)
    verdict: list = []
    sys.audit("autograder.verdict", verdict)
    from IPython.display import display
    display({VERDICT_MIME: {"verdict": verdict[0] if verdict else ""}}, raw=True)


def copy_back(before: dict, after: dict, user_ns: dict) -> None:
    """Names the test bound or deleted, applied to the notebook's namespace."""
    for name, value in after.items():
        if before.get(name, MISSING) is not value:
            user_ns[name] = value
    for name in before:
        if name not in after:
            user_ns.pop(name, None)


def expected_proof(key: bytes, turns: int, nonce: str, source: str) -> str:
    """The verdict a clean run of ``source`` under the ``turns``-times turned ``key`` shows (grader side)."""
    for _ in range(turns):
        key = hashlib.sha256(b"exposed" + key).digest()
    message = f"{nonce}|{hashlib.sha256(source.encode()).hexdigest()}".encode()
    return f"proof:{turns}:{hmac.digest(key, message, 'sha256').hex()}"


def _install_from_environment() -> None:
    path = os.environ.pop(KEY_FILE_VARIABLE, None)
    if not path:
        return
    with open(path, "rb") as handle:
        key = bytes.fromhex(handle.read().decode())
    os.unlink(path)
    install(key)


if __name__ != "__main__" and _shell() is not None:
    _install_from_environment()
# Referenced so linters keep the imports that put these modules in sys.modules before the snapshot.
_TRUSTED = (builtins, numpy, numpy.testing, autograder)
