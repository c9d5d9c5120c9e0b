"""Launch links, stamped into every notebook by the generator (``make release``).

The title cell gets Open-in-Colab and Binder badges pointing at the notebook's own learner
version; the setup cell gets a first block that installs the course package on Colab (and does
nothing anywhere else). Both are stamped into ``solutions/`` before nbgrader generates the
learner versions, so the locked cells' checksums include them; ``make check`` fails when a
notebook lacks them or carries stale ones.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from autograder.notebooks import course_root, grade_id

BADGES_BEGIN = "<!-- launch badges: written by `make release` -->"
BADGES_END = "<!-- end of launch badges -->"
COLAB_BEGIN = "# --- Colab: install the course package (written by `make release`) ---"
COLAB_END = "# --- end of Colab install ---"


def repository(root: Path | None = None) -> tuple[str, str] | None:
    """``(owner/name, branch)`` from pyproject's ``[tool.fromscratch]``; None outside the repository."""
    pyproject = (root or course_root()) / "pyproject.toml"
    if not pyproject.is_file():
        return None
    settings = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("tool", {}).get("fromscratch", {})
    return (settings["repository"], settings.get("branch", "main")) if "repository" in settings else None


def colab_url(repo: str, branch: str, slug: str) -> str:
    return f"https://colab.research.google.com/github/{repo}/blob/{branch}/notebooks/{slug}/{slug}.ipynb"


def binder_url(repo: str, branch: str, slug: str | None = None) -> str:
    path = f"notebooks/{slug}/{slug}.ipynb" if slug else "notebooks"
    return f"https://mybinder.org/v2/gh/{repo}/{branch}?urlpath=lab/tree/{path}"


def badges(repo: str, branch: str, slug: str) -> str:
    return "\n".join([
        BADGES_BEGIN,
        f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(repo, branch, slug)})",
        f"[![Binder](https://mybinder.org/badge_logo.svg)]({binder_url(repo, branch, slug)})",
        BADGES_END,
    ])


def colab_install(repo: str, branch: str) -> str:
    return "\n".join([
        COLAB_BEGIN,
        "import subprocess, sys",
        'if "google.colab" in sys.modules:  # Colab has NumPy, PyTorch & co.; add only the course itself',
        f'    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",',
        f'                    "fromscratch @ git+https://github.com/{repo}@{branch}"], check=True)',
        COLAB_END,
    ])


def _replace_block(text: str, begin: str, end: str, block: str, after_first_line: bool) -> str:
    """Replace the block between ``begin`` and ``end``, or insert it at the top (or below line 1)."""
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        return pattern.sub(lambda _: block, text)
    if after_first_line:
        first, _, rest = text.partition("\n")
        return f"{first}\n\n{block}\n\n{rest.lstrip(chr(10))}"
    return f"{block}\n{text}"


def stamp(nb, slug: str, root: Path | None = None, where: tuple[str, str] | None = None) -> bool:
    """Write the badges and the Colab install into ``nb``; True if anything changed.

    ``where`` (``(owner/name, branch)``) overrides the course's own repository: ``make publish``
    points a learner repository's notebooks at that repository.
    """
    found = where or repository(root)
    if found is None:
        return False
    repo, branch = found
    changed = False
    title = next((c for c in nb.cells if c.cell_type == "markdown"), None)
    setup = next((c for c in nb.cells if grade_id(c) == "setup"), None)
    for cell, begin, end, block, below_heading in (
            (title, BADGES_BEGIN, BADGES_END, badges(repo, branch, slug), True),
            (setup, COLAB_BEGIN, COLAB_END, colab_install(repo, branch), False)):
        if cell is None:
            continue
        new = _replace_block(cell.source, begin, end, block, below_heading)
        if new != cell.source:
            cell.source, changed = new, True
    return changed
