"""Issue 19 item 13: the first `make run` says, before pip's silence, that it is setting up."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from tests.venue_process import REPO


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_first_run_announces_the_set_up() -> None:
    # -n: print the recipe without running it; -W: as if pyproject.toml had just changed
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
    out = subprocess.run(
        ["make", "--no-print-directory", "-n", "-W", "pyproject.toml", "run"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.splitlines()
    assert out[0].startswith('echo "Setting up the environment in .venv'), out
    assert "about 30 s" in out[0]
