"""How a generated library module is laid out, so that it reads like a hand-written one.

In the notebook every exported cell carries its own imports (a cell must run on its own); in
the module they are hoisted into one block at the top, merged and sorted as isort would write
them. The module's docstring is the notebook's title with its "What you will build" and "What
this notebook follows" paragraphs, and each exported block sits under a comment naming the
section of the notebook it comes from.
"""

from __future__ import annotations

import ast
import re
import sys
import textwrap

BUILD_PARAGRAPH, FOLLOWS_PARAGRAPH = "**What you will build", "**What this notebook follows"


# -- imports ---------------------------------------------------------------------------------------
def split_imports(code: str) -> tuple[list[ast.stmt], str]:
    """A block's top-level import statements, and the block without them."""
    tree = ast.parse(code)
    imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    dropped = {line for node in imports for line in range(node.lineno, node.end_lineno + 1)}
    kept = [line for number, line in enumerate(code.splitlines(), start=1) if number not in dropped]
    return imports, "\n".join(kept).strip("\n")


def _section(module: str) -> int:
    """isort's sections: __future__, the standard library, third-party packages, the course itself."""
    top = module.split(".")[0]
    if top == "__future__":
        return 0
    if top in sys.stdlib_module_names:
        return 1
    return 3 if top in ("fromscratch", "autograder") else 2


def _by_type(alias: tuple[str, str | None]) -> tuple:
    """isort's order_by_type: CONSTANTS, then Classes, then functions and modules."""
    name = alias[0]
    kind = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    return kind, name.lower(), alias


def import_block(imports: list[ast.stmt]) -> str:
    """One statement per module (``from x import a, b`` with the names merged), sections apart."""
    plain: set[tuple[str, str | None]] = set()
    named: dict[tuple[str, int], set[tuple[str, str | None]]] = {}
    for node in imports:
        aliases = {(alias.name, alias.asname) for alias in node.names}
        if isinstance(node, ast.Import):
            plain |= aliases
        else:
            named.setdefault((node.module or "", node.level), set()).update(aliases)
    statements = [(_section(name), name, 0, f"import {name}" + (f" as {asname}" if asname else ""))
                  for name, asname in plain]
    for (module, level), aliases in named.items():
        names = ", ".join(name + (f" as {asname}" if asname else "")
                          for name, asname in sorted(aliases, key=_by_type))
        statements.append((_section(module), module, 1, f"from {'.' * level}{module} import {names}"))
    lines, previous = [], None
    for section, _, _, text in sorted(statements, key=lambda s: (s[0], s[2], s[1].lower())):  # isort: import, then from
        if previous is not None and section != previous:
            lines.append("")
        lines.append(text)
        previous = section
    return "\n".join(lines)


# -- words from the notebook -------------------------------------------------------------------------
def plain_text(markdown: str) -> str:
    """Markdown prose as plain text: no emphasis or code marks, links reduced to their words."""
    text = re.sub(r"<!--.*?-->", "", markdown, flags=re.S)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"\*\*|`", "", text).strip()


def module_docstring(nb) -> str:
    """The title cell's heading and its chosen paragraphs, wrapped, as a docstring."""
    title_cell = next((cell for cell in nb.cells if cell.cell_type == "markdown"), None)
    if title_cell is None:
        return ""
    title = next((line.lstrip("#").strip() for line in title_cell.source.splitlines() if line.startswith("# ")), "")
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", title_cell.source)]
    chosen = [textwrap.fill(" ".join(plain_text(p).split()), width=96)
              for p in paragraphs if p.startswith(BUILD_PARAGRAPH)]
    follows = next((i for i, p in enumerate(paragraphs) if p.startswith(FOLLOWS_PARAGRAPH)), None)
    if follows is not None and follows + 1 < len(paragraphs):
        chosen.append("Follows:\n" + "\n".join(textwrap.fill(cited, width=96, initial_indent="- ",
                                                               subsequent_indent="  ")
                                                 for cited in citations(paragraphs[follows + 1])))
    text = "\n\n".join([title, *chosen]).replace("\\", "\\\\").replace('"""', "'''")
    return f'"""{text}\n"""'


def citations(markdown_list: str) -> list[str]:
    """Each item of a reference list, up to the end of its (italic) title: who, when, what."""
    items = [" ".join(item.split()) for item in re.split(r"(?:^|\n)- ", markdown_list) if item.strip()]
    return [plain_text(re.match(r"^(.*?\*[^*]+\*|[^.]*\.)", item).group(1)).replace("*", "") for item in items]


def section_label(nb, index: int) -> str:
    """The nearest heading above cell ``index``: the exercise or section an export comes from."""
    for cell in reversed(nb.cells[:index]):
        if cell.cell_type == "markdown":
            heading = next((line for line in cell.source.splitlines() if line.startswith("#")), None)
            if heading:
                return plain_text(heading.lstrip("#").strip())
    return "exported"


def labelled(label: str, code: str) -> str:
    return f"# -- {label} ".ljust(100, "-") + "\n" + code
