"""The integrity tripwire tells a library wrapping its own function from a learner's replacement."""

import subprocess
import sys

SCRIPT = r"""
import functools
import torch
import autograder.integrity as integrity
integrity.arm()
original = torch.manual_seed
import torch._dynamo  # noqa: F401  peft and torch's FLOP counter import it; it rewraps torch.manual_seed
assert torch.manual_seed is not original, "torch no longer rewraps manual_seed: this test proves nothing"
assert integrity.check_and_restore() == [], "an honest import was flagged"
trusted = torch.manual_seed

@functools.wraps(trusted)          # claims to wrap the trusted function, but is defined here
def forged(seed):
    return trusted(0)

torch.manual_seed = forged
assert integrity.check_and_restore() == ["torch.manual_seed"]
assert torch.manual_seed is trusted
print("ok")
"""


def test_library_rewrap_is_trusted_and_a_forged_wrapper_is_not():
    run = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stdout + run.stderr
