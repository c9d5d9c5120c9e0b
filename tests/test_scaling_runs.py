"""data/scaling-runs.csv (made by `make scaling-runs`) is consistent with itself and with notebook 23's library."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from fromscratch.scaling_laws import (fit_power_law, load_scaling_runs, non_embedding_parameters, predict_loss,
                                      training_flops)

TABLE = Path(__file__).resolve().parent.parent / "data" / "scaling-runs.csv"
needs_table = pytest.mark.skipif(not TABLE.is_file(), reason="data/scaling-runs.csv not made (make scaling-runs)")


@needs_table
def test_every_row_is_counted_and_costed_consistently():
    rows = load_scaling_runs(TABLE)
    assert {r["role"] for r in rows} == {"fit", "heldout"}
    for r in rows:
        assert r["non_embedding_parameters"] == non_embedding_parameters(r["n_layer"], r["d_model"])
        assert r["tokens"] == r["steps"] * r["batch_size"] * r["block_size"]
        assert r["flops"] == pytest.approx(training_flops(r["non_embedding_parameters"], r["tokens"]), rel=1e-12)
        assert 0 < r["val_loss"] < 4.2 and 0 < r["train_loss"] < 4.2     # below ln 65: every model learned
        assert r["wall_seconds"] > 0


@needs_table
def test_the_family_spans_thirty_times_and_the_held_out_model_is_larger():
    rows = load_scaling_runs(TABLE)
    fit = [r["non_embedding_parameters"] for r in rows if r["role"] == "fit"]
    held_out = [r["non_embedding_parameters"] for r in rows if r["role"] == "heldout"]
    assert len(fit) >= 4 and max(fit) / min(fit) >= 30
    assert held_out and min(held_out) > max(fit)
    assert len({r["tokens"] for r in rows}) == 1            # one D for all: the law at fixed data


@needs_table
def test_the_law_fitted_to_the_small_models_predicts_the_held_out_one_within_five_percent():
    rows = load_scaling_runs(TABLE)
    fit = [r for r in rows if r["role"] == "fit"]
    e, a, alpha = fit_power_law([r["non_embedding_parameters"] for r in fit], [r["val_loss"] for r in fit])
    for r in rows:
        if r["role"] == "heldout":
            predicted = predict_loss(r["non_embedding_parameters"], e, a, alpha)
            assert abs(predicted - r["val_loss"]) / r["val_loss"] <= 0.05


def test_load_scaling_runs_reads_numbers_as_numbers(tmp_path):
    path = tmp_path / "runs.csv"
    columns = ["name", "role", "n_layer", "n_head", "d_model", "block_size", "batch_size", "steps", "max_lr", "seed",
               "parameters", "non_embedding_parameters", "tokens", "flops", "wall_seconds", "threads",
               "train_loss", "val_loss"]
    with open(path, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(columns)
        writer.writerow(["L2-d16", "fit", 2, 2, 16, 64, 32, 10, 0.006, 0, 8656, 6592, 20480, 809902080.0, 1.5, 1,
                         3.1, 3.2])
    (row,) = load_scaling_runs(path)
    assert row["non_embedding_parameters"] == 6592 and isinstance(row["tokens"], int)
    assert row["val_loss"] == 3.2 and isinstance(row["max_lr"], float) and row["role"] == "fit"


def test_load_scaling_runs_says_how_to_make_a_missing_table(tmp_path):
    from fromscratch.data import DataUnavailable

    with pytest.raises(DataUnavailable, match="make scaling-runs"):
        load_scaling_runs(tmp_path / "nothing-here.csv")
