"""The grading kernel's guard (autograder.integrity) outside a kernel: what it trusts and what it names."""

import subprocess
import sys

SCRIPT = r"""
import functools, threading, time
import torch
import autograder.integrity as integrity
roots = integrity.trusted_roots()
snapshot = integrity.take_snapshot(roots)
original = torch.manual_seed
import torch._dynamo  # noqa: F401  peft and torch's FLOP counter import it; it rewraps torch.manual_seed
assert torch.manual_seed is not original, "torch no longer rewraps manual_seed: this test proves nothing"
assert integrity.check(snapshot, roots, restore=True) == [], "an honest import was flagged"
trusted = torch.manual_seed

@functools.wraps(trusted)          # claims to wrap the trusted function, but is defined here
def forged(seed):
    return trusted(0)

torch.manual_seed = forged
assert integrity.check(snapshot, roots, restore=False) == ["torch.manual_seed"]
assert torch.manual_seed is forged, "restore=False must not restore"
assert integrity.check(snapshot, roots, restore=True) == ["torch.manual_seed"]
assert torch.manual_seed is original, "restored to the function the snapshot trusted"

# A finder from the submission is named and removed; a library's finder is kept.
class LookAlike:
    def find_spec(self, *args):
        return None
import sys as _sys
_sys.meta_path.insert(0, LookAlike())
assert integrity.check(snapshot, roots, restore=True) == ["sys.meta_path (added by the submission)"]
assert not any(type(f) is LookAlike for f in _sys.meta_path)

# A thread running the submission's code is named; one that finished is not.
stop = threading.Event()
runner = threading.Thread(target=lambda: stop.wait(30), name="busy")
runner.start()
assert integrity.check(snapshot, roots, restore=True) == ["a thread of the submission still running ('busy')"]
stop.set(); runner.join()
assert integrity.check(snapshot, roots, restore=True) == []
print("ok")
"""


def test_guard_trusts_library_rewraps_and_names_the_submissions_changes():
    run = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stdout + run.stderr


def test_a_verdict_counts_only_when_signed_for_this_nonce_and_source():
    from autograder.execution import verdict_problem
    from autograder.integrity import expected_proof

    key, source = b"k" * 32, "expect_equal(add(1, 2), 3, what='add')\n"
    assert verdict_problem([expected_proof(key, 0, "n1", source)], key, "n1", source) is None
    assert "forged" in verdict_problem([expected_proof(key, 0, "n0", source)], key, "n1", source)
    assert "forged" in verdict_problem([expected_proof(key, 0, "n1", "pass\n")], key, "n1", source)
    assert "forged" in verdict_problem([expected_proof(b"x" * 32, 0, "n1", source)], key, "n1", source)
    assert "reach the grader's key" in verdict_problem([expected_proof(key, 2, "n1", source)], key, "n1", source)
    assert "did not confirm" in verdict_problem([], key, "n1", source)
    assert verdict_problem(["tampered:a thread"], key, "n1", source) == "a thread"
