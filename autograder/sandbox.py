"""A throwaway sandbox for every kernel that grades a submission.

nbgrader runs learner code with the grader's rights. Here the kernel nbgrader starts is wrapped
in bubblewrap (``bwrap``): its own mount namespace showing only the system, the Python
installation, the course library of *earlier* notebooks and a private copy of the submission's
folder (without any notebook file: the one being graded holds the hidden tests); no network; a
new PID namespace that dies with the kernel; an unprivileged user; and ``prlimit`` caps on
memory, CPU time, processes and file size. The kernel talks to nbgrader over Unix sockets in a
folder bound into the sandbox (``transport = "ipc"``), so nbgrader still does the grading.

Where the sandbox cannot start (not Linux, no bubblewrap), grading refuses with a clear message
unless the instructor sets ``FROMSCRATCH_UNSAFE_GRADING=1`` (``make grade UNSAFE=1``).
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from functools import cache
from pathlib import Path

from traitlets import Integer

import autograder
import fromscratch
from autograder.exporter import importable_modules
from autograder.integrity import KEY_FILE_VARIABLE
from autograder.kernel_client import PromptKernelManager
from autograder.notebooks import CourseError, course_root

UNSAFE_VARIABLE = "FROMSCRATCH_UNSAFE_GRADING"
FIRST_UID = 60000          # root grades every kernel as its own uid from 60000 on, so process limits are per kernel
UID_SLOTS = 1000
UID_LOCKS = Path(tempfile.gettempdir()) / "fromscratch-grading-uids"
KEPT_VARIABLES = ("LANG", "LC_ALL", "NBGRADER_EXECUTION", "FROMSCRATCH_BUDGET", "FROMSCRATCH_DATA",
                  "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MPLBACKEND",
                  "PYTHONHASHSEED")


class SandboxUnavailable(CourseError):
    """The sandbox cannot start here, and unsafe grading was not asked for."""


def unsafe_allowed() -> bool:
    return os.environ.get(UNSAFE_VARIABLE, "") not in ("", "0")


@cache
def sandbox_problem() -> str | None:
    """Why the sandbox cannot start on this machine, or None when it can."""
    if not sys.platform.startswith("linux"):
        return f"the grading sandbox needs Linux (bubblewrap); this is {sys.platform}"
    missing = [tool for tool in ("bwrap", "prlimit", "setpriv") if shutil.which(tool) is None]
    if missing:
        return (f"the grading sandbox needs {', '.join(missing)} "
                "(Debian/Ubuntu: sudo apt-get install bubblewrap util-linux)")
    trial = subprocess.run(["bwrap", *_namespaces(), "--ro-bind", "/", "/", "--", "true"],
                           capture_output=True, text=True)
    if trial.returncode != 0:
        return f"bubblewrap cannot create a sandbox here: {trial.stderr.strip() or trial.returncode}"
    return None


def require_sandbox() -> bool:
    """True when grading is sandboxed; raises unless unsafe grading was asked for explicitly."""
    problem = sandbox_problem()
    if problem is None:
        return True
    if unsafe_allowed():
        print(f"WARNING: grading WITHOUT a sandbox ({problem}); learner code runs with your rights",
              file=sys.stderr)
        return False
    raise SandboxUnavailable(f"refusing to grade: {problem}. Set {UNSAFE_VARIABLE}=1 "
                             "(make grade UNSAFE=1) to grade without a sandbox, at your own risk.")


def _namespaces() -> list[str]:
    user = [] if os.getuid() == 0 else ["--unshare-user", "--uid", "65534", "--gid", "65534"]
    return ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", *user]


def _processes_of(uid: int) -> list[int]:
    pids = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            real_uid = next(line.split()[1] for line in status.read_text().splitlines() if line.startswith("Uid:"))
        except (OSError, StopIteration):     # the process ended while we looked
            continue
        if int(real_uid) == uid:
            pids.append(int(status.parent.name))
    return pids


def end_processes_of(uid: int, timeout: float = 30.0) -> bool:
    """Kill every process of ``uid`` and wait until none is left; False if some outlive ``timeout``.

    A grading uid belongs to one sandbox at a time, so whatever still runs under it when a kernel
    starts is left over from an earlier one: a fork bomb's children, dying slowly on a busy
    machine, would otherwise use up the process limit of the next kernel before it starts.
    """
    deadline = time.monotonic() + timeout
    while pids := _processes_of(uid):
        if time.monotonic() > deadline:
            return False
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)
    return True


class GradingUid:
    """An unprivileged uid for one sandbox, held (an flock) from its first kernel start to its removal.

    Root only. Every sandbox gets its own uid, even across concurrent grading runs, so one
    submission's processes never count against another's limit, and killing "everything of this
    uid" can only hit what this sandbox started.
    """

    def __init__(self):
        UID_LOCKS.mkdir(mode=0o700, exist_ok=True)
        for slot in range(UID_SLOTS):
            fd = os.open(UID_LOCKS / f"{slot}.lock", os.O_CREAT | os.O_RDWR, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:          # another sandbox, in this process or another, holds it
                os.close(fd)
                continue
            if end_processes_of(FIRST_UID + slot):
                self.fd, self.uid = fd, FIRST_UID + slot
                return
            os.close(fd)                     # leftovers that will not die: try the next uid
        raise SandboxUnavailable(f"all {UID_SLOTS} grading uids from {FIRST_UID} on are in use")

    def release(self) -> None:
        end_processes_of(self.uid)
        os.close(self.fd)


def visible_library_modules(slug: str, root: Path | None = None) -> set[str]:
    """Library modules a submission of ``slug`` may import: those of earlier notebooks."""
    return importable_modules(slug, root)


class Sandbox:
    """The folder behind one kernel's sandbox and the command that enters it."""

    def __init__(self, workdir: Path, limits: dict[str, int]):
        self.workdir = workdir.resolve()
        self.limits = limits
        self.home = Path(tempfile.mkdtemp(prefix="fromscratch-sandbox-"))
        self.home.chmod(0o755)
        self.ipc = self.home / "ipc"            # the kernel's sockets and connection file
        self.work = self.home / "work"          # the submission folder, minus notebooks
        self.library = self.home / "fromscratch"
        self.grading_uid = GradingUid() if os.getuid() == 0 else None
        self.uid = self.grading_uid.uid if self.grading_uid else os.getuid()
        self.ipc.mkdir()
        shutil.copytree(self.workdir, self.work, ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))
        self._copy_library(self.workdir.name)
        if os.getuid() == 0:
            for path in (self.ipc, self.work, *self.work.rglob("*")):
                os.chown(path, self.uid, self.uid, follow_symlinks=False)

    def _copy_library(self, slug: str) -> None:
        source = Path(fromscratch.__file__).parent
        visible = visible_library_modules(slug)
        self.library.mkdir()
        for module in source.glob("*.py"):
            if module.stem in visible:
                shutil.copy(module, self.library / module.name)

    def command(self, kernel_cmd: list[str], env: dict[str, str] | None = None) -> list[str]:
        binds: list[str] = []
        made: set[Path] = set()

        def bind(source: Path, target: Path | None = None, writable: bool = False) -> None:
            target = Path(target or source)
            for parent in reversed(target.parents):      # bwrap would make parents 0700
                if parent != Path("/") and parent not in made:
                    binds.extend(["--perms", "0755", "--dir", str(parent)])
                    made.add(parent)
            binds.extend(["--bind" if writable else "--ro-bind", str(source), str(target)])

        for system in ("/usr", "/etc"):
            bind(Path(system))
        for link in ("bin", "lib", "lib64", "sbin"):
            if Path("/", link).is_symlink():
                binds.extend(["--symlink", os.readlink(Path("/", link)), f"/{link}"])
            elif Path("/", link).is_dir():
                bind(Path("/", link))
        for python in sorted({Path(sys.base_prefix).resolve(), Path(sys.prefix)}):
            bind(python)
        bind(Path(autograder.__file__).parent)
        bind(self.library, Path(fromscratch.__file__).parent)
        for data in (os.environ.get("FROMSCRATCH_DATA"), course_root() / "data"):
            if data and Path(data).is_dir():             # seen where the variable says, links or not
                bind(Path(data).resolve(), Path(os.path.abspath(data)))
        bind(self.ipc, writable=True)
        bind(self.work, self.workdir, writable=True)

        drop = [] if os.getuid() != 0 else [
            "setpriv", f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups",
            "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]
        limit = ["prlimit", f"--as={self.limits['memory_mb'] << 20}",
                 f"--cpu={self.limits['cpu_seconds']}", f"--nproc={self.limits['processes']}",
                 f"--fsize={self.limits['file_size_mb'] << 20}", "--nofile=1024", "--"]
        return ["bwrap", *_namespaces(), "--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--tmpfs", "/tmp",
                *binds, "--chdir", str(self.workdir), "--clearenv", *self._environment(env or {}),
                "--", *drop, *limit, *kernel_cmd]

    def _environment(self, extra: dict[str, str]) -> list[str]:
        env = {name: os.environ[name] for name in KEPT_VARIABLES if name in os.environ} | extra
        env.update(PATH=f"{Path(sys.executable).parent}:/usr/bin:/bin", HOME="/tmp",
                   MPLCONFIGDIR="/tmp/matplotlib", IPYTHONDIR="/tmp/ipython", MALLOC_ARENA_MAX="2",
                   PYTHONDONTWRITEBYTECODE="1", NBGRADER_EXECUTION=os.environ.get("NBGRADER_EXECUTION", "autograde"))
        return [arg for name, value in env.items() for arg in ("--setenv", name, value)]

    def clear(self) -> None:
        """Before a (re)start: nothing of an earlier kernel of this sandbox may still run."""
        if self.grading_uid is not None:
            end_processes_of(self.uid)

    def remove(self) -> None:
        if self.grading_uid is not None:
            self.grading_uid.release()
            self.grading_uid = None
        shutil.rmtree(self.home, ignore_errors=True)


class SandboxedKernelManager(PromptKernelManager):
    """The kernel manager nbgrader uses when grading: every kernel starts inside a Sandbox."""

    memory_mb = Integer(4096, help="address-space cap of the kernel, MiB").tag(config=True)
    cpu_seconds = Integer(1800, help="CPU time cap of the whole kernel, seconds").tag(config=True)
    processes = Integer(512, help="process and thread cap of the sandbox's user (one uid per sandbox)").tag(config=True)
    file_size_mb = Integer(256, help="largest file the kernel may write, MiB").tag(config=True)

    sandbox: Sandbox | None = None
    guard_key: bytes | None = None                # the key the kernel's guard signs test verdicts with

    async def _async_pre_start_kernel(self, **kw):
        if self.sandbox is None:                     # a restart keeps the same sandbox
            workdir = Path(kw.get("cwd") or os.getcwd())
            self.sandbox = Sandbox(workdir, dict(memory_mb=self.memory_mb, cpu_seconds=self.cpu_seconds,
                                                 processes=self.processes, file_size_mb=self.file_size_mb))
            self.transport = "ipc"
            self.ip = str(self.sandbox.ipc / "kernel")
            self.connection_file = str(self.sandbox.ipc / "kernel.json")
        self.sandbox.clear()
        kw.setdefault("stdout", subprocess.DEVNULL)  # the kernel's banner; its errors still reach stderr
        cmd, kw = await super()._async_pre_start_kernel(**kw)
        if os.getuid() == 0:                         # the kernel's user must read its connection file
            os.chown(self.connection_file, self.sandbox.uid, self.sandbox.uid)
        cmd = [*cmd, "--IPKernelApp.exec_lines=import autograder.integrity"]
        return self.sandbox.command(cmd, {KEY_FILE_VARIABLE: str(self._write_guard_key())}), kw

    def _write_guard_key(self) -> Path:
        """A fresh key for this kernel's guard (autograder.integrity), which reads and deletes the file."""
        self.guard_key = secrets.token_bytes(32)
        path = self.sandbox.ipc / "guard.key"
        path.unlink(missing_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(self.guard_key.hex())
        if os.getuid() == 0:
            os.chown(path, self.sandbox.uid, self.sandbox.uid)
        return path

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if not restart and self.sandbox is not None:
            self.sandbox.remove()
            self.sandbox = None
