"""Budget, seed, device and thread count for a notebook: the helpers every setup cell calls.

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
import time
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


# -- How many threads? Measure (notebook 18, section 6.2) ----------------------------------------
def step_seconds(make_model, x, y, repeats=8, threads=None, make_optimizer=None):
    """Median wall time, in seconds, of one training step (forward, backward, optimizer step) of a
    fresh ``make_model()`` on the batch ``(x, y)``, with ``threads`` torch threads (None: as set now).

    The model's ``forward(x, y)`` returns ``(logits, loss)``. ``make_optimizer(model)`` builds the
    optimizer (default: AdamW at 1e-3). The caller's thread count is restored afterwards.
    """
    torch = _torch()
    if torch is None:
        raise RuntimeError("step_seconds times a PyTorch model: import torch first")
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        model = make_model()
        optimizer = (make_optimizer or (lambda m: torch.optim.AdamW(m.parameters(), lr=1e-3)))(model)
        times = []
        for _ in range(repeats + 2):               # the first two steps warm up caches and allocators
            started = time.perf_counter()
            _, loss = model(x, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            times.append(time.perf_counter() - started)
    finally:
        torch.set_num_threads(previous)
    times = sorted(times[2:])
    return times[len(times) // 2]                  # the median: one slow step (another program) does not count


def fastest_thread_count(make_model, x, y, candidates=None, repeats=8, rounds=2, make_optimizer=None):
    """Time a training step with each thread count in ``candidates`` (default: 1 and torch's current
    count), interleaved over ``rounds`` so that a change in the machine's load affects all alike.

    Returns (the fastest count, {count: best median seconds}).
    """
    torch = _torch()
    if torch is None:
        raise RuntimeError("fastest_thread_count times a PyTorch model: import torch first")
    if candidates is None:
        candidates = sorted({1, torch.get_num_threads()})
    timings = {n: float("inf") for n in candidates}
    for _ in range(rounds):
        for n in candidates:
            timings[n] = min(timings[n], step_seconds(make_model, x, y, repeats, threads=n,
                                                      make_optimizer=make_optimizer))
    return min(timings, key=timings.get), timings
