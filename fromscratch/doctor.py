"""``python -m fromscratch.doctor``: what this machine has, in a form to paste into a bug report.

Prints OK or FAIL for each package the course needs (with its version), the Python, the
device, the budget, and which data sets are available locally. Exits 1 if a package is missing.
"""

from __future__ import annotations

import importlib
import platform
import sys
from pathlib import Path

from fromscratch import data, runtime

PACKAGES = ["numpy", "matplotlib", "ipywidgets", "tqdm", "sklearn", "torch", "jupyterlab",
            "nbgrader", "nbformat", "nbclient", "papermill"]


def package_lines() -> tuple[list[str], int]:
    lines, missing = [], 0
    for name in PACKAGES:
        try:
            module = importlib.import_module(name)
        except Exception as error:  # noqa: BLE001 - any import failure is a finding
            missing += 1
            lines.append(f"FAIL  {name:12s} {type(error).__name__}: {error}")
        else:
            lines.append(f"OK    {name:12s} {getattr(module, '__version__', '?')}")
    return lines, missing


def data_lines() -> list[str]:
    lines = []
    for name, remote in sorted(data.REMOTES.items()):
        found = next((folder / remote.filename for folder in data.search_dirs()
                      if (folder / remote.filename).is_file()), None)
        lines.append(f"{'OK' if found else '--':5s} {name:20s} {found or 'not local (downloaded on first use)'}")
    return lines


def report() -> tuple[str, int]:
    packages, missing = package_lines()
    try:
        budget = runtime.current_budget()
    except ValueError as error:
        budget, missing = f"FAIL ({error})", missing + 1
    device = runtime.choose_device()  # torch, if installed, was imported above
    lines = [
        f"fromscratch doctor: Python {platform.python_version()} on {platform.system()} {platform.machine()}",
        f"course package: {Path(runtime.__file__).resolve().parent}",
        "", "packages:", *packages,
        "", f"device: {device}", f"budget: {budget}",
        "", "data (looked for in: " + ", ".join(str(p) for p in data.search_dirs()) + "):", *data_lines(),
    ]
    if budget == "full" and device == "cpu":
        lines.append("note: the full budget is sized for a GPU; none was found")
    return "\n".join(lines), missing


def main() -> int:
    text, missing = report()
    print(text)
    print(f"\n{'all packages present' if not missing else f'{missing} problem(s) found'}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
