"""Bad input never crashes the interpreter: random calls across the whole API, in a subprocess."""
import os
import subprocess
import sys

import pytest

FUZZ = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tools", "fuzz_api.py")


@pytest.mark.parametrize("seed", [1, 2])
def test_random_api_calls_raise_or_return(seed):
    r = subprocess.run([sys.executable, FUZZ, str(seed), "1500"], capture_output=True, text=True,
                       timeout=300)
    last_call = r.stderr.strip().splitlines()[-1:] if r.stderr else []
    assert r.returncode == 0, f"crashed (rc {r.returncode}) on: {last_call}"
    assert r.stdout.strip().endswith("done")
