"""Replicated venue nodes as real subprocesses (`venue run` with a `[replication]` table).

Each node has its own directory (journal, admin socket, configuration), ephemeral ports and the
embedded default configuration plus the BRAVO-DC drop-copy session of tests/reliability. The
harness reads the node's JSON log lines on stderr and lets a test wait for a named event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import sys
from pathlib import Path
from typing import Any

from tests.reliability.chaos import BRAVO_DC
from tests.venue_process import write_config

ROOT = Path(__file__).resolve().parents[2]


def replication_table(
    servers: list[str],
    node_id: str,
    role: str,
    *,
    ttl_ms: int = 2000,
    renew_ms: int = 250,
    stream: str = "VENUE",
) -> str:
    quoted = ", ".join(f'"{s}"' for s in servers)
    return f"""
[replication]
servers = [{quoted}]
node_id = "{node_id}"
role = "{role}"
stream = "{stream}"
lease_bucket = "{stream}_lease"
replicas = 3
lease_ttl_ms = {ttl_ms}
lease_renew_ms = {renew_ms}
publish_timeout_ms = 1000
retry_ms = 100
"""


class HaNode:
    def __init__(
        self,
        root: Path,
        node_id: str,
        servers: list[str],
        role: str,
        *,
        ttl_ms: int = 2000,
        renew_ms: int = 250,
        synchronous: str = "NORMAL",
        replication: bool = True,
        stream: str = "VENUE",
        feed_port: int = 0,
    ) -> None:
        self.node_id = node_id
        self.dir = root / node_id
        self.dir.mkdir(parents=True, exist_ok=True)
        extra = BRAVO_DC
        if replication:
            extra += replication_table(
                servers, node_id, role, ttl_ms=ttl_ms, renew_ms=renew_ms, stream=stream
            )
        self.config = write_config(self.dir, extra=extra)
        text = self.config.read_text().replace(
            'synchronous = "FULL"', f'synchronous = "{synchronous}"'
        )
        if feed_port:  # the feed's destination: a test's receiving socket (unicast loopback)
            text = re.sub(r"(\[marketdata\][^\[]*?\nport = )0", rf"\g<1>{feed_port}", text, count=1)
        self.config.write_text(text)
        self.db = self.dir / "venue.db"
        self.admin_socket = self.dir / "admin.sock"
        self.proc: asyncio.subprocess.Process | None = None
        self.events: list[dict[str, Any]] = []
        self.raw: list[str] = []
        self._new = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self.starts = 0
        self.exit_code: int | None = None

    async def start(self) -> None:
        self.events, self.raw, self.exit_code = [], [], None
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "venue",
            "run",
            "--config",
            str(self.config),
            cwd=ROOT,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        self.starts += 1
        self._reader = asyncio.create_task(self._read(self.proc))

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        with (self.dir / f"venue-{self.starts}.log").open("wb") as log:
            while line := await proc.stderr.readline():
                log.write(line)
                text = line.decode("utf-8", "replace").strip()
                self.raw.append(text)
                try:
                    self.events.append(json.loads(text))
                except ValueError:
                    self.events.append({"event": "<text>", "text": text})
                self._new.set()
        self.exit_code = await proc.wait()
        self._new.set()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None and self.exit_code is None

    async def wait_event(
        self, name: str, timeout: float = 30.0, *, after: int = 0
    ) -> dict[str, Any]:
        """The first log event called `name` (from index `after`); raises if the process ends
        first or the timeout passes."""

        async def find() -> dict[str, Any]:
            while True:
                for ev in self.events[after:]:
                    if ev.get("event") == name:
                        return ev
                if self.exit_code is not None:
                    raise AssertionError(
                        f"{self.node_id} exited with {self.exit_code} before {name}:\n"
                        + "\n".join(self.raw[-30:])
                    )
                self._new.clear()
                await self._new.wait()

        try:
            return await asyncio.wait_for(find(), timeout)
        except TimeoutError:
            raise AssertionError(
                f"{self.node_id}: no {name} within {timeout} s:\n" + "\n".join(self.raw[-30:])
            ) from None

    def has_event(self, name: str) -> bool:
        return any(ev.get("event") == name for ev in self.events)

    async def wait_ready(self, timeout: float = 30.0) -> int:
        return int((await self.wait_event("venue_ready", timeout))["fix_port"])

    async def wait_exit(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        if self._reader is not None:
            await asyncio.wait_for(self._reader, timeout)
        return code

    def signal(self, sig: int) -> None:
        if self.proc is not None and self.proc.returncode is None:
            os.kill(self.proc.pid, sig)

    async def kill(self) -> None:
        self.signal(signal.SIGKILL)
        if self.proc is not None:
            with contextlib.suppress(Exception):
                await self.wait_exit()

    async def stop(self) -> int:
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        return await self.wait_exit()
