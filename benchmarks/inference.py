"""Benchmark: notebook 20's inference tools (fromscratch.inference) on the course's CPU.

    make bench-inference            # or: python benchmarks/inference.py [--threads N] [--stream 10000]

Three measurements, printed as a table:

1. **KV cache.** Tokens per second of ``ModernGPT.generate`` (notebook 19: the whole context recomputed at
   every step) and of ``generate_cached`` (prefill once, then one position per token) for 256 new tokens
   after a 256-token prompt, so that generation ends at the full trained context of 512. The model is a
   ModernGPT of 4 layers, width 128, 4 query and 2 key/value heads, context 512, untrained: the cost of a
   forward pass does not depend on the values of the weights. Both draw with the same seeded generator,
   and the script checks that they write the same tokens. Best of ``--repeats`` runs each, interleaved.
   The goal: the cache at least 3x as fast.
2. **Sink cache memory.** ``streaming_forward`` through a ``SinkKVCache`` of 4 sinks and a window of 60
   (a context of 64) for ``--stream`` tokens (10,000 by default): the bytes the cache holds after every
   step. The goal: flat once full, never above 4 + 60 positions.
3. **Speculative decoding.** Notebook 20's default target (4 layers, width 128) and draft (1 layer,
   width 64), trained on Tiny Shakespeare (cached by fromscratch.stages after the first run, about a
   minute and a half of training otherwise): 24 continuations of 56 characters for each draft length;
   acceptance rate, tokens per target pass and target passes per token.

Everything runs on one thread unless ``--threads`` says otherwise (the notebook does the same): the
threads of a small decoder meet at a barrier after every tiny operation, and on the course's shared
2-core machines a second thread made a cached decoding step some 20 times slower, not faster.
"""

from __future__ import annotations

import argparse
import os
import time

import torch

from fromscratch.inference import (SinkKVCache, generate_cached, load_char_model, shakespeare_ids,
                                   speculative_generate, streaming_forward)
from fromscratch.modern_architecture import ModernConfig, ModernGPT

TARGET = dict(block_size=64, n_layer=4, n_head=4, n_kv_head=2, d_model=128, steps=500, batch_size=16,
              max_lr=6e-3, seed=0)     # notebook 20's default budget
DRAFT = dict(block_size=64, n_layer=1, n_head=4, n_kv_head=2, d_model=64, steps=400, batch_size=16,
             max_lr=6e-3, seed=1)


def load_average() -> str:
    try:
        return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:  # pragma: no cover
        return "n/a"


def bench_cache(repeats: int) -> None:
    torch.manual_seed(0)
    model = ModernGPT(ModernConfig(vocab_size=65, block_size=512, n_layer=4, n_head=4, n_kv_head=2,
                                   d_model=128)).eval()
    prompt = torch.randint(0, 65, (1, 256), generator=torch.Generator().manual_seed(0))
    n_new = 256
    best = {"recompute": float("inf"), "cache": float("inf")}
    outputs = {}
    for _ in range(repeats):                             # interleaved, so both meet the same load
        for name, fn in (("recompute", model.generate), ("cache", generate_cached)):
            args = (prompt, n_new) if name == "recompute" else (model, prompt, n_new)
            t0 = time.perf_counter()
            outputs[name] = fn(*args, generator=torch.Generator().manual_seed(1))
            best[name] = min(best[name], time.perf_counter() - t0)
    same = torch.equal(outputs["recompute"], outputs["cache"])
    speedup = best["recompute"] / best["cache"]
    print("1. KV cache: 256 new tokens after a 256-token prompt (context 512), 4 layers, width 128")
    for name in best:
        print(f"   {name:10s} {n_new / best[name]:8.1f} tokens/s  ({best[name]:.2f} s, best of {repeats})")
    print(f"   speed-up {speedup:.1f}x (goal >= 3x: {'met' if speedup >= 3 else 'NOT met'}); "
          f"same tokens with the same seed: {same}")


@torch.no_grad()
def bench_sinks(n_tokens: int) -> None:
    torch.manual_seed(0)
    model = ModernGPT(ModernConfig(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_kv_head=2,
                                   d_model=128)).eval()
    cache = SinkKVCache(len(model.blocks), 4, 60)
    tokens = torch.randint(0, 65, (n_tokens,), generator=torch.Generator().manual_seed(0))
    held, t0 = [], time.perf_counter()
    for t in range(n_tokens):
        streaming_forward(model, tokens[t].view(1, 1), cache)
        held.append(cache.nbytes())
    seconds = time.perf_counter() - t0
    full = held[63:]
    per_position = held[0]
    print(f"2. Sink cache (4 sinks + window 60) over {n_tokens:,} tokens: {n_tokens / seconds:.0f} tokens/s")
    print(f"   bytes after step 64: min {min(full):,}, max {max(full):,} (= {max(held) // per_position} positions "
          f"x {per_position:,} bytes); a cache that never evicts would hold {per_position * n_tokens:,} bytes")
    print(f"   flat: {min(full) == max(full) and max(held) == 64 * per_position}")


def bench_speculative(lengths: list[int]) -> None:
    tokenizer, _, val_ids = shakespeare_ids()
    target = load_char_model("inference-target", TARGET, tokenizer.vocab_size)
    draft = load_char_model("inference-draft", DRAFT, tokenizer.vocab_size)
    prompts = [val_ids[i:i + 8][None] for i in range(0, 24 * 997, 997)]
    n_new = TARGET["block_size"] - 8
    tokens = len(prompts) * n_new
    t0 = time.perf_counter()
    for i, p in enumerate(prompts):
        target.generate(p, n_new, generator=torch.Generator().manual_seed(i))
    plain = time.perf_counter() - t0
    print(f"3. Speculative decoding, target {TARGET['n_layer']} layers x {TARGET['d_model']}, draft "
          f"{DRAFT['n_layer']} layer x {DRAFT['d_model']}: {len(prompts)} continuations of {n_new} characters")
    print(f"   target alone: 1.00 target passes per token, {plain:.2f} s")
    for k in lengths:
        totals, t0 = dict(target_calls=0, draft_calls=0, drafted=0, accepted=0), time.perf_counter()
        for i, p in enumerate(prompts):
            _, stats = speculative_generate(target, draft, p, n_new, n_draft=k,
                                            generator=torch.Generator().manual_seed(i))
            for key in totals:
                totals[key] += stats[key]
        seconds = time.perf_counter() - t0
        print(f"   k={k}: acceptance {totals['accepted'] / totals['drafted']:.3f}, "
              f"{tokens / totals['target_calls']:.2f} tokens per target pass = "
              f"{totals['target_calls'] / tokens:.3f} target passes per token, {seconds:.2f} s wall")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: decoding one position of a small model is too little work to "
                             "share; with 2 threads on a shared 2-core machine one cached step took 47 ms, with 1 2 ms)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each generator in part 1")
    parser.add_argument("--stream", type=int, default=10_000, help="tokens streamed through the sink cache")
    parser.add_argument("--draft-lengths", type=int, nargs="+", default=[1, 2, 4, 6])
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, load average {load_average()}")
    bench_cache(args.repeats)
    bench_sinks(args.stream)
    bench_speculative(args.draft_lengths)
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
