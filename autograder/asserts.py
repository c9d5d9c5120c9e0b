"""Assertion helpers for test cells.

Every helper either returns ``None`` silently (nothing on stdout or stderr: nbgrader scores a
test cell 0 if it writes to stderr, and a returned number would be read as partial credit) or
raises :class:`TestFailure` whose message says what was checked, what was expected, what came
out, and a hint the learner can act on.
"""

from __future__ import annotations

import math
import sys
from typing import Any, Callable, Iterable

import numpy as np

MAX_REPR = 400


class TestFailure(AssertionError):
    """A failed check, with a message written for the learner."""

    __test__ = False  # not a pytest test class


def _show(value: Any) -> str:
    if isinstance(value, np.ndarray):
        text = np.array2string(value, threshold=20, edgeitems=3, precision=6)
        text = f"array(shape={value.shape}, dtype={value.dtype}) {text}"
    else:
        text = repr(value)
    return text if len(text) <= MAX_REPR else text[: MAX_REPR - 3] + "..."


def _fail(what: str, expected: Any, got: Any, hint: str, detail: str = "") -> None:
    __tracebackhide__ = True
    lines = [f"{what}", f"  expected: {expected}", f"  got:      {got}"]
    if detail:
        lines.append(f"  detail:   {detail}")
    if hint:
        lines.append(f"  hint:     {hint}")
    raise TestFailure("\n".join(lines))


def expect(condition: bool, *, what: str, expected: Any, got: Any, hint: str = "") -> None:
    """The general form: ``condition`` must hold; ``expected``/``got`` describe it in words."""
    __tracebackhide__ = True
    if type(condition) not in (bool, np.bool_):
        _fail(what, expected, got, hint,
              f"the check itself produced a {type(condition).__name__}, not True or False")
    if not bool(condition):                       # an exact bool or np.bool_: nothing to forge
        _fail(what, expected, got, hint)


def expect_equal(got: Any, expected: Any, *, what: str, hint: str = "") -> None:
    """Exact equality, for ints, strings, lists, dicts and tuples."""
    __tracebackhide__ = True
    if type(got) is not type(expected) and not (_is_number(got) and _is_number(expected)):
        _fail(what, f"a {type(expected).__name__}: {_show(expected)}",
              f"a {type(got).__name__}: {_show(got)}", hint)
    if not _same(got, expected):
        _fail(what, _show(expected), _show(got), hint, _difference(got, expected))


class _NotPlain(Exception):
    pass


def plain(value: Any) -> Any:
    """``value`` rebuilt from exact built-in types (or a base ``ndarray``), by base-class methods.

    A submission cannot pass a check with an object whose ``__eq__`` always says yes: what is
    compared is rebuilt with ``int.__int__``, ``list.__iter__`` and friends, which ignore
    whatever a subclass overrides. Raises ``_NotPlain`` for anything else.
    """
    kind = type(value)
    if value is None or kind in (bool, int, float, complex, str, bytes):
        return value
    if isinstance(value, np.ndarray):
        array = np.ndarray.copy(np.ndarray.view(value, np.ndarray))
        if array.dtype.kind == "O":
            raise _NotPlain(kind)
        return array
    if isinstance(value, np.generic):
        return plain(np.generic.item(value))
    for base, rebuild in _REBUILD:
        if isinstance(value, base):
            return rebuild(value)
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return plain(torch.Tensor.numpy(torch.Tensor.cpu(torch.Tensor.detach(value))))
    raise _NotPlain(kind)


_REBUILD = (
    (int, int.__int__), (float, float.__float__), (complex, complex.__complex__),
    (str, str.__str__), (bytes, bytes.__bytes__),
    (dict, lambda v: {plain(k): plain(x) for k, x in dict.items(v)}),
    (list, lambda v: [plain(x) for x in list.__iter__(v)]),
    (tuple, lambda v: tuple(plain(x) for x in tuple.__iter__(v))),
    (frozenset, lambda v: frozenset(plain(x) for x in frozenset.__iter__(v))),
    (set, lambda v: {plain(x) for x in set.__iter__(v)}),
)


def _same(got: Any, expected: Any) -> bool:
    """Equality decided by trusted code: plain values where possible, else the expected side's."""
    try:
        a, b = plain(got), plain(expected)
    except _NotPlain:
        return bool(expected == got) is True     # the test's object speaks first
    return _equal_plain(a, b)


def _equal_plain(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and _array_equal(a, b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_equal_plain, a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal_plain(a[k], b[k]) for k in a)
    return a == b


def _array_equal(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.all(a == b))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _difference(got: Any, expected: Any) -> str:
    """Point at the first difference in a long container, so the learner need not hunt."""
    if isinstance(got, dict) and isinstance(expected, dict):
        missing = [k for k in expected if k not in got]
        extra = [k for k in got if k not in expected]
        wrong = [k for k in expected if k in got and got[k] != expected[k]]
        parts = []
        if missing:
            parts.append(f"missing keys {_show(missing[:5])}")
        if extra:
            parts.append(f"unexpected keys {_show(extra[:5])}")
        if wrong:
            k = wrong[0]
            parts.append(f"at key {k!r}: expected {_show(expected[k])}, got {_show(got[k])}")
        return "; ".join(parts)
    if isinstance(got, (list, tuple, str)) and isinstance(expected, (list, tuple, str)):
        if len(got) != len(expected):
            return f"length {len(got)}, expected length {len(expected)}"
        for i, (a, b) in enumerate(zip(got, expected)):
            if a != b:
                return f"first difference at index {i}: expected {_show(b)}, got {_show(a)}"
    return ""


def _as_array(value: Any) -> np.ndarray:
    """Plain float64 array from numbers, sequences, NumPy arrays or PyTorch tensors."""
    try:
        value = plain(value)
    except _NotPlain:
        raise TypeError(f"not a number or an array of numbers: {type(value).__name__}") from None
    return np.asarray(value, dtype=np.float64)


def expect_close(got: Any, expected: Any, *, what: str, rtol: float = 1e-7, atol: float = 0.0,
                 hint: str = "") -> None:
    """Numbers or arrays equal within ``|got - expected| <= atol + rtol * |expected|``."""
    __tracebackhide__ = True
    try:
        got_array = _as_array(got)
    except (TypeError, ValueError):
        _fail(what, "a number or an array of numbers", f"{type(got).__name__}: {_show(got)}", hint)
    want = _as_array(expected)
    if got_array.shape != want.shape:
        _fail(what, f"shape {want.shape}", f"shape {got_array.shape}", hint)
    with np.errstate(invalid="ignore", over="ignore"):
        ok = np.isclose(got_array, want, rtol=rtol, atol=atol, equal_nan=True)
    if not ok.all():
        bad = np.argwhere(~ok)
        first = tuple(int(i) for i in bad[0])
        where = f" at index {first}" if got_array.ndim else ""
        g = got_array[first] if got_array.ndim else float(got_array)
        e = want[first] if want.ndim else float(want)
        detail = (f"{len(bad)} of {ok.size} values differ; first{where}: expected {e:.10g}, got {g:.10g} "
                  f"(tolerance: atol={atol:g}, rtol={rtol:g})")
        _fail(what, _show(expected), _show(got), hint, detail)


def expect_shape(got: Any, shape: tuple, *, what: str, hint: str = "") -> None:
    """``got.shape == shape``; a ``None`` in ``shape`` matches any length on that axis."""
    __tracebackhide__ = True
    actual = getattr(got, "shape", None)
    if actual is None:
        _fail(what, f"an array of shape {shape}", f"{type(got).__name__} without a shape", hint)
    actual = tuple(actual)
    matches = len(actual) == len(shape) and all(w is None or w == a for a, w in zip(actual, shape))
    if not matches:
        _fail(what, f"shape {shape}", f"shape {actual}", hint)


def expect_dtype(got: Any, kind: str, *, what: str, hint: str = "") -> None:
    """NumPy dtype kind: ``"f"`` floating, ``"i"`` signed integer, ``"u"``, ``"b"`` bool, ``"U"`` str."""
    __tracebackhide__ = True
    dtype = getattr(got, "dtype", None)
    if dtype is None or np.dtype(dtype).kind != kind:
        names = {"f": "floating point", "i": "integer", "u": "unsigned integer", "b": "boolean", "U": "string"}
        _fail(what, f"{names.get(kind, kind)} dtype", f"dtype {dtype}", hint)


def expect_raises(exception: type[BaseException], func: Callable, *args: Any, what: str,
                  hint: str = "", **kwargs: Any) -> None:
    """``func(*args, **kwargs)`` must raise ``exception`` (or a subclass)."""
    __tracebackhide__ = True
    try:
        result = func(*args, **kwargs)
    except exception:
        return
    except Exception as error:  # the wrong kind of error
        _fail(what, f"{exception.__name__}", f"{type(error).__name__}: {error}", hint)
    _fail(what, f"{exception.__name__}", f"no error; it returned {_show(result)}", hint)


def expect_for_all(cases: Iterable[Any], holds: Callable[[Any], bool], *, what: str, hint: str = "") -> None:
    """A property: ``holds(case)`` is true for every case; report the first counterexample."""
    __tracebackhide__ = True
    count = 0
    for case in cases:
        count += 1
        verdict = holds(case)
        if type(verdict) not in (bool, np.bool_):
            _fail(what, "the property to give True or False", f"a {type(verdict).__name__} for {_show(case)}", hint)
        if not verdict:
            _fail(what, "the property to hold for every case", f"a counterexample: {_show(case)}", hint)
    if count == 0:
        raise ValueError("expect_for_all needs at least one case")


def numerical_gradient(f: Callable[[np.ndarray], float], x: Any, eps: float = 1e-6) -> np.ndarray:
    """Central differences ``(f(x + eps e_i) - f(x - eps e_i)) / 2 eps`` for every coordinate."""
    x = np.array(x, dtype=np.float64)
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        saved = x[index]
        x[index] = saved + eps
        f_plus = float(f(x))
        x[index] = saved - eps
        f_minus = float(f(x))
        x[index] = saved
        grad[index] = (f_plus - f_minus) / (2 * eps)
    return grad


def expect_gradient(f: Callable[[np.ndarray], float], x: Any, grad: Any, *, what: str,
                    eps: float = 1e-6, rtol: float = 1e-4, atol: float = 1e-6, hint: str = "") -> None:
    """``grad`` (your analytic gradient of ``f`` at ``x``) matches central differences."""
    __tracebackhide__ = True
    numeric = numerical_gradient(f, x, eps)
    analytic = _as_array(grad)
    if analytic.shape != numeric.shape:
        _fail(what, f"a gradient of shape {numeric.shape} (the shape of x)", f"shape {analytic.shape}", hint)
    scale = np.maximum(np.abs(numeric), np.abs(analytic))
    with np.errstate(invalid="ignore"):
        ok = np.abs(analytic - numeric) <= atol + rtol * scale
    if not ok.all():
        first = tuple(int(i) for i in np.argwhere(~ok)[0])
        detail = (f"at index {first}: numerical {numeric[first]:.8g}, analytic {analytic[first]:.8g}; "
                  f"max relative error {float(np.max(np.abs(analytic - numeric) / np.maximum(scale, 1e-300))):.3g}")
        _fail(what, "the numerical gradient (central differences)", "a different analytic gradient", hint, detail)


def is_finite_number(value: Any) -> bool:
    """True for a real, finite number: handy inside ``expect_for_all`` properties."""
    return _is_number(value) and math.isfinite(float(value))
