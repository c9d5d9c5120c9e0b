"""Notebook 21's training pipeline (fromscratch.training_pipeline) against real interruptions.

The scenarios run the pipeline in real subprocesses (a small GPT with dropout, 16 steps, one
thread) and compare them with an uninterrupted run (made in this process, one thread too):

* SIGTERM after a random step, then SIGINT after a later random step of the resumed run: each
  time the worker finishes the step, writes a checkpoint and exits cleanly; a third process
  finishes the run, and the final parameters are bit-identical (``torch.equal``) to the
  uninterrupted run's, its TensorBoard log too;
* ``kill -9`` in the middle of a checkpoint write: the worker is blocked deterministically after
  writing half of the second checkpoint's bytes (a wrapper around ``os.fdopen`` in the worker
  only), so the kill lands mid-write every time; the previous checkpoint must still load, and
  a resumed run must again end bit-identical.

Plus quick in-process checks of the library's contracts (damaged files, another configuration,
gradient accumulation, the precision choice). Linux only (signals, /proc).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from fromscratch import training_pipeline as tp
from fromscratch.gpt import GPT, GPTConfig

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="signals and /proc: Linux only")

MAX_STEPS = 16
CHECKPOINT_EVERY = 4

# The run every process makes: the reference (in this process) and the workers (subprocesses).
RUN = '''
import torch
from fromscratch.gpt import GPT, GPTConfig
from fromscratch import training_pipeline as tp


def make_run(init_seed, max_steps, checkpoint_every):
    torch.manual_seed(init_seed)             # a resumed run starts from other weights: all must come from the checkpoint
    model = GPT(GPTConfig(vocab_size=20, block_size=8, n_layer=1, n_head=2, d_model=16, dropout=0.1))
    data = torch.randint(20, (600,), generator=torch.Generator().manual_seed(1))
    val = torch.randint(20, (200,), generator=torch.Generator().manual_seed(2))
    settings = tp.PipelineSettings(batch_size=6, micro_batch_size=4, max_steps=max_steps, max_lr=3e-3, warmup_steps=3,
                                   checkpoint_every=checkpoint_every, log_every=1, eval_batches=2, precision="fp32",
                                   progress=False)
    return model, data, val, settings
'''

WORKER = RUN + '''
import json, os, sys, time
from pathlib import Path

torch.set_num_threads(1)                     # the reference run and every resumed run use the same kernels
run_dir, mode, arg, init_seed = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])


def announce(name, payload):
    # the parent polls for this file: write it whole (temporary name, then rename)
    temporary = run_dir / f".{name}.part"
    temporary.write_text(json.dumps(payload))
    os.replace(temporary, run_dir / name)


if mode == "block-save":                     # the arg-th checkpoint write stops half-way and waits to be killed
    real_fdopen, saves = os.fdopen, {"count": 0}

    class HalfWriter:
        def __init__(self, file):
            self.file = file

        def __enter__(self):
            return self

        def __exit__(self, *exc_info):
            self.file.close()

        def write(self, data):
            half = len(data) // 2
            self.file.write(data[:half])
            self.file.flush()
            os.fsync(self.file.fileno())
            announce("blocked", {"written": half, "total": len(data)})
            time.sleep(120)                   # the parent sends SIGKILL long before this ends
            raise SystemExit(4)

        def __getattr__(self, name):
            return getattr(self.file, name)

    def fdopen(fd, *args, **kwargs):
        file = real_fdopen(fd, *args, **kwargs)
        if os.path.basename(os.readlink(f"/proc/self/fd/{fd}")).startswith(f".{tp.CHECKPOINT_NAME}."):
            saves["count"] += 1
            if saves["count"] == arg:
                return HalfWriter(file)
        return file

    os.fdopen = fdopen

model, data, val, settings = make_run(init_seed, int(os.environ["WORKER_MAX_STEPS"]),
                                      int(os.environ["WORKER_CHECKPOINT_EVERY"]))
stop = tp.GracefulStop()


def pause_at(step, metrics):
    if mode == "pause" and step == arg:      # wait here until the parent's signal has arrived
        announce("paused", {"step": step})
        deadline = time.monotonic() + 60
        while stop.requested is None:
            if time.monotonic() > deadline:
                sys.exit(3)
            time.sleep(0.005)


result = tp.train_pipeline(model, data, run_dir, settings, val_data=val, on_step=pause_at, stop=stop)
if result["status"] == "finished":
    torch.save(model.state_dict(), run_dir / "final.pt")
print(json.dumps({k: result[k] for k in ("status", "step", "resumed_from", "signal")}), flush=True)
'''


@pytest.fixture(scope="module")
def worker(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("worker") / "worker.py"
    path.write_text(WORKER)
    return path


def start(worker: Path, run_dir: Path, mode: str, arg: int = 0, init_seed: int = 0) -> subprocess.Popen:
    env = {**os.environ, "WORKER_MAX_STEPS": str(MAX_STEPS), "WORKER_CHECKPOINT_EVERY": str(CHECKPOINT_EVERY),
           "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    run_dir.mkdir(parents=True, exist_ok=True)
    for marker in ("paused", "blocked"):
        (run_dir / marker).unlink(missing_ok=True)
    return subprocess.Popen([sys.executable, str(worker), str(run_dir), mode, str(arg), str(init_seed)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def finish(process: subprocess.Popen, timeout: float = 120) -> dict:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, f"worker exited with {process.returncode}:\n{err[-3000:]}"
    return json.loads(out.strip().splitlines()[-1])


def wait_for(path: Path, process: subprocess.Popen, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"worker ended ({process.returncode}) before {path.name}:\n{process.stderr.read()[-3000:]}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"worker did not reach {path.name} within {timeout} s")
        time.sleep(0.01)
    return json.loads(path.read_text())


class NoSignals:
    """Stands in for GracefulStop in this process: pytest keeps its own signal handlers."""

    requested = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        return False


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict:
    """The uninterrupted run, in this process with one thread like the workers: final parameters and scalars."""
    namespace: dict = {}
    exec(RUN, namespace)
    run_dir = tmp_path_factory.mktemp("reference")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model, data, val, settings = namespace["make_run"](0, MAX_STEPS, CHECKPOINT_EVERY)
        result = tp.train_pipeline(model, data, run_dir, settings, val_data=val, stop=NoSignals())
    finally:
        torch.set_num_threads(threads)
    assert result["status"] == "finished" and result["step"] == MAX_STEPS
    return {"params": {k: v.clone() for k, v in model.state_dict().items()},
            "scalars": tp.read_scalars(run_dir / "tensorboard")}


def assert_same_as_reference(run_dir: Path, reference: dict, context: str) -> None:
    params = torch.load(run_dir / "final.pt", weights_only=True)
    assert params.keys() == reference["params"].keys()
    differing = [name for name in params if not torch.equal(params[name], reference["params"][name])]
    assert not differing, f"{context}: parameters differ from the uninterrupted run: {differing}"
    scalars = tp.read_scalars(run_dir / "tensorboard")
    for tag in ("train/loss", "train/lr", "train/grad_norm", "val/loss"):
        assert scalars[tag] == reference["scalars"][tag], f"{context}: TensorBoard {tag} differs"
    assert [s for s, _ in scalars["train/loss"]] == list(range(1, MAX_STEPS + 1))


def stop_with(worker: Path, run_dir: Path, signum: signal.Signals, stop_at: int, resumed_from: int, init_seed: int):
    """A worker that pauses after step `stop_at` receives `signum`; it must checkpoint that step and exit cleanly."""
    context = f"{signum.name} after step {stop_at}"
    process = start(worker, run_dir, "pause", stop_at, init_seed)
    assert wait_for(run_dir / "paused", process) == {"step": stop_at}
    process.send_signal(signum)
    result = finish(process)
    assert result == {"status": "stopped", "step": stop_at, "resumed_from": resumed_from, "signal": int(signum)}, context
    state = tp.decode_checkpoint((run_dir / tp.CHECKPOINT_NAME).read_bytes(), "checkpoint")
    assert state["step"] == stop_at, f"{context}: the checkpoint written on the signal holds step {state['step']}"


def test_sigterm_then_sigint_at_random_steps_then_resume_is_bit_identical(worker, reference, tmp_path):
    chooser = random.Random()
    first = chooser.randint(1, MAX_STEPS // 2)                    # SIGTERM (kill PID, a scheduler) after this step ...
    second = chooser.randint(first + 1, MAX_STEPS - 1)            # ... and SIGINT (Ctrl+C) in the resumed run
    stop_with(worker, tmp_path, signal.SIGTERM, first, resumed_from=0, init_seed=0)
    stop_with(worker, tmp_path, signal.SIGINT, second, resumed_from=first, init_seed=1)
    resumed = finish(start(worker, tmp_path, "full", init_seed=2))
    assert resumed == {"status": "finished", "step": MAX_STEPS, "resumed_from": second, "signal": None}
    assert_same_as_reference(tmp_path, reference, f"SIGTERM after step {first}, SIGINT after step {second}")


def test_kill_9_in_the_middle_of_a_checkpoint_write_leaves_the_previous_one(worker, reference, tmp_path):
    victim = start(worker, tmp_path, "block-save", arg=2)          # the write at step 8 stops half-way
    blocked = wait_for(tmp_path / "blocked", victim)
    victim.kill()                                                  # SIGKILL: no handler, no cleanup
    victim.wait(timeout=30)
    assert victim.returncode == -signal.SIGKILL
    leftovers = list(tmp_path.glob(f".{tp.CHECKPOINT_NAME}.*.tmp"))
    assert len(leftovers) == 1 and leftovers[0].stat().st_size == blocked["written"] < blocked["total"], \
        "the kill did not land in the middle of the write"
    state = tp.decode_checkpoint((tmp_path / tp.CHECKPOINT_NAME).read_bytes(), "checkpoint")
    assert state["step"] == CHECKPOINT_EVERY, "the previous checkpoint (step 4) must be the one on disk, whole"
    torch.manual_seed(5)
    model = GPT(GPTConfig(vocab_size=20, block_size=8, n_layer=1, n_head=2, d_model=16, dropout=0.1))
    assert tp.load_checkpoint(tmp_path / tp.CHECKPOINT_NAME, model)["step"] == CHECKPOINT_EVERY
    resumed = finish(start(worker, tmp_path, "full", init_seed=1))
    assert resumed == {"status": "finished", "step": MAX_STEPS, "resumed_from": CHECKPOINT_EVERY, "signal": None}
    assert not list(tmp_path.glob(f".{tp.CHECKPOINT_NAME}.*.tmp")), "the stale temporary file was not removed"
    assert_same_as_reference(tmp_path, reference, "kill -9 during the checkpoint write at step 8")


# --- in-process checks of the contracts ---------------------------------------------------------

def tiny_gpt(seed: int = 0, **sizes) -> GPT:
    torch.manual_seed(seed)
    return GPT(GPTConfig(**{**dict(vocab_size=20, block_size=8, n_layer=1, n_head=2, d_model=16), **sizes}))


def test_damaged_checkpoints_are_refused_and_the_model_is_untouched(tmp_path):
    model = tiny_gpt(0)
    path = tp.save_checkpoint(tp.make_checkpoint(model, None, None, None, 3, None, {"n_layer": 1}), tmp_path / "c.pt")
    blob = path.read_bytes()
    target = tiny_gpt(1)
    before = [p.detach().clone() for p in target.parameters()]
    for name, data in {"flipped.pt": blob[:-50] + bytes([blob[-50] ^ 4]) + blob[-49:], "cut.pt": blob[:len(blob) // 2],
                       "empty.pt": b""}.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(tp.CheckpointError, match=name):
            tp.load_checkpoint(tmp_path / name, target)
    with pytest.raises(tp.CheckpointError, match="n_layer: 1 in the checkpoint, 2 here"):
        tp.load_checkpoint(path, target, config={"n_layer": 2})
    with pytest.raises(tp.CheckpointError, match="tok_emb.weight"):
        tp.load_checkpoint(path, tiny_gpt(2, vocab_size=21))
    assert all(torch.equal(p, q) for p, q in zip(target.parameters(), before))
    assert sorted(os.listdir(tmp_path)) == ["c.pt", "cut.pt", "empty.pt", "flipped.pt"]


def test_accumulated_gradients_equal_the_large_batch_with_an_uneven_last_micro_batch():
    model = tiny_gpt(0)
    x = torch.randint(20, (11, 8), generator=torch.Generator().manual_seed(1))
    y = torch.randint(20, (11, 8), generator=torch.Generator().manual_seed(2))
    model.zero_grad()
    full = model(x, y)[1]
    full.backward()
    reference = [p.grad.clone() for p in model.parameters()]
    loss = tp.accumulate_gradients(model, x, y, micro_batch_size=4)     # 4, 4, 3
    assert loss == pytest.approx(full.item(), rel=1e-6)
    for p, want in zip(model.parameters(), reference):
        torch.testing.assert_close(p.grad, want, rtol=1e-5, atol=1e-6)


def test_precision_follows_the_device():
    assert tp.resolve_precision("auto", "cuda") == (torch.float16, True)
    assert tp.resolve_precision("auto", "cpu") == (torch.bfloat16, False)
    assert tp.resolve_precision("auto", "mps") == (None, False)
    with pytest.raises(ValueError, match="precision"):
        tp.resolve_precision("fp8", "cpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_float16_with_a_loss_scaler_trains_and_resumes(tmp_path):
    torch.manual_seed(0)
    data = torch.randint(20, (600,), generator=torch.Generator().manual_seed(1)).cuda()
    settings = tp.PipelineSettings(batch_size=6, micro_batch_size=4, max_steps=12, warmup_steps=3, checkpoint_every=4,
                                   log_every=1, precision="auto", progress=False)
    model = tiny_gpt(0).cuda()
    assert tp.train_pipeline(model, data, tmp_path / "straight", settings)["status"] == "finished"
    scalars = tp.read_scalars(tmp_path / "straight" / "tensorboard")
    assert "train/loss_scale" in scalars and scalars["train/loss"][-1][1] < scalars["train/loss"][0][1]
    state = tp.decode_checkpoint((tmp_path / "straight" / tp.CHECKPOINT_NAME).read_bytes())
    assert state["scaler"]["scale"] > 0 and state["rng"]["cuda"] is not None
