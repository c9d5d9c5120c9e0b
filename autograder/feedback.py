"""Feedback for learners: every test's message and hint, never the hidden tests' code."""

from __future__ import annotations

import re

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from autograder.notebooks import BEGIN_HIDDEN, END_HIDDEN, is_test

ANSI = re.compile(r"\x1b\[[0-9;]*m")
HIDDEN_BLOCK = re.compile(
    rf"^[ \t]*{re.escape(BEGIN_HIDDEN)}.*?^[ \t]*{re.escape(END_HIDDEN)}[ \t]*$", re.S | re.M)


def hide_hidden_tests(source: str) -> str:
    return HIDDEN_BLOCK.sub("# (hidden tests ran here)", source)


def short_error(output) -> None:
    """Replace a traceback (which quotes the failing line) by the error's own message."""
    message = f"{output.get('ename', 'Error')}: {ANSI.sub('', output.get('evalue', ''))}"
    output["traceback"] = [message]


class HideHiddenTests(Preprocessor):
    """nbgrader feedback preprocessor: strip hidden test code and tracebacks from test cells."""

    enabled = Bool(True, help="on unless configured off: nbgrader registers it without enabling").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if is_test(cell):
            cell.source = hide_hidden_tests(cell.source)
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    short_error(output)
        return cell, resources
