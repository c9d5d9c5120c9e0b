"""Benchmark: notebook 19's Llama-style decoder against notebook 18's GPT, same parameters, same wall time.

    make bench-modern                  # or: python benchmarks/modern.py [--budget 180] [--threads 1]

Trains, one after the other in this process and from scratch, notebook 18's GPT (``GPTConfig()``,
809,856 parameters for the 65 characters of Tiny Shakespeare) and a ``ModernGPT`` of the same depth,
width, query heads and context (4 layers, width 128, 4 heads, context 64) with 2 key/value heads and
the SwiGLU hidden size (a multiple of 8) that brings its parameter count closest to the GPT's, its head
tied to the embedding as in the GPT, and RoPE in the interleaved layout (one complex product). Both
use notebook 18's recipe unchanged (``TrainSettings()``: AdamW, peak learning rate 6e-3, warmup-cosine,
batch 12, the same seeded batches) for the same wall-clock budget (``--budget``, 180 s by default,
the course's default), and both are measured the same way: the loss over the WHOLE validation split
(the last 10% of the text, cut into consecutive windows of 64 characters: 111,488 predicted tokens).

The two models are trained **in lockstep**: one optimizer step of the GPT, one of the modern model,
and so on, each with a clock of its own that counts only the wall time spent on its own steps and
evaluations. Each stops when its own clock reaches the budget (its learning-rate schedule runs on
that clock, exactly as notebook 18's ``train`` does with a time budget, evaluations included). So
both meet the same machine at the same moments: on a shared machine whose load comes and goes (the
course's 2-core machines, shared with other programs, took 55 ms for a step one minute and 135 ms
the next) a sequential race would hand one model a quiet minute and the other a busy one.
``--sequential`` runs notebook 18's ``train`` twice, one model after the other, instead.

Printed for each model: validation loss, its own wall seconds, optimizer steps, tokens per second
and the parameter count, and the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import torch

from fromscratch.data import load_tiny_shakespeare
from fromscratch.gpt import (GPT, CharTokenizer, GPTConfig, TrainSettings, configure_optimizer, estimate_loss,
                             get_batch, lr_at, split_loss, train, train_val_split)
from fromscratch.modern_architecture import ModernConfig, ModernGPT
from fromscratch.runtime import fastest_thread_count
from fromscratch.transformer_block import count_parameters


def load_average() -> str:
    try:
        return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:  # pragma: no cover - not on every platform
        return "n/a"


def matched_modern_config(gpt_config: GPTConfig, n_kv_head: int) -> ModernConfig:
    """The ModernConfig with the GPT's depth, width, heads and context whose parameter count is closest to
    the GPT's, by choice of the SwiGLU hidden size (a multiple of 8)."""
    target = count_parameters(GPT(gpt_config))
    sizes = dict(vocab_size=gpt_config.vocab_size, block_size=gpt_config.block_size, n_layer=gpt_config.n_layer,
                 n_head=gpt_config.n_head, n_kv_head=n_kv_head, d_model=gpt_config.d_model, tie_embeddings=True,
                 rope_interleaved=True)   # tied head as in the GPT; interleaved RoPE: one complex product
    per_hidden_unit = gpt_config.n_layer * 3 * gpt_config.d_model       # one row or column of gate, up and down
    without_ff = count_parameters(ModernGPT(ModernConfig(**sizes, d_hidden=8))) - 8 * per_hidden_unit
    d_hidden = max(8, 8 * round((target - without_ff) / per_hidden_unit / 8))
    return ModernConfig(**sizes, d_hidden=d_hidden)


def training_steps(model, train_ids, val_ids, settings: TrainSettings):
    """Notebook 18's ``train`` with a time budget, as a generator: each ``next()`` runs one optimizer step (and
    the evaluation that falls due) and yields the model's own clock, the wall time spent inside this generator.
    Same schedule, batches, clipping and optimizer; the evaluations estimate the validation loss only (``train``
    also estimates the training loss). Returns the history when its own clock has reached the budget."""
    s = settings
    own = 0.0                                                   # seconds spent on this model so far
    resumed = time.perf_counter()
    min_lr = s.max_lr / 10 if s.min_lr is None else s.min_lr
    block_size = model.config.block_size
    optimizer = configure_optimizer(model, s.max_lr, s.weight_decay, s.betas)
    batches = torch.Generator().manual_seed(s.seed)
    history = {"val_loss": [], "eval_seconds": []}

    def clock():
        return own + time.perf_counter() - resumed

    def evaluate():
        same_batches = torch.Generator().manual_seed(s.seed + 1)
        history["val_loss"].append(estimate_loss(model, val_ids, block_size, s.batch_size, s.eval_batches, same_batches))
        history["eval_seconds"].append(clock())

    model.train()
    started = clock()
    evaluate()
    length = max(s.time_budget - 2.5 * (clock() - started), 0.5 * s.time_budget)   # room for the final evaluation
    step, evals_done = 0, 0
    while clock() < length:
        lr = lr_at(clock(), s.max_lr, min_lr, s.warmup * length, length)
        for group in optimizer.param_groups:
            group["lr"] = lr
        x, y = get_batch(train_ids, block_size, s.batch_size, batches)
        _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), s.grad_clip)
        optimizer.step()
        step += 1
        if evals_done + 1 < s.n_evals and clock() / length >= (evals_done + 1) / s.n_evals:
            evals_done += 1
            evaluate()
        own = clock()
        yield own                                                # the other model takes its turn
        resumed = time.perf_counter()
    evaluate()
    seconds = clock()
    tokens = step * s.batch_size * block_size
    history.update(steps=step, seconds=seconds, tokens=tokens, tokens_per_second=tokens / seconds)
    return history


def race(makers: dict, train_ids, val_ids, budget, seed) -> list[dict]:
    """Train the models in lockstep (one step each in turn), each for `budget` seconds of its own clock."""
    load_before = load_average()
    models, runs, histories = {}, {}, {}
    for name, make in makers.items():
        torch.manual_seed(seed)
        models[name] = make()
        runs[name] = training_steps(models[name], train_ids, val_ids, TrainSettings(time_budget=budget, seed=seed))
    report, clocks = time.perf_counter(), {name: 0.0 for name in makers}
    while runs:
        for name in list(runs):
            try:
                clocks[name] = next(runs[name])
            except StopIteration as done:
                histories[name] = done.value
                clocks[name] = done.value["seconds"]
                del runs[name]
        if time.perf_counter() - report > 30:
            report = time.perf_counter()
            print("  own clocks: " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in clocks.items()), flush=True)
    load_after = load_average()
    return [{"name": name, "val_loss": split_loss(models[name], val_ids), "seconds": h["seconds"], "steps": h["steps"],
             "tokens_per_second": h["tokens_per_second"], "parameters": count_parameters(models[name]),
             "estimate": h["val_loss"][-1], "load_before": load_before, "load_after": load_after}
            for name, h in histories.items()]


def run_once(name, make_model, train_ids, val_ids, budget, seed, progress) -> dict:
    torch.manual_seed(seed)
    model = make_model()
    load_before = load_average()
    history = train(model, train_ids, val_ids, TrainSettings(time_budget=budget, seed=seed, progress=progress))
    val_loss = split_loss(model, val_ids)
    return {"name": name, "val_loss": val_loss, "seconds": history["seconds"], "steps": history["steps"],
            "tokens_per_second": history["tokens_per_second"], "parameters": count_parameters(model),
            "load_before": load_before, "load_after": load_average()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=TrainSettings().time_budget,
                        help="wall-clock training budget per model, in seconds (default: 180)")
    parser.add_argument("--kv-heads", type=int, default=2, help="key/value heads of the modern model (default: 2)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="train each model this many times, alternating the order (default: 1)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: 1 or all, whichever trains the modern model faster here)")
    parser.add_argument("--sequential", action="store_true",
                        help="train one model after the other with notebook 18's train() instead of in lockstep")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)

    text = load_tiny_shakespeare()
    tokenizer = CharTokenizer(text)
    ids = torch.tensor(tokenizer.encode(text), dtype=torch.long)
    train_ids, val_ids = train_val_split(ids, val_fraction=0.1)
    gpt_config = GPTConfig(vocab_size=tokenizer.vocab_size)
    modern_config = matched_modern_config(gpt_config, args.kv_heads)
    models = {"GPT (notebook 18)": lambda: GPT(gpt_config), "ModernGPT (notebook 19)": lambda: ModernGPT(modern_config)}
    if args.threads is None:   # as notebook 18 does: time a training step with 1 thread and with all of them
        x, y = get_batch(train_ids, gpt_config.block_size, TrainSettings().batch_size, torch.Generator().manual_seed(0))
        threads, timings = fastest_thread_count(models["ModernGPT (notebook 19)"], x, y)
        print("one training step of the modern model: "
              + ", ".join(f"{n} threads {1000 * s:.1f} ms" for n, s in timings.items()))
    else:
        threads = args.threads
    torch.set_num_threads(threads)
    print(f"torch {torch.__version__}, training with {torch.get_num_threads()} threads, {os.cpu_count()} CPUs, "
          f"{platform.processor() or platform.machine()}; load average now {load_average()}")
    print(f"GPT: {gpt_config.n_layer} layers, {gpt_config.n_head} heads, width {gpt_config.d_model}, context "
          f"{gpt_config.block_size}, LayerNorm, learned positions, GELU 4d, tied head")
    print(f"ModernGPT: {modern_config.n_layer} layers, {modern_config.n_head} query heads, {modern_config.n_kv_head} "
          f"kv heads, width {modern_config.d_model}, context {modern_config.block_size}, RMSNorm, RoPE, SwiGLU "
          f"{modern_config.d_hidden}, tied head, interleaved RoPE, fused RMSNorm")
    print(f"recipe for both: notebook 18's TrainSettings() for {args.budget:g} s each; validation loss over the whole "
          f"split ({(len(val_ids) - 1) // gpt_config.block_size * gpt_config.block_size:,} predicted tokens)")

    order = list(models)
    results = []
    for round_ in range(args.rounds if not args.sequential else 0):
        print(f"\nround {round_ + 1}: both models in lockstep, {args.budget:g} s of their own time each ...", flush=True)
        makers = models if round_ % 2 == 0 else dict(reversed(list(models.items())))   # who steps first
        for result in race(makers, train_ids, val_ids, args.budget, args.seed):
            results.append(result)
            print(f"  {result['name']}: validation loss {result['val_loss']:.4f}, {result['steps']:,} steps, "
                  f"{result['tokens_per_second']:,.0f} tokens/s; load average {result['load_before']} -> "
                  f"{result['load_after']}", flush=True)
    for round_ in range(args.rounds if args.sequential else 0):
        for name in (order if round_ % 2 == 0 else order[::-1]):
            print(f"\ntraining {name} for {args.budget:g} s ...", flush=True)
            started = time.perf_counter()
            result = run_once(name, models[name], train_ids, val_ids, args.budget, args.seed, not args.quiet)
            results.append(result)
            print(f"  validation loss {result['val_loss']:.4f}, {result['steps']:,} steps, "
                  f"{result['tokens_per_second']:,.0f} tokens/s, {time.perf_counter() - started:.0f} s with the "
                  f"measurement; load average {result['load_before']} -> {result['load_after']}", flush=True)

    print(f"\n{'model':<25} {'params':>9} {'wall s':>7} {'steps':>7} {'tokens/s':>9} {'val loss':>9}  load before -> after")
    for r in results:
        print(f"{r['name']:<25} {r['parameters']:>9,} {r['seconds']:>7.1f} {r['steps']:>7,} {r['tokens_per_second']:>9,.0f} "
              f"{r['val_loss']:>9.4f}  {r['load_before']} -> {r['load_after']}")
    best = {name: min(r["val_loss"] for r in results if r["name"] == name) for name in order}
    mean = {name: sum(r["val_loss"] for r in results if r["name"] == name) / args.rounds for name in order}
    gpt_name, modern_name = order
    ratio = count_parameters(ModernGPT(modern_config)) / count_parameters(GPT(gpt_config)) - 1
    print(f"parameters: modern {ratio:+.1%} against the GPT")
    verdict = "reaches a LOWER" if mean[modern_name] < mean[gpt_name] else "does NOT reach a lower"
    print(f"the modern model {verdict} validation loss in the same time: {mean[modern_name]:.4f} against "
          f"{mean[gpt_name]:.4f} (mean over {args.rounds} round(s); best {best[modern_name]:.4f} against "
          f"{best[gpt_name]:.4f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
