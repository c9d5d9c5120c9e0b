"""Repair the identity of a submission's cells before nbgrader sanitizes it.

nbgrader finds a notebook's test cells by their ``grade_id`` metadata. A learner who pastes a
cell twice, or a submission that relabels one test as another, makes nbgrader blank the
duplicate's metadata, and then reject the whole notebook (an "outdated schema" error): every
answer scores nothing. :class:`RepairCellIdentity` runs first instead:

- a locked cell whose text is exactly a locked cell of the source notebook gets that cell's
  ``grade_id`` back, whatever its metadata claims (points and the rest are then restored from
  the gradebook by nbgrader's ``OverwriteCells``);
- of several cells with one ``grade_id``, the last keeps it (as nbgrader would) and the others
  become ordinary cells, still executed but worth nothing.
"""

from __future__ import annotations

import re

from nbgrader.api import Gradebook
from nbgrader.preprocessors import NbGraderPreprocessor


HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[ \t]*$\n?", re.M | re.S)


def visible(source: str) -> str:
    """A cell's text as the learner's version shows it: hidden tests removed."""
    return "\n".join(line.rstrip() for line in HIDDEN.sub("", source).strip().splitlines())


class RepairCellIdentity(NbGraderPreprocessor):
    def preprocess(self, nb, resources):
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gradebook:
            source = gradebook.find_notebook(info["notebook"], info["assignment"])
            locked_text = {visible(cell.source): cell.name for cell in source.source_cells if cell.locked}
        kept: set[str] = set()
        for cell in reversed(nb.cells):
            meta = cell.get("metadata", {}).get("nbgrader")
            if not isinstance(meta, dict) or "grade_id" not in meta:
                continue
            original = locked_text.get(visible(cell.source))
            if original and meta["grade_id"] != original:
                self.log.warning("cell labelled %r is the text of %r: relabelled", meta["grade_id"], original)
                meta["grade_id"] = original
            if meta["grade_id"] in kept:
                self.log.warning("cell %r appears more than once: the earlier copy is ungraded", meta["grade_id"])
                del cell.metadata["nbgrader"]
            else:
                kept.add(meta["grade_id"])
        return nb, resources
