"""Budget, seed and device for a notebook: the one helper every setup cell calls.

A notebook's sizes follow a *budget*:

* ``smoke``   - whole notebook in at most 20 s on 2 CPU cores (CI, and whenever nbgrader executes);
* ``default`` - at most 3 min and 1.5 GB on 2 CPU cores, so it runs on Binder;
* ``full``    - the real results, on a GPU.

The budget comes from ``FROMSCRATCH_BUDGET``; when nbgrader executes a notebook it sets
``NBGRADER_EXECUTION`` and the budget is always ``smoke``, whatever else is set.
"""

from __future__ import annotations

import os
import random
import sys
from dataclasses import dataclass

BUDGETS = ("smoke", "default", "full")


def current_budget() -> str:
    """The budget this process runs under."""
    if os.environ.get("NBGRADER_EXECUTION"):
        return "smoke"
    budget = os.environ.get("FROMSCRATCH_BUDGET", "default").strip().lower() or "default"
    if budget not in BUDGETS:
        raise ValueError(
            f"FROMSCRATCH_BUDGET={budget!r} is not a budget; use one of {', '.join(BUDGETS)}"
        )
    return budget


def pick(smoke, default, full=None):
    """The value for the current budget: ``pick(smoke=100, default=10_000, full=1_000_000)``.

    ``full`` falls back to ``default`` for notebooks that have nothing bigger to show.
    """
    choice = {"smoke": smoke, "default": default, "full": default if full is None else full}
    return choice[current_budget()]


def _torch():
    """PyTorch if the notebook imported it (import it before ``setup_notebook``), else None.

    Importing torch costs a second or two; notebooks that never use it should not pay that.
    """
    return sys.modules.get("torch")


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and (when the notebook uses it) PyTorch, so every run repeats exactly."""
    random.seed(seed)
    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy is a course dependency
        pass
    else:
        np.random.seed(seed)
    torch = _torch()
    if torch is not None:
        torch.manual_seed(seed)


def choose_device(prefer: str | None = None) -> str:
    """``cuda``, then ``mps``, then ``cpu``; ``prefer`` forces one (and must be available).

    Without PyTorch imported there is only the CPU.
    """
    torch = _torch()
    available = {"cpu"}
    if torch is not None:
        if torch.cuda.is_available():
            available.add("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            available.add("mps")
    if prefer is not None:
        if prefer not in available:
            raise ValueError(
                f"device {prefer!r} is not available here (available: {', '.join(sorted(available))})"
            )
        return prefer
    for device in ("cuda", "mps", "cpu"):
        if device in available:
            return device
    return "cpu"  # pragma: no cover


@dataclass(frozen=True)
class NotebookSetup:
    budget: str
    seed: int
    device: str

    def pick(self, smoke, default, full=None):
        return pick(smoke, default, full)


def setup_notebook(seed: int = 0, device: str | None = None, quiet: bool = False) -> NotebookSetup:
    """Seed everything, choose the device, read the budget; print one line saying so."""
    seed_everything(seed)
    run = NotebookSetup(budget=current_budget(), seed=seed, device=choose_device(device))
    if not quiet:
        print(f"budget={run.budget}  seed={run.seed}  device={run.device}")
        if run.budget == "full" and run.device == "cpu":
            print("note: the full budget is sized for a GPU; on this CPU it will be slow")
    return run
