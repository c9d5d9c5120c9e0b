"""The assertion helpers: silent on success, and on failure expected / got / hint."""

import numpy as np
import pytest
import torch

from autograder import (TestFailure, expect, expect_close, expect_dtype, expect_equal, expect_for_all,
                        expect_gradient, expect_raises, expect_shape, numerical_gradient)


def fails(call, *fragments):
    with pytest.raises(TestFailure) as info:
        call()
    message = str(info.value)
    for fragment in ("expected:", "got:", *fragments):
        assert fragment in message, f"{fragment!r} missing from:\n{message}"
    return message


def test_success_is_silent_and_returns_none(capsys):
    results = [
        expect_equal({"a": 1}, {"a": 1}, what="dict"),
        expect_close(0.1 + 0.2, 0.3, what="float", rtol=1e-12),
        expect_close(torch.tensor([1.0, 2.0]), np.array([1.0, 2.0]), what="tensor vs array"),
        expect_shape(np.zeros((2, 3)), (2, None), what="shape"),
        expect_dtype(np.zeros(2), "f", what="dtype"),
        expect_raises(ValueError, int, "x", what="raises"),
        expect_for_all(range(5), lambda n: n >= 0, what="non-negative"),
        expect_gradient(lambda x: float((x ** 3).sum()), [1.0, -2.0], [3.0, 12.0], what="cubes"),
        expect(True, what="anything", expected="", got=""),
    ]
    assert results == [None] * len(results)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_equal_reports_the_first_difference_and_the_hint():
    message = fails(lambda: expect_equal([1, 2, 3], [1, 2, 4], what="sorted list", hint="check the merge"),
                    "index 2", "hint:     check the merge")
    assert message.startswith("sorted list")


def test_equal_reports_missing_and_extra_keys():
    fails(lambda: expect_equal({"The": 1, "the": 1}, {"the": 2}, what="counts"),
          "unexpected keys ['The']", "at key 'the': expected 2, got 1")


def test_equal_refuses_a_different_type():
    fails(lambda: expect_equal((1, 2), [1, 2], what="list"), "a list", "a tuple")


def test_close_reports_where_and_by_how_much():
    fails(lambda: expect_close([1.0, 2.0, 3.5], [1.0, 2.0, 3.0], what="values", rtol=1e-6),
          "1 of 3 values differ", "index (2,)", "expected 3, got 3.5")


def test_close_checks_shapes_first():
    fails(lambda: expect_close(np.zeros(3), np.zeros((3, 1)), what="column"), "shape (3, 1)", "shape (3,)")


def test_close_rejects_non_numbers_clearly():
    fails(lambda: expect_close("abc", 1.0, what="number"), "a number or an array of numbers")


def test_close_treats_nan_as_a_mismatch_against_a_number():
    fails(lambda: expect_close(float("nan"), 1.0, what="nan"))


def test_shape_and_dtype_failures():
    fails(lambda: expect_shape([1, 2], (2,), what="list has no shape"), "without a shape")
    fails(lambda: expect_shape(np.zeros((2, 3)), (3, 2), what="transposed"), "shape (3, 2)")
    fails(lambda: expect_dtype(np.zeros(2, dtype=int), "f", what="float please"), "floating point")


def test_raises_failures_name_what_happened():
    fails(lambda: expect_raises(ValueError, lambda: 1, what="no error"), "no error; it returned 1")
    fails(lambda: expect_raises(ValueError, lambda: 1 / 0, what="wrong error"), "ZeroDivisionError")


def test_for_all_reports_a_counterexample_and_needs_cases():
    fails(lambda: expect_for_all([2, 4, 5, 6], lambda n: n % 2 == 0, what="even"), "counterexample: 5")
    with pytest.raises(ValueError):
        expect_for_all([], lambda n: True, what="nothing")


def test_numerical_gradient_matches_a_hand_worked_case():
    # f(x, y) = x^2 y + sin(y): grad = (2xy, x^2 + cos y)
    f = lambda v: v[0] ** 2 * v[1] + np.sin(v[1])
    x = np.array([1.5, -0.5])
    np.testing.assert_allclose(numerical_gradient(f, x), [2 * 1.5 * -0.5, 1.5 ** 2 + np.cos(-0.5)], rtol=1e-7)
    assert x.tolist() == [1.5, -0.5]  # the input is left as it was


def test_gradient_check_catches_a_wrong_gradient():
    fails(lambda: expect_gradient(lambda x: float((x ** 2).sum()), [1.0, 2.0], [1.0, 2.0], what="forgot the 2"),
          "numerical 2", "analytic 1")
    fails(lambda: expect_gradient(lambda x: float(x.sum()), np.ones(3), np.ones(2), what="shape"), "shape (3,)")
