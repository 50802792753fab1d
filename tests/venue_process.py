"""Start the real venue as a subprocess and wait for its `venue_ready` log line.

The venue logs JSON lines on stderr when it is not on a TTY; a reader thread keeps draining
stderr (so the pipe never fills) and hands the ready line over through a queue, which the test
waits on with a timeout.
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

REPO = Path(__file__).resolve().parents[1]


class VenueProcess:
    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._grew = threading.Condition()
        self._ready: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        with self.proc.stderr:
            for raw in self.proc.stderr:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                with self._grew:
                    self.lines.append(line)
                    self._grew.notify_all()
                if '"venue_ready"' in line:
                    self._ready.put(json.loads(line))
        self._ready.put(None)  # stderr closed: the process ended

    def wait_ready(self, timeout: float = 30.0) -> dict[str, Any]:
        try:
            event = self._ready.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("venue did not log venue_ready in time:\n" + self.stderr) from None
        if event is None:
            raise AssertionError(f"venue exited with {self.proc.wait()}:\n" + self.stderr)
        return event

    def wait_line(self, text: str, timeout: float = 60.0) -> str:
        """The first stderr line containing `text`, waiting for it up to `timeout` seconds."""
        with self._grew:
            if not self._grew.wait_for(
                lambda: any(text in line for line in self.lines), timeout=timeout
            ):
                raise AssertionError(f"no line with {text!r} in time:\n" + self.stderr)
            return next(line for line in self.lines if text in line)

    def wait_ready_or_exit(self, timeout: float = 60.0) -> int | None:
        """None once the venue logged venue_ready, else its exit status (it ended first)."""
        try:
            event = self._ready.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("venue neither got ready nor exited:\n" + self.stderr) from None
        if event is not None:
            return None
        code = self.proc.wait()
        self._reader.join(timeout=10)
        return code

    @property
    def stderr(self) -> str:
        return "\n".join(self.lines)

    def terminate(self, timeout: float = 30.0) -> int:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=timeout)
        return code

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._reader.join(timeout=10)


def write_config(tmp_path: Path, *, extra: str = "", sessions_dir: Path | None = None) -> Path:
    """The embedded default with the journal in `tmp_path` and an ephemeral FIX port."""
    text = (REPO / "venue" / "default.toml").read_text()
    text = text.replace('path = "var/venue.db"', f'path = "{tmp_path / "venue.db"}"')
    text = text.replace('socket = "var/venue-admin.sock"', f'socket = "{tmp_path / "admin.sock"}"')
    for port in ("9878", "9900", "9901", "9902", "9903"):
        text = text.replace(f"port = {port}", "port = 0")
    if sessions_dir is not None:
        text = text.replace('# sessions_dir = "sessions"', f'sessions_dir = "{sessions_dir}"')
    path = tmp_path / "venue.toml"
    path.write_text(text + extra)
    return path


def start_venue(config: Path, *, cwd: Path, args: tuple[str, ...] = ()) -> VenueProcess:
    proc = subprocess.Popen(
        [sys.executable, "-m", "venue", "run", "--config", str(config), *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return VenueProcess(proc)
