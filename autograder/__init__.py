"""The course's grading harness.

Test cells import the assertion helpers from here (``from autograder import expect_close``);
the command line (``python -m autograder``) releases, checks, audits, executes and grades.
"""

from autograder.asserts import (
    TestFailure,
    expect,
    expect_close,
    expect_dtype,
    expect_equal,
    expect_for_all,
    expect_gradient,
    expect_raises,
    expect_shape,
    numerical_gradient,
)

__all__ = [
    "TestFailure",
    "expect",
    "expect_close",
    "expect_dtype",
    "expect_equal",
    "expect_for_all",
    "expect_gradient",
    "expect_raises",
    "expect_shape",
    "numerical_gradient",
]
