"""Benchmark: notebook 31's DQN recipe against CleanRL's published CartPole-v1 configuration, replayed with our code.

    make bench-dqn            # or: python benchmarks/dqn.py [--seeds 0 1 2] [--replay-cap 200000] [--eval-every 1000]

For each seed, two agents are trained with ``fromscratch.dqn.train_dqn`` (the same loop, the same replay buffer,
the same evaluation):

* **ours**: ``DQNConfig()``, the notebook's recipe (64-64 MLP, Adam 1e-3, batch 64 every step, learning from step
  500, epsilon 1 -> 0.05 over 5,000 steps, hard target update every 250 steps, Double DQN, Huber loss);
* **CleanRL replay**: the hyperparameters of CleanRL's ``dqn.py`` for CartPole-v1 (Huang et al. 2022): learning
  rate 2.5e-4, buffer 10,000, batch 128, a hard target update every 500 steps (tau = 1), epsilon 1 -> 0.05 over
  half of 500,000 steps, learning from step 10,000, one update every 10 steps, gamma 0.99, a 120-84 MLP, Adam,
  the MSE loss, plain DQN targets. Only the hyperparameters are CleanRL's; the code is ours.

Both are checked the same way: every ``--eval-every`` environment steps the greedy policy plays 10 episodes
(reset seeds 10,000 ... 10,009); the run is **solved** at the first check whose mean return is at least 475 and
stops there. Reported: environment steps and wall-clock seconds (training and checks together) until then. The
replay is capped at ``--replay-cap`` steps (ours at ``--ours-cap``); a run that reaches its cap is reported as
"not solved by N". The goal: ours solves in fewer environment steps than the replay in at least 2 of 3 seeds.

The table is printed and written to data/bench-dqn.csv. Wall-clock seconds depend on the machine and on its
load (printed): on the course's shared 2-core machines they varied by a factor of several within an hour.
Environment steps do not: with one thread and the same seed a run repeats exactly.
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

import torch

from fromscratch.dqn import DQNConfig, train_dqn

CLEANRL = dict(hidden=(120, 84), learning_rate=2.5e-4, buffer_size=10_000, batch_size=128, learning_starts=10_000,
               train_every=10, target_every=500, tau=1.0, eps_start=1.0, eps_end=0.05, eps_duration=250_000,
               double=False, loss="mse", max_grad_norm=None, gamma=0.99)


def load_average() -> str:
    try:
        return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:  # pragma: no cover
        return "n/a"


def solve(config: DQNConfig, cap: int, eval_every: int) -> dict:
    _, history = train_dqn(config, max_steps=cap, eval_every=eval_every, eval_episodes=10, solve_score=475.0,
                           progress=False)
    best = max(history["eval_return"], default=float("nan"))
    return {"steps": history["solved_step"], "seconds": history["solved_seconds"], "ran_steps": history["steps"],
            "ran_seconds": history["seconds"], "best_eval": best}


def describe(result: dict, cap: int) -> str:
    if result["steps"] is None:
        return f"not solved by {cap:,} ({result['ran_seconds']:.0f} s, best {result['best_eval']:.0f})"
    return f"{result['steps']:,} steps, {result['seconds']:.1f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--eval-every", type=int, default=1_000)
    parser.add_argument("--ours-cap", type=int, default=100_000)
    parser.add_argument("--replay-cap", type=int, default=200_000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--csv", default=str(Path(__file__).resolve().parent.parent / "data" / "bench-dqn.csv"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"DQN on CartPole-v1: ours vs CleanRL's configuration (replayed with our code); solved = greedy mean >= 475 "
          f"over 10 episodes, checked every {args.eval_every:,} steps")
    print(f"torch {torch.__version__}, {args.threads} thread(s); load average at start: {load_average()}")
    rows = []
    for seed in args.seeds:
        ours = solve(DQNConfig(seed=seed), args.ours_cap, args.eval_every)
        print(f"  seed {seed}: ours   {describe(ours, args.ours_cap)}", flush=True)
        replay = solve(DQNConfig(seed=seed, **CLEANRL), args.replay_cap, args.eval_every)
        print(f"  seed {seed}: replay {describe(replay, args.replay_cap)}", flush=True)
        fewer = ours["steps"] is not None and (replay["steps"] is None or ours["steps"] < replay["steps"])
        rows.append({"seed": seed, "ours_steps": ours["steps"], "ours_seconds": ours["seconds"],
                     "replay_steps": replay["steps"], "replay_seconds": replay["seconds"],
                     "replay_cap": args.replay_cap, "replay_best_eval": replay["best_eval"],
                     "ours_fewer_steps": fewer})
    print()
    print(f"| seed | ours: steps | ours: seconds | CleanRL replay: steps | CleanRL replay: seconds |")
    print(f"|---|---|---|---|---|")
    for row in rows:
        def cell(steps, seconds, cap):
            return (f"{steps:,}", f"{seconds:.1f}") if steps is not None else (f"not solved by {cap:,}", "-")
        ours_steps, ours_seconds = cell(row["ours_steps"], row["ours_seconds"], args.ours_cap)
        replay_steps, replay_seconds = cell(row["replay_steps"], row["replay_seconds"], args.replay_cap)
        print(f"| {row['seed']} | {ours_steps} | {ours_seconds} | {replay_steps} | {replay_seconds} |")
    wins = sum(row["ours_fewer_steps"] for row in rows)
    print(f"\nours solved in fewer environment steps in {wins} of {len(rows)} seeds "
          f"(goal: at least 2 of 3: {'met' if wins >= 2 else 'NOT met'}); load average at the end: {load_average()}")
    Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
    with open(args.csv, "w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"written to {args.csv}")


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - start:.0f} s")
