"""The load generator's venue side: a generated venue.toml + session files with fresh Ed25519 keys,
the venue started as a subprocess (`tools/bench/e2e_serve.py --config ...`), CPU time from /proc.

Invariants:
- Everything generated lives under one temporary directory the caller owns; private keys are
  created 0600 and never printed.
- The generated config is the embedded default with the journal, admin socket and ports moved
  (FIX port 0: the venue's `venue_ready` log line names the real one), market data sent to a
  UDP port the generator holds open (so packets go somewhere), one firm BENCH with an ample
  balance per account, and one trading session per generator session with a high throttle.
- The venue runs as `tools/bench/e2e_serve.py` (`venue run` plus gc.freeze() and optional
  sampled stage timers).
- The venue's stderr is drained by a thread (the pipe never fills); lines are kept for errors.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from venue.gateway.auth import public_key_b64

ROOT = Path(__file__).resolve().parents[2]
BALANCE = "100000000000"  # USD per bench account: margin never limits the flow


def write_setup(
    directory: Path,
    *,
    sessions: int,
    synchronous: str,
    marketdata_port: int | None,
    stage_every: int = 0,
    busy_poll_us: int = 0,
    metrics: bool = True,
    fixlog: bool = True,
    surveillance: bool = True,
) -> tuple[Path, list[tuple[str, Ed25519PrivateKey]]]:
    """venue.toml + sessions/*.toml in `directory`; returns (config, [(comp_id, key)])."""
    text = (ROOT / "venue" / "default.toml").read_text()
    text = text.replace('path = "var/venue.db"', f'path = "{directory / "venue.db"}"')
    text = text.replace('synchronous = "FULL"', f'synchronous = "{synchronous}"')
    text = text.replace('socket = "var/venue-admin.sock"', f'socket = "{directory / "admin.sock"}"')
    text = text.replace("port = 9878", "port = 0")
    text = text.replace("busy_poll_us = 0 ", f"busy_poll_us = {busy_poll_us} ")
    if marketdata_port is None:
        text = text.replace("enabled = true", "enabled = false", 1)
        text = text.replace("port = 9900", "port = 0")
    else:
        text = text.replace("port = 9900", f"port = {marketdata_port}")
    text = text.replace("rerequest_port = 9901", "rerequest_port = 0")
    text = text.replace("snapshot_port = 9902", "snapshot_port = 0")
    text = text.replace("port = 9903", "port = 0")  # metrics: an ephemeral port
    for table, on in (("metrics", metrics), ("fixlog", fixlog)):
        head, sep, rest = text.partition(f"[{table}]")
        text = head + sep + rest.replace("enabled = true", f"enabled = {str(on).lower()}", 1)
    sessions_dir = directory / "sessions"
    sessions_dir.mkdir(exist_ok=True)
    text = text.replace('# sessions_dir = "sessions"', f'sessions_dir = "{sessions_dir}"')
    accounts = [f"BENCH-{i + 1}" for i in range(sessions)]
    text += (
        "\n[[firms]]\n"
        'name = "BENCH"\n'
        f"accounts = {json.dumps(accounts)}\n"
        'segment = "market_maker"\n'
        'fee_tier = "mm"\n'
        f'initial_balance = "{BALANCE}"\n'
    )
    creds: list[tuple[str, Ed25519PrivateKey]] = []
    for i, account in enumerate(accounts):
        key = Ed25519PrivateKey.generate()
        comp_id = f"BENCH{i + 1}"
        (sessions_dir / f"bench{i + 1}.toml").write_text(
            'role = "trading"\n'
            'venue_comp_id = "VENUE"\n'
            f'client_comp_id = "{comp_id}"\n'
            'firm = "BENCH"\n'
            f'accounts = ["{account}"]\n'
            "cancel_on_disconnect = true\n"
            'allowed_addresses = ["127.0.0.0/8"]\n'
            "[auth]\n"
            'method = "ed25519"\n'
            f'public_key = "{public_key_b64(key)}"\n'
            "[heartbeat]\nmin_seconds = 1\nmax_seconds = 300\n"
            "[throttle]\nmessages_per_second = 10000000\nburst = 20000000\nabuse_seconds = 60\n"
        )
        creds.append((comp_id, key))
    if not surveillance:  # the venue without its surveillance subscriber (to measure its cost)
        text += "\n[surveillance]\nenabled = false\n"
    config = directory / "venue.toml"
    config.write_text(text)
    return config, creds


class VenueProcess:
    """The venue as a child process; `ready` is its `venue_ready` log record."""

    def __init__(
        self, config: Path, *, cpu: int | None = None, env: dict[str, str] | None = None
    ) -> None:
        # e2e_serve.py is `venue run` plus gc.freeze() and sampled stage timers
        cmd = [
            sys.executable,
            str(Path(__file__).with_name("e2e_serve.py")),
            "--config",
            str(config),
        ]
        if cpu is not None:
            cmd = ["taskset", "-c", str(cpu), *cmd]
        self.proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env={**os.environ, **(env or {})},
        )
        self.lines: list[str] = []
        self._ready: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        with self.proc.stderr:
            for raw in self.proc.stderr:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                self.lines.append(line)
                if '"venue_ready"' in line:
                    self._ready.put(json.loads(line))
        self._ready.put(None)

    def wait_ready(self, timeout: float = 60.0) -> dict[str, Any]:
        try:
            event = self._ready.get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError("venue did not log venue_ready:\n" + self.stderr_tail()) from None
        if event is None:
            raise RuntimeError(f"venue exited ({self.proc.wait()}):\n" + self.stderr_tail())
        return event

    def stderr_tail(self, n: int = 30) -> str:
        return "\n".join(self.lines[-n:])

    def records(self, event: str) -> list[dict[str, Any]]:
        """Parsed JSON log records named `event`."""
        out = []
        for line in self.lines:
            if f'"{event}"' in line:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    continue
        return out

    def stop(self, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._reader.join(timeout=timeout)
        return code


_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid` (all threads), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read()
    fields = stat[stat.rindex(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS
