"""``make stress-audit``: grade solutions many times in parallel and report every stall.

A stall is a cell that hits a time limit, a kernel that dies or is restarted (the events
:mod:`autograder.execution` records), or a cell slower than ``--stall-seconds`` even though it
finished. Each repetition autogrades the chosen notebooks' solutions at once, one process each,
exactly as the audit does (sandboxed nbgrader), so a race between them shows up here first.

With ``--dump``, a watchdog looks at every grading kernel every few seconds; a kernel that has
used no CPU for ``--idle-seconds`` while its notebook is still being graded is waiting on
something, and ``py-spy dump`` of it and of the process grading it is saved under
``build/stress/`` (the evidence for a diagnosis, not a verdict).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from autograder.notebooks import course_root, resolve_slug

DEFAULT_NOTEBOOKS = ("10-backprop-numpy", "12-cnn")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def grade_solution(slug: str) -> dict:
    """One sandboxed nbgrader autograde of ``slug``'s solution: points, events, slowest cell."""
    from autograder import grading
    from autograder.notebooks import read, solution_path

    graded = grading.autograde(slug, {"solution": read(solution_path(slug))})["solution"]
    slowest = graded.cell_seconds[0] if graded.cell_seconds else (None, 0.0)
    return {"notebook": slug, "points": graded.points, "max_points": graded.max_points,
            "execution_seconds": round(graded.execution_seconds, 2), "seconds": round(graded.seconds, 2),
            "events": graded.events, "slowest_cell": slowest}


def stalls_in(result: dict, stall_seconds: float) -> list[str]:
    found = [f"cell {e['cell']}: {e['event']} ({e['detail']})" for e in result["events"]]
    index, seconds = result["slowest_cell"]
    if seconds > stall_seconds:
        found.append(f"cell {index} took {seconds:.1f} s (more than {stall_seconds:g} s)")
    if result["points"] != result["max_points"]:
        found.append(f"scored {result['points']:g}/{result['max_points']:g}")
    return found


# -- the watchdog ------------------------------------------------------------------------------------
def _cpu_ticks(pid: int) -> int | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])      # utime + stime of the whole process (all threads)


def _kernels() -> list[int]:
    pids = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if any(b"ipykernel_launcher" in arg for arg in argv) and b"bwrap" not in argv[0]:
            pids.append(int(cmdline.parent.name))
    return pids


def _ancestors(pid: int, depth: int = 6) -> list[int]:
    chain = []
    while depth and pid > 1:
        try:
            pid = int(next(line.split()[1] for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                           if line.startswith("PPid:")))
        except (OSError, StopIteration):
            break
        chain.append(pid)
        depth -= 1
    return chain


class Watchdog(threading.Thread):
    """Dumps the stacks of a kernel that sits idle mid-grading, and of the process grading it."""

    def __init__(self, out: Path, idle_seconds: float, interval: float = 2.0):
        super().__init__(daemon=True)
        self.out, self.idle_seconds, self.interval = out, idle_seconds, interval
        self.stop = threading.Event()
        self.dumps: list[Path] = []

    def run(self) -> None:
        seen: dict[int, tuple[int, float]] = {}     # pid -> (cpu ticks, since when unchanged)
        dumped: set[int] = set()
        while not self.stop.wait(self.interval):
            now = time.monotonic()
            for pid in _kernels():
                ticks = _cpu_ticks(pid)
                if ticks is None:
                    continue
                last = seen.get(pid)
                if last is None or last[0] != ticks:
                    seen[pid] = (ticks, now)
                elif now - last[1] > self.idle_seconds and pid not in dumped:
                    dumped.add(pid)
                    self.dumps.append(self._dump(pid, now - last[1]))

    def _dump(self, pid: int, idle: float) -> Path:
        path = self.out / f"stall-{pid}-{int(time.time())}.txt"
        parts = [f"kernel {pid} idle for {idle:.0f} s while grading\n"]
        for target in [pid] + [p for p in _ancestors(pid) if _is_python(p)][:1]:
            run = subprocess.run(["py-spy", "dump", "--pid", str(target), "--locals"],
                                 capture_output=True, text=True, timeout=60)
            parts.append(f"===== py-spy dump --pid {target}\n{run.stdout}{run.stderr}")
        path.write_text("\n".join(parts))
        print(f"  watchdog: kernel {pid} idle {idle:.0f} s; stacks in {path}", flush=True)
        return path


def _is_python(pid: int) -> bool:
    try:
        return b"python" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
    except OSError:
        return False


# -- the command -------------------------------------------------------------------------------------
def stress(notebooks: list[str], repeat: int, jobs: int, stall_seconds: float,
           dump: bool, idle_seconds: float) -> int:
    out = course_root() / "build" / "stress"
    out.mkdir(parents=True, exist_ok=True)
    watchdog = None
    if dump:
        if shutil.which("py-spy") is None and not Path(sys.executable).with_name("py-spy").exists():
            print("--dump needs py-spy (pip install py-spy)", file=sys.stderr)
            return 2
        os.environ["PATH"] = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
        watchdog = Watchdog(out, idle_seconds)
        watchdog.start()
    records, stalls = [], 0
    context = multiprocessing.get_context("spawn")     # no thread pools carried into the workers
    started = time.perf_counter()
    for rep in range(1, repeat + 1):
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            results = list(pool.map(grade_solution, notebooks))
        for result in results:
            found = stalls_in(result, stall_seconds)
            stalls += bool(found)
            records.append({"repetition": rep, **result, "stalls": found})
            status = "STALL " + "; ".join(found) if found else "ok"
            print(f"{rep:3d}  {result['notebook']:<28} {result['execution_seconds']:7.1f} s in the kernel, "
                  f"slowest cell {result['slowest_cell'][1]:6.1f} s  {status}", flush=True)
    if watchdog:
        watchdog.stop.set()
    (out / "stress.json").write_text(json.dumps(records, indent=2))
    print(f"stress: {len(records)} gradings of {', '.join(notebooks)} ({repeat} repetitions, {jobs} at once) "
          f"in {time.perf_counter() - started:.0f} s: {stalls} with a stall")
    return 1 if stalls else 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m autograder.stress", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("notebooks", nargs="*", default=list(DEFAULT_NOTEBOOKS))
    p.add_argument("--repeat", type=int, default=30)
    p.add_argument("-j", "--jobs", type=int, default=2, help="gradings at once (default 2)")
    p.add_argument("--stall-seconds", type=float, default=30.0,
                   help="a finished cell slower than this also counts as a stall (default 30)")
    p.add_argument("--dump", action="store_true", help="save py-spy stacks of kernels idle mid-grading")
    p.add_argument("--idle-seconds", type=float, default=15.0)
    args = p.parse_args(argv)
    notebooks = [resolve_slug(n) for n in args.notebooks]
    return stress(notebooks, args.repeat, args.jobs, args.stall_seconds, args.dump, args.idle_seconds)


if __name__ == "__main__":
    sys.exit(main())
