"""The runs behind notebook 23's scaling law: a family of course GPTs trained on Tiny Shakespeare.

    make scaling-runs                  # or: python benchmarks/scaling_runs.py [--steps 1000] [--threads 1]

Trains notebook 18's GPT (``fromscratch.gpt``) at seven sizes, from 6.6 thousand to 0.79 million
non-embedding parameters (120x), every one for the same number of tokens (1000 steps of 32
windows of 64 characters: 2.05 M tokens, about two passes over the training split) with the
same recipe (AdamW, warmup-cosine, peak learning rate 6e-3, no dropout). Writes one row per model
to ``data/scaling-runs.csv``: its settings, its parameters (all, and non-embedding as Kaplan et al.
2020 count them), the tokens it saw, C = 6ND, the wall seconds, the training loss (estimated on
20 random batches) and the validation loss over the whole validation split (the last 10% of the
text, every token predicted once). The notebook fits L(N) = E + A / N^alpha to the six smaller
models (role "fit") and predicts the largest (role "heldout") before looking at it.

At the end it prints that fit, made here with SciPy's ``curve_fit`` (a reference the notebook's
own least squares is compared with), and the held-out prediction against the measurement.

The number of steps is fixed, not the time, so that the table does not depend on how busy the
machine is; only the wall seconds do (the committed table took 25 minutes on the course's 2-core machine
while other jobs shared it; one thread per run).
The file is written to a temporary name and renamed into place, so an interrupted run leaves the
old table or none.
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from fromscratch.data import load_tiny_shakespeare
from fromscratch.gpt import GPT, CharTokenizer, GPTConfig, TrainSettings, split_loss, train, train_val_split
from fromscratch.transformer_block import count_parameters

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "data" / "scaling-runs.csv"

# (n_layer, n_head, d_model): deeper and wider together, as Kaplan et al. scale their models.
FAMILY = [(2, 2, 16), (2, 2, 24), (2, 4, 32), (3, 4, 48), (3, 4, 64), (4, 4, 96)]
HELD_OUT = [(4, 4, 128)]          # notebook 18's model: predicted from the six above, then measured

COLUMNS = ["name", "role", "n_layer", "n_head", "d_model", "block_size", "batch_size", "steps", "max_lr", "seed",
           "parameters", "non_embedding_parameters", "tokens", "flops", "wall_seconds", "threads",
           "train_loss", "val_loss"]


def non_embedding_parameters(model: GPT) -> int:
    """All parameters except the token and position embedding tables (the output layer is tied to the first)."""
    return count_parameters(model) - model.tok_emb.weight.numel() - model.pos_emb.weight.numel()


def train_one(shape, role, train_ids, val_ids, vocab_size, args) -> dict:
    n_layer, n_head, d_model = shape
    torch.manual_seed(args.seed)
    config = GPTConfig(vocab_size=vocab_size, block_size=args.block_size, n_layer=n_layer, n_head=n_head,
                       d_model=d_model)
    model = GPT(config)
    settings = TrainSettings(batch_size=args.batch_size, max_lr=args.max_lr, max_steps=args.steps, n_evals=4,
                             eval_batches=20, seed=args.seed, progress=not args.quiet)
    started = time.perf_counter()
    history = train(model, train_ids, val_ids, settings)
    seconds = time.perf_counter() - started
    n = non_embedding_parameters(model)
    return {"name": f"L{n_layer}-d{d_model}", "role": role, "n_layer": n_layer, "n_head": n_head,
            "d_model": d_model, "block_size": args.block_size, "batch_size": args.batch_size, "steps": args.steps,
            "max_lr": args.max_lr, "seed": args.seed, "parameters": count_parameters(model),
            "non_embedding_parameters": n, "tokens": history["tokens"], "flops": 6 * n * history["tokens"],
            "wall_seconds": round(seconds, 1), "threads": torch.get_num_threads(),
            "train_loss": round(history["train_loss"][-1], 4), "val_loss": round(split_loss(model, val_ids), 4)}


def write_table(rows: list[dict], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        os.chmod(temporary, 0o644)                 # mkstemp makes it private; the table is for everyone (the sandbox too)
        with os.fdopen(handle, "w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def summarize(rows: list[dict]) -> None:
    """Fit E + A / N^alpha to the 'fit' rows with SciPy and predict the held-out ones."""
    from scipy.optimize import curve_fit

    fit = [r for r in rows if r["role"] == "fit"]
    n = np.array([r["non_embedding_parameters"] for r in fit], dtype=float)
    loss = np.array([r["val_loss"] for r in fit], dtype=float)

    def law(n, e, a, alpha):
        return e + a * n ** -alpha

    (e, a, alpha), _ = curve_fit(law, n, loss, p0=(1.0, 10.0, 0.3), maxfev=20_000)
    print(f"\nfit (scipy.optimize.curve_fit) on {len(fit)} models, N = {n.min():,.0f} .. {n.max():,.0f}: "
          f"L(N) = {e:.4f} + {a:.4g} / N^{alpha:.4f}")
    print(f"{'model':>10} {'N':>9} {'tokens':>10} {'seconds':>8} {'train':>7} {'val':>7} {'fit/pred':>9} {'error':>7}")
    for r in rows:
        predicted = law(r["non_embedding_parameters"], e, a, alpha)
        error = (predicted - r["val_loss"]) / r["val_loss"]
        print(f"{r['name']:>10} {r['non_embedding_parameters']:>9,} {r['tokens']:>10,} {r['wall_seconds']:>8.1f} "
              f"{r['train_loss']:>7.4f} {r['val_loss']:>7.4f} {predicted:>9.4f} {error:>+7.2%}  {r['role']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1000, help="optimizer steps per model (default 1000)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--block-size", type=int, default=64)
    parser.add_argument("--max-lr", type=float, default=6e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1: small models on a "
                                                                "shared 2-core machine train fastest on one)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"the table to write (default {DEFAULT_OUT})")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    text = load_tiny_shakespeare()
    tokenizer = CharTokenizer(text)
    ids = torch.tensor(tokenizer.encode(text), dtype=torch.long)
    train_ids, val_ids = train_val_split(ids, val_fraction=0.1)
    print(f"Tiny Shakespeare: {len(train_ids):,} training / {len(val_ids):,} validation characters; "
          f"{args.steps} steps x {args.batch_size} x {args.block_size} = "
          f"{args.steps * args.batch_size * args.block_size:,} tokens per model; torch {torch.__version__}, "
          f"{torch.get_num_threads()} thread(s)", flush=True)
    rows = []
    for role, shapes in (("fit", FAMILY), ("heldout", HELD_OUT)):
        for shape in shapes:
            print(f"\n{role}: n_layer={shape[0]}, n_head={shape[1]}, d_model={shape[2]}", flush=True)
            row = train_one(shape, role, train_ids, val_ids, tokenizer.vocab_size, args)
            rows.append(row)
            print(f"  N = {row['non_embedding_parameters']:,} non-embedding parameters, {row['wall_seconds']} s, "
                  f"train {row['train_loss']:.4f}, validation {row['val_loss']:.4f}", flush=True)
            write_table(rows, args.out)            # after every model: an interrupted run keeps what it made
    print(f"\nwrote {args.out} ({len(rows)} rows)")
    summarize(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
