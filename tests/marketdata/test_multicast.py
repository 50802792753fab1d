"""Multicast, only inside a private network namespace created for this test run.

The driver runs under `unshare -rn` with `ip link set lo up; ip route add 224.0.0.0/4 dev lo`,
so no multicast packet can reach the machine's real interfaces. Where unshare is not
permitted the test is skipped, saying why.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NAMESPACE_SETUP = "ip link set lo up && ip route add 224.0.0.0/4 dev lo"


def _namespace_problem() -> str | None:
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return "unshare or ip (util-linux, iproute2) not installed"
    probe = subprocess.run(
        ["unshare", "-rn", "sh", "-c", NAMESPACE_SETUP],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if probe.returncode != 0:
        return f"cannot create a private network namespace: {probe.stderr.strip()}"
    return None


def test_multicast_feed_in_a_private_namespace() -> None:
    problem = _namespace_problem()
    if problem is not None:
        pytest.skip(f"multicast test needs a private network namespace: {problem}")
    proc = subprocess.run(
        [
            "unshare",
            "-rn",
            "sh",
            "-c",
            f'{NAMESPACE_SETUP} && exec "$0" -m tests.marketdata.mcast_driver',
            sys.executable,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["ok"] is True
    assert result["rerequests"][1] > 0  # the lossy handler recovered by re-request
