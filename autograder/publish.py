"""``make publish``: the learner repository of a course for credit, one notebook at a time.

A course for credit keeps its source private: ``solutions/`` holds the hidden tests, and the
library holds the reference solution of every notebook (``fromscratch/gpt.py`` answers 18).
Colab and Binder can serve only a public repository, so learners get one of their own, written
from what ``make release`` generated:

* the learner notebooks up to notebook ``UPTO`` (stubs, no hidden tests);
* the library modules of the notebooks *before* ``UPTO`` (their answers are past due) and the
  hand-written ones, the grading helpers learners' test cells import, the data folder's
  committed files, the Binder and environment files, and a README with the map of what is out;
* every launch link and the Colab install pointing at the learner repository.

Publishing again with a larger ``UPTO`` into the same folder adds the next notebook and the
module of the one before it. A leak check runs on every publication before anything is written.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.utils import compute_checksum

from autograder import exporter
from autograder.launch import binder_url, colab_url, repository, stamp
from autograder.notebooks import (BEGIN_HIDDEN, BEGIN_SOLUTION, END_HIDDEN, END_SOLUTION, CourseError,
                                  course_root, read, release_path, resolve_slug, slugs, solution_path)
from autograder.sandbox import visible_library_modules
from autograder.verify import library_imports

MANIFEST = ".fromscratch-publication.json"
REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+$")
BRANCH = re.compile(r"^[A-Za-z0-9._][A-Za-z0-9._/-]*$")
# Whole files and folders of the course that learners need as they are (pyproject.toml is
# re-stamped; autograder/ because test cells import its assertion helpers).
COURSE_FILES = ["pyproject.toml", "nbgrader_config.py", ".gitignore", "environment.yml",
                "environment-cuda.yml", "binder", "autograder"]
# What may sit in a fresh target folder: a clone of an empty repository.
FRESH_FOLDER_ENTRIES = {".git"}
# The leak check's smallest region: shorter answers (`return x`) are everywhere and prove nothing.
MIN_REGION_CHARS = 12


@dataclass
class File:
    content: bytes
    executable: bool = False


@dataclass
class Publication:
    """What one ``make publish`` writes, decided before anything touches the disk."""

    upto: str                                   # the newest notebook released (a slug)
    repo: str                                   # owner/name on GitHub
    branch: str
    notebooks: list[str]                        # slugs, in course order
    modules: list[str]                          # library file names, e.g. "gpt.py"
    files: dict[str, File] = field(default_factory=dict)

    @property
    def number(self) -> int:
        return int(self.upto[:2])


# -- deciding what is released ---------------------------------------------------------------------

def released_notebooks(upto: str, root: Path) -> list[str]:
    """Every notebook of the course up to and including ``upto``."""
    return [slug for slug in slugs(root) if int(slug[:2]) <= int(upto[:2])]


def released_modules(upto: str, root: Path) -> list[str]:
    """The library files learners of ``upto`` may have: the same rule as the grading sandbox."""
    visible = visible_library_modules(upto, root)
    return sorted(p.name for p in (root / "fromscratch").glob("*.py") if p.stem in visible)


def check_repo(repo: str, branch: str) -> None:
    if not REPO.match(repo):
        raise CourseError(f"REPO={repo!r} is not a GitHub repository written owner/name (e.g. my-org/ml-course)")
    if not BRANCH.match(branch):
        raise CourseError(f"BRANCH={branch!r} is not a branch name")


def resolve_upto(upto: str, root: Path) -> str:
    """``12``, ``12-cnn`` -> ``12-cnn``, a notebook that exists in ``solutions/``."""
    try:
        return resolve_slug(upto, root)
    except CourseError:
        raise CourseError(f"UPTO={upto!r} names no notebook in solutions/ "
                          f"(known: {', '.join(s[:2] for s in slugs(root)) or 'none'})") from None


# -- building the files ----------------------------------------------------------------------------

def stamped_learner_notebook(slug: str, repo: str, branch: str, root: Path) -> bytes:
    """The learner version ``make release`` generated, its launch links pointing at ``repo``.

    The badges and the Colab install sit in locked cells, so nbgrader's checksum of each cell
    that changes is computed again (Validate would otherwise call it tampered with).
    """
    path = release_path(slug, root)
    if not path.is_file():
        raise CourseError(f"notebooks/{slug}: missing; run `make release`")
    nb = read(path)
    if not stamp(nb, slug, where=(repo, branch)):
        return path.read_bytes()                 # already points at repo: exactly the generated file
    for cell in nb.cells:
        grading = cell.metadata.get("nbgrader", {})
        if "checksum" in grading:
            grading["checksum"] = compute_checksum(cell)
    return (nbformat.writes(nb) + "\n").encode()


def course_file_tree(name: str, root: Path) -> dict[str, File]:
    """A file or folder of the course, as is (without caches and checkpoints)."""
    top = root / name
    paths = [top] if top.is_file() else sorted(
        p for p in top.rglob("*") if p.is_file()
        and not any(part.startswith((".", "__pycache__")) for part in p.relative_to(top).parts))
    return {p.relative_to(root).as_posix(): File(p.read_bytes(), bool(p.stat().st_mode & 0o111))
            for p in paths}


def committed_data_files(root: Path) -> list[str]:
    """``data/`` files the course commits (its README, small files it made); never downloads."""
    listed = subprocess.run(["git", "ls-files", "-z", "--", "data"], cwd=root,
                            capture_output=True, text=True)
    if listed.returncode == 0:
        return sorted(name for name in listed.stdout.split("\0") if name and (root / name).is_file())
    return ["data/README.md"] if (root / "data" / "README.md").is_file() else []


def stamped_pyproject(repo: str, branch: str, root: Path) -> bytes:
    """The course's pyproject.toml with its repository (and branch) replaced by the learner one's."""
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    course_repo, _ = repository(root) or (None, None)
    if course_repo is None:
        raise CourseError("pyproject.toml has no [tool.fromscratch] repository to replace")
    text = text.replace(course_repo, repo)
    text = re.sub(r'(?m)^branch = ".*"$', f'branch = "{branch}"', text)
    return text.encode()


def title(slug: str, root: Path) -> str:
    """``Convolutional networks`` from the first heading (``# 12 · Convolutional networks``) of the title cell."""
    nb = read(release_path(slug, root))
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            heading = next((line for line in cell.source.splitlines() if line.startswith("#")), slug)
            return re.sub(r"^#+\s*(\d\d\s*·\s*)?", "", heading).strip()   # the map has its own number column
    return slug


def learner_readme(pub: Publication, root: Path) -> bytes:
    rows = "\n".join(
        f"| {slug[:2]} | [{title(slug, root)}](notebooks/{slug}/{slug}.ipynb) | "
        f"[Colab]({colab_url(pub.repo, pub.branch, slug)}) · [Binder]({binder_url(pub.repo, pub.branch, slug)}) |"
        for slug in pub.notebooks)
    newest = pub.notebooks[-1]
    past_due = [m[:-3] for m in pub.modules if m[:-3] not in exporter.HAND_WRITTEN]
    return f"""# From Scratch: the learners' repository

[![Binder](https://mybinder.org/badge_logo.svg)]({binder_url(pub.repo, pub.branch)})

Your course's notebooks, released one at a time: this repository holds {len(pub.notebooks)} of them,
up to **{newest}**. Open one on Colab or Binder from the map below, or on your own machine:

```bash
python3 -m venv .venv && .venv/bin/pip install -e .
.venv/bin/jupyter lab --notebook-dir=notebooks
```

## Course map (released so far)

| # | notebook | open it |
|---|---|---|
{rows}

## Working on a notebook

1. Fill each cell that says `# YOUR CODE HERE` / `raise NotImplementedError()` (and
   `YOUR ANSWER HERE` for written answers).
2. Run the test cell below each exercise: a failing test says what it checked, what it expected,
   what it got, and a hint. Hidden tests run only when your instructor grades.
3. Check the whole notebook at once: `python -m autograder check notebooks/{newest}/{newest}.ipynb`.
4. Submit the way your instructor tells you (nbgrader's Assignments tab, or an upload).

## The library

`import fromscratch` gives the course library. Once a notebook's deadline has passed, its
reference code joins the library, so later notebooks build on it rather than on your own
attempt: {", ".join(f"`fromscratch.{m}`" for m in past_due) or "none yet"}.
""".encode()


def build(upto: str, repo: str | None = None, branch: str | None = None,
          root: Path | None = None) -> Publication:
    """Every file of the publication, in memory; raises ``CourseError`` on bad input."""
    root = root or course_root()
    course_repo, course_branch = repository(root) or (None, "main")
    repo, branch = repo or course_repo or "", branch or course_branch
    check_repo(repo, branch)
    upto = resolve_upto(upto, root)
    pub = Publication(upto, repo, branch, released_notebooks(upto, root), released_modules(upto, root))
    for slug in pub.notebooks:                  # nbgrader's release folder, with the notebook re-stamped
        pub.files.update(course_file_tree(f"notebooks/{slug}", root))
        pub.files[f"notebooks/{slug}/{slug}.ipynb"] = File(stamped_learner_notebook(slug, repo, branch, root))
    for name in pub.modules:
        pub.files[f"fromscratch/{name}"] = File((root / "fromscratch" / name).read_bytes())
    for name in COURSE_FILES:
        if not (root / name).exists():
            raise CourseError(f"{name}: missing from the course, and learners need it")
        pub.files.update(course_file_tree(name, root))
    for name in committed_data_files(root):
        pub.files[name] = File((root / name).read_bytes())
    pub.files["pyproject.toml"] = File(stamped_pyproject(repo, branch, root))
    pub.files["README.md"] = File(learner_readme(pub, root))
    return pub


# -- the leak check --------------------------------------------------------------------------------

def _normalized(text: str) -> str:
    """Lines stripped of indentation, blank ones dropped: a region matches wherever it was pasted."""
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())


def marked_regions(source: str, begin: str, end: str) -> list[str]:
    """The text between each ``begin`` and ``end`` marker line of a cell."""
    found = re.findall(re.escape(begin) + r"[^\n]*\n(.*?)^[ \t]*" + re.escape(end), source, re.S | re.M)
    return [region for region in map(_normalized, found) if region]


def answers_and_hidden_tests(slug: str, root: Path) -> tuple[set[str], set[str]]:
    """A solution notebook's solution regions and hidden-test regions, normalized."""
    cells = read(solution_path(slug, root)).cells

    def long_regions(begin: str, end: str) -> set[str]:
        return {region for cell in cells for region in marked_regions(cell.source, begin, end)
                if len(region) >= MIN_REGION_CHARS}
    return long_regions(BEGIN_SOLUTION, END_SOLUTION), long_regions(BEGIN_HIDDEN, END_HIDDEN)


def readable_text(path: str, content: bytes) -> str:
    """What a file says: a notebook's cell sources and outputs, any other file's text."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return ""
    if not path.endswith(".ipynb"):
        return text
    parts = []
    for cell in nbformat.reads(text, as_version=4).cells:
        parts.append(cell.source)
        for output in cell.get("outputs", []):
            parts.append(str(output.get("text", "")) + json.dumps(output.get("data", {})))
    return "\n".join(parts)


def find_leaks(files: dict[str, bytes], upto: str, root: Path | None = None) -> list[str]:
    """Everything in ``files`` that learners of ``upto`` must not see yet; empty when clean.

    * no solution notebook, mutant or hidden test of any notebook;
    * no library module of ``upto`` or a later notebook;
    * no solution region of ``upto`` or a later notebook (unless an earlier notebook, past due,
      has the very same answer).
    """
    root = root or course_root()
    number = int(upto[:2])
    later = [s for s in slugs(root) if int(s[:2]) >= number]
    earlier = [s for s in slugs(root) if int(s[:2]) < number]
    leaks = [f"{path}: course-only folder" for path in files if path.split("/")[0] in ("solutions", "mutants")]
    later_modules = {f"fromscratch/{exporter.module_name(s, root)}.py": s for s in later}
    leaks += [f"{path}: the library module of {later_modules[path]}" for path in files if path in later_modules]

    texts = {path: _normalized(readable_text(path, content)) for path, content in files.items()}
    regions = {slug: answers_and_hidden_tests(slug, root) for slug in slugs(root)}
    past_due = set().union(*(regions[s][0] for s in earlier))
    secrets = {region: f"a hidden test of {slug}" for slug in regions for region in regions[slug][1]}
    secrets.update({region: f"a solution of {slug}" for slug in later for region in regions[slug][0] - past_due})
    for path, text in texts.items():
        lines = f"\n{text}\n"                   # whole lines only: `x + 1` is no leak in `y = x + 10`
        leaks += [f"{path}: {what}" for region, what in secrets.items() if f"\n{region}\n" in lines]
        if path.endswith(".ipynb") and (BEGIN_SOLUTION in text or BEGIN_HIDDEN in text):
            leaks.append(f"{path}: a solution or hidden-test marker")
    return leaks


def missing_imports(files: dict[str, bytes]) -> list[str]:
    """Library modules that a published notebook or module imports but the publication lacks."""
    problems = []
    for path, content in sorted(files.items()):
        if not (path.endswith(".ipynb") or path.startswith("fromscratch/")):
            continue
        sources = [c.source for c in nbformat.reads(content.decode(), as_version=4).cells
                   if c.cell_type == "code"] if path.endswith(".ipynb") else [content.decode()]
        for module in sorted(set().union(*map(library_imports, sources))):
            if f"fromscratch/{module}.py" not in files:
                problems.append(f"{path}: imports fromscratch.{module}, which is not published")
    return problems


# -- writing ---------------------------------------------------------------------------------------

def earlier_publication(dest: Path) -> dict | None:
    """The manifest of the publication already in ``dest``; None for a fresh folder.

    Refuses a folder that holds anything else: publishing must never overwrite someone's work.
    """
    if not dest.exists():
        return None
    if not dest.is_dir():
        raise CourseError(f"{dest} exists and is not a folder")
    manifest = dest / MANIFEST
    if manifest.is_file():
        try:
            return json.loads(manifest.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise CourseError(f"{manifest} is unreadable; publish into a new folder") from None
    if {p.name for p in dest.iterdir()} <= FRESH_FOLDER_ENTRIES:
        return None
    raise CourseError(f"{dest} exists and is not an earlier publication (no {MANIFEST}); "
                      "give DEST an empty folder or a clone of an empty repository")


def check_destination(dest: Path, pub: Publication, earlier: dict | None) -> None:
    if earlier and int(earlier["upto"][:2]) > pub.number:
        raise CourseError(f"{dest} is published up to {earlier['upto']} already; UPTO={pub.upto} would take "
                          "back notebooks and answers learners have (publish into a new folder to start over)")
    ours = set(earlier["files"]) if earlier else set()
    for path in sorted(pub.files):
        if (dest / path).exists() and path not in ours:
            raise CourseError(f"{dest / path} exists and was not written by make publish; move it away first")


def write(dest: Path, pub: Publication, earlier: dict | None) -> None:
    """Replace the earlier publication's files with this one's; nothing else in ``dest`` is touched."""
    for stale in sorted(set(earlier["files"] if earlier else []) - set(pub.files)):
        (dest / stale).unlink(missing_ok=True)
    for path, file in sorted(pub.files.items()):
        target = dest / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(file.content)
        target.chmod(0o755 if file.executable else 0o644)
    manifest = {"repository": pub.repo, "branch": pub.branch, "upto": pub.upto,
                "notebooks": pub.notebooks, "files": sorted(pub.files)}
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")


def publish(upto: str, repo: str | None = None, dest: Path | None = None, branch: str | None = None,
            root: Path | None = None) -> Path:
    """Write (or bring forward) the learner repository in ``dest``; print what changed."""
    root = root or course_root()
    pub = build(upto, repo, branch, root)
    dest = Path(dest) if dest else root / "build" / "publish" / pub.repo.split("/")[1]
    earlier = earlier_publication(dest)
    check_destination(dest, pub, earlier)
    contents = {path: file.content for path, file in pub.files.items()}
    problems = find_leaks(contents, pub.upto, root) + missing_imports(contents)
    if problems:
        raise CourseError(f"refusing to publish: {problems[0]} ({len(problems)} problem(s) in all)")
    write(dest, pub, earlier)
    added = sorted(set(pub.files) - set(earlier["files"] if earlier else []))
    print(f"published {pub.notebooks[0]} .. {pub.upto} ({len(pub.notebooks)} notebooks) and "
          f"{len(pub.modules)} library modules for {pub.repo}@{pub.branch} into {dest}")
    if earlier:
        print(f"new since {earlier['upto']}: {', '.join(added) or 'nothing'}")
    print(f"leak check: {len(contents)} files, no solution, hidden test or later module")
    course_repo = (repository(root) or ("",))[0]
    if course_repo != pub.repo:
        print(f"note: the course's own notebooks link to {course_repo}; set [tool.fromscratch] repository "
              f"to {pub.repo} in pyproject.toml and run `make release` to make nbgrader's copies match")
    print(f"next: cd {dest} && git add -A && git commit -m 'Release {pub.upto}' && git push")
    return dest
