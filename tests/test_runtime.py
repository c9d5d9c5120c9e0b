"""The budget/seed/device helper every notebook's setup cell calls."""

import random

import numpy as np
import pytest

from fromscratch import runtime


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("FROMSCRATCH_BUDGET", raising=False)


def test_default_budget_when_nothing_is_set():
    assert runtime.current_budget() == "default"


@pytest.mark.parametrize("budget", runtime.BUDGETS)
def test_budget_from_environment(monkeypatch, budget):
    monkeypatch.setenv("FROMSCRATCH_BUDGET", budget.upper())
    assert runtime.current_budget() == budget


def test_nbgrader_execution_forces_smoke(monkeypatch):
    monkeypatch.setenv("FROMSCRATCH_BUDGET", "full")
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert runtime.current_budget() == "smoke"
    assert runtime.pick(smoke=1, default=2, full=3) == 1


def test_unknown_budget_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("FROMSCRATCH_BUDGET", "huge")
    with pytest.raises(ValueError, match="smoke, default, full"):
        runtime.current_budget()


def test_pick_full_falls_back_to_default(monkeypatch):
    monkeypatch.setenv("FROMSCRATCH_BUDGET", "full")
    assert runtime.pick(smoke=1, default=2) == 2
    assert runtime.pick(smoke=1, default=2, full=3) == 3


def test_seeding_repeats_python_numpy_and_torch():
    import torch  # imported, so setup_notebook seeds it too

    def draw():
        runtime.setup_notebook(seed=123, quiet=True)
        return random.random(), np.random.rand(), float(torch.rand(1))

    first, second = draw(), draw()
    assert first == second
    runtime.setup_notebook(seed=124, quiet=True)
    assert (random.random(), np.random.rand()) != first[:2]


def test_device_is_cpu_here_and_forcing_an_absent_one_fails():
    import torch

    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert runtime.choose_device() in {expected, "mps"}
    assert runtime.choose_device("cpu") == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="not available"):
            runtime.choose_device("cuda")


def test_setup_prints_one_line(capsys, monkeypatch):
    monkeypatch.setenv("FROMSCRATCH_BUDGET", "smoke")
    run = runtime.setup_notebook(seed=7)
    out = capsys.readouterr()
    assert out.out.strip() == f"budget=smoke  seed=7  device={run.device}"
    assert out.err == ""
    assert run.pick(smoke="s", default="d") == "s"


def test_full_budget_without_a_gpu_says_so(capsys, monkeypatch):
    monkeypatch.setenv("FROMSCRATCH_BUDGET", "full")
    run = runtime.setup_notebook(seed=0)
    out = capsys.readouterr().out
    if run.device == "cpu":
        assert "sized for a GPU" in out
    else:
        assert "sized for a GPU" not in out
