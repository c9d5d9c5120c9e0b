"""``make check``: everything that must hold between ``solutions/`` and what is generated from it.

* ``notebooks/`` is exactly what nbgrader generates from ``solutions/``;
* ``fromscratch/`` holds exactly the modules the ``#| export`` cells generate;
* a notebook (and its exports) imports library code only from earlier notebooks;
* learner notebooks carry no outputs and no solution or hidden-test text;
* cell metadata is sound (unique ``grade_id``, ``schema_version``, points, locked tests),
  every notebook has its setup and ``parameters`` cells, and mutants name real cells.
"""

from __future__ import annotations

import ast
import tempfile
import sys
from pathlib import Path

import nbformat

from autograder import exporter, mutants
from autograder.launch import stamp
from autograder.notebooks import (BEGIN_HIDDEN, BEGIN_SOLUTION, END_SOLUTION, CourseError, course_root,
                                  is_solution, is_test, meta, read, release_path, slugs, solution_path)
from autograder.release import generate_learner_versions


def _python(source: str) -> str:
    """Cell source with IPython magics and shell escapes blanked, so ``ast`` can read it."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def library_imports(source: str) -> set[str]:
    """The ``fromscratch`` modules a piece of code imports."""
    try:
        tree = ast.parse(_python(source))
    except SyntaxError:
        return set()
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "fromscratch" and len(parts) > 1:
                found.add(parts[1])
    return found


def check_metadata(slug: str, nb) -> list[str]:
    problems, seen = [], set()
    for index, cell in enumerate(nb.cells):
        m = meta(cell)
        if not m:
            continue
        where = f"cell {index}"
        gid = m.get("grade_id")
        if "schema_version" not in m:
            problems.append(f"{where}: nbgrader metadata without schema_version")
        if not gid:
            problems.append(f"{where}: nbgrader metadata without grade_id")
        elif gid in seen:
            problems.append(f"{where}: duplicate grade_id {gid!r}")
        seen.add(gid)
        if m.get("grade") and not float(m.get("points", 0) or 0) > 0:
            problems.append(f"{where} ({gid}): graded cell without points")
        if is_test(cell):
            if not m.get("locked"):
                problems.append(f"{where} ({gid}): test cell is not locked")
            problems += [f"{where} ({gid}): {p}" for p in _test_cell_problems(cell.source)]
        if is_solution(cell) and cell.cell_type == "code" and BEGIN_SOLUTION not in cell.source:
            problems.append(f"{where} ({gid}): solution cell without '{BEGIN_SOLUTION}'")
    return problems


def _test_cell_problems(source: str) -> list[str]:
    try:
        tree = ast.parse(_python(source))
    except SyntaxError as error:
        return [f"test cell does not parse: {error.msg} (line {error.lineno})"]
    last = tree.body[-1] if tree.body else None
    if isinstance(last, ast.Expr) and not isinstance(last.value, ast.Call):
        return ["test cell ends with a bare expression (nbgrader would read it as partial credit)"]
    return []


def check_shape(slug: str, nb) -> list[str]:
    problems = []
    if not any(cell.cell_type == "code" and "setup_notebook(" in cell.source for cell in nb.cells):
        problems.append("no setup cell calling fromscratch.runtime.setup_notebook")
    if not any("parameters" in cell.get("metadata", {}).get("tags", []) for cell in nb.cells):
        problems.append("no cell tagged 'parameters' (papermill)")
    if not any(is_test(cell) for cell in nb.cells):
        problems.append("no auto-graded test cell")
    return problems


def check_learner_version(slug: str, learner, solution) -> list[str]:
    problems = []
    for index, cell in enumerate(learner.cells):
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count")):
            problems.append(f"learner cell {index} carries outputs")
        for marker in (BEGIN_SOLUTION, END_SOLUTION, BEGIN_HIDDEN):
            if marker in cell.source:
                problems.append(f"learner cell {index} contains {marker!r}")
    return problems


def check_imports(root: Path, slug: str, sources: list[str]) -> list[str]:
    """Library imports must come from notebooks earlier than ``slug`` (or be hand-written)."""
    problems, owners = [], exporter.exporting_notebooks(root)
    allowed = exporter.importable_modules(slug, root)
    for module in sorted(set().union(*map(library_imports, sources)) if sources else set()):
        if module in allowed:
            continue
        if module not in owners:
            problems.append(f"imports fromscratch.{module}, which no notebook exports")
        else:
            problems.append(f"imports fromscratch.{module}, exported by notebook {owners[module]:02d} "
                            "(a notebook may import only from earlier notebooks)")
    return problems


def check_readme(root: Path, all_slugs: list[str]) -> list[str]:
    """The README's course map lists every written notebook as ready."""
    readme = root / "README.md"
    if not readme.is_file():
        return []  # a scratch course (the tests') has no README
    from autograder.launch import binder_url, colab_url, repository

    text = readme.read_text(encoding="utf-8")
    repo, branch = repository(root) or ("", "")
    problems = []
    for slug in all_slugs:
        if f"(solutions/{slug}/{slug}.ipynb) | ready |" not in text:
            problems.append(f"README.md: the course map does not list {slug} as ready")
        elif colab_url(repo, branch, slug) not in text or binder_url(repo, branch, slug) not in text:
            problems.append(f"README.md: the course map lacks {slug}'s Colab or Binder link")
    return problems


def _canonical(nb) -> str:
    return nbformat.writes(nb)


def shadows_a_package(name: str) -> bool:
    """True when ``name`` is also a standard-library module or an installed top-level package."""
    import importlib.util

    if name in sys.stdlib_module_names:
        return True
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return False
    return spec is not None and "fromscratch" not in str(spec.origin or "")


def verify(root: Path | None = None) -> list[str]:
    """Every problem found, as ``"where: what"`` lines; empty when all is well."""
    root = root or course_root()
    problems: list[str] = []
    all_slugs = slugs(root)
    problems += [f"{slug}: its module fromscratch.{name} would shadow the package {name!r} for code run "
                 "inside fromscratch/; name the module in the notebook's metadata "
                 '({"fromscratch": {"module": "..."}})'
                 for slug in all_slugs if shadows_a_package(name := exporter.module_name(slug, root))]
    solutions = {}
    for slug in all_slugs:
        try:
            nb = solutions[slug] = read(solution_path(slug, root))
            mutants.load(slug, nb, root)
        except CourseError as error:
            problems.append(f"{slug}: {error}")
            continue
        problems += [f"{slug}: {p}" for p in check_metadata(slug, nb) + check_shape(slug, nb)]
        if stamp(nbformat.from_dict(nb), slug, root):  # a copy: checking writes nothing
            problems.append(f"{slug}: launch badges or Colab install missing or stale; run `make release`")
        code = [cell.source for cell in nb.cells if cell.cell_type == "code"]
        problems += [f"{slug}: {p}" for p in check_imports(root, slug, code)]

    try:
        wanted = exporter.library(root)
    except CourseError as error:
        problems.append(f"fromscratch: {error}")
        wanted = {}
    on_disk = exporter.generated_files(root / "fromscratch")
    for name in sorted(set(wanted) | set(on_disk)):
        if name not in on_disk:
            problems.append(f"fromscratch/{name}: missing; run `make release`")
        elif name not in wanted:
            problems.append(f"fromscratch/{name}: no notebook generates it any more; run `make release`")
        elif wanted[name] != on_disk[name]:
            problems.append(f"fromscratch/{name}: differs from its notebook's exports; run `make release`"
                            " (never edit it by hand)")
        if name in wanted:
            slug = next(s for s in all_slugs if exporter.module_name(s, root) == name[:-3])
            problems += [f"fromscratch/{name}: {p}" for p in check_imports(root, slug, [wanted[name]])]

    good = [s for s in all_slugs if s in solutions]
    with tempfile.TemporaryDirectory(prefix="fromscratch-check-") as scratch:
        try:
            generate_learner_versions(Path(scratch), good, root)
        except CourseError as error:
            problems.append(f"notebooks: {error}")
            good = []
        for slug in good:
            committed = release_path(slug, root)
            if not committed.is_file():
                problems.append(f"notebooks/{slug}: missing; run `make release`")
                continue
            learner = read(committed)
            problems += [f"notebooks/{slug}: {p}" for p in check_learner_version(slug, learner, solutions[slug])]
            fresh = read(Path(scratch) / slug / f"{slug}.ipynb")
            if _canonical(fresh) != _canonical(learner):
                problems.append(f"notebooks/{slug}: differs from what nbgrader generates from solutions/; "
                                "run `make release`")
    extra = {p.name for p in (root / "notebooks").iterdir() if p.is_dir()} - set(all_slugs) \
        if (root / "notebooks").is_dir() else set()
    problems += [f"notebooks/{name}: has no source in solutions/" for name in sorted(extra)]
    return problems + check_readme(root, all_slugs)
