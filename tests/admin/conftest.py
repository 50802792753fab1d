"""Fixtures for admin tests: an in-process `Venue` (embedded default configuration, journal in a
temp dir, ephemeral ports) with an `AdminServer` on a short socket path, and `cli(...)` that
runs `python -m venue.admin.cli` as a subprocess against it (awaited, so the venue's loop keeps
serving while the CLI runs)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.venue_process import REPO, write_config
from venue.admin.ops import AdminOps
from venue.admin.server import AdminServer
from venue.app import Venue
from venue.config import load_config


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class AdminVenue:
    venue: Venue
    server: AdminServer
    ops: AdminOps
    socket: str
    config: Path

    async def cli(self, *args: str, stdin: bytes = b"") -> CliResult:
        """Run venue-admin."""
        cmd = [sys.executable, "-m", "venue.admin.cli", "--socket", self.socket, *args]
        proc = await asyncio.create_subprocess_exec(
            *cmd,
            cwd=str(REPO),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(stdin), 60)
        assert proc.returncode is not None
        return CliResult(proc.returncode, out.decode(), err.decode())


def make_ops(venue: Venue, journal_path: str) -> AdminOps:
    assert venue.sequencer is not None
    return AdminOps(
        sequencer=venue.sequencer,
        sessions=venue.gateway,
        kill_switch=venue.order_entry,
        journal_path=journal_path,
        now_ns=venue.clock.now_ns,
        mono_ns=venue.clock.monotonic_ns,
    )


@contextlib.asynccontextmanager
async def running_admin_venue(
    tmp_path: Path, sessions_dir: Path | None = None
) -> AsyncIterator[AdminVenue]:
    short = Path(tempfile.mkdtemp(prefix="va", dir="/tmp"))  # AF_UNIX paths: < 108 bytes
    sock = short / "admin.sock"
    path = write_config(tmp_path, sessions_dir=sessions_dir)
    text = path.read_text().replace(str(tmp_path / "admin.sock"), str(sock))
    feed_off = text.replace("[marketdata]\nenabled = true", "[marketdata]\nenabled = false")
    assert feed_off != text  # the tests need no market data feed
    path.write_text(feed_off)
    cfg = load_config(path)
    venue = Venue(cfg)
    await venue.start()  # the venue opens its own admin socket, as in production
    server = venue.admin
    assert server is not None
    try:
        yield AdminVenue(venue, server, server.ops, str(sock), path)
    finally:
        await venue.stop()
        shutil.rmtree(short, ignore_errors=True)


@pytest.fixture
async def admin_venue(tmp_path: Path) -> AsyncIterator[AdminVenue]:
    async with running_admin_venue(tmp_path) as av:
        yield av
