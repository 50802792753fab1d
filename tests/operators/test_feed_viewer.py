"""Issue 19 item 15: tools/feed.py shows the feed session and the age of the last packet,
marks the book STALE when the venue stops, and follows a restarted venue's new feed session
with a fresh snapshot, keeping the last price and volume. (On a terminal it redraws in place
with rich Live; through a pipe, as here, it prints one frame per refresh.)"""

from __future__ import annotations

import queue
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.marketdata.harness import free_port
from tests.venue_process import REPO, start_venue, write_config

pytestmark = pytest.mark.slow


class Frames:
    """The viewer's output, frame by frame (a frame starts with its status line)."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.frames: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def close(self) -> None:
        """After the viewer ended: the reader has seen end of file; close the pipe."""
        self._reader.join(timeout=10)
        assert self.proc.stdout is not None
        self.proc.stdout.close()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        frame: list[str] = []
        for line in self.proc.stdout:
            if "feed session" in line and frame:
                self.frames.put("".join(frame))
                frame = []
            frame.append(line)
        self.frames.put("".join(frame))

    def wait_for(self, ok: Callable[[str], bool], timeout: float = 20.0) -> str:
        seen = ""
        try:
            while True:
                seen = self.frames.get(timeout=timeout)
                if ok(seen):
                    return seen
        except queue.Empty:
            raise AssertionError(f"no such frame; the last one:\n{seen}") from None


def _trade(port: int) -> None:
    for sender, order in (("ALPHA-MM", "sell"), ("BRAVO-MM", "buy")):
        r = subprocess.run(
            [
                *(sys.executable, str(REPO / "tools" / "fixclient.py"), "--port", str(port)),
                *("--sender", sender, "--cancel-on-disconnect", "N"),
                *("-c", f"{order} BTC-PERP 0.002 @ 60000 id={sender[0]}1"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        assert r.returncode == 0 and "ER " in r.stdout, r.stdout + r.stderr


def test_feed_viewer_session_staleness_and_restart(tmp_path: Path) -> None:
    ports = {
        "port = 0": f"port = {free_port()}",
        "rerequest_port = 0": f"rerequest_port = {free_port()}",
        "snapshot_port = 0": f"snapshot_port = {free_port(socket.SOCK_STREAM)}",
    }
    config = write_config(tmp_path)
    text = config.read_text()
    fix_port_line = 'host = "127.0.0.1"\nport = 0'
    text = text.replace(fix_port_line, "FIXPORT", 1)
    md = text.index("[marketdata]")
    head, tail = text[:md], text[md:]
    for old, new in ports.items():
        tail = tail.replace(old, new, 1)
    config.write_text((head + tail).replace("FIXPORT", fix_port_line))
    venue = start_venue(config, cwd=tmp_path)
    viewer: subprocess.Popen[str] | None = None
    frames: Frames | None = None
    try:
        fix_port = venue.wait_ready()["fix_port"]
        viewer = subprocess.Popen(
            [
                *(sys.executable, str(REPO / "tools" / "feed.py"), "--config", str(config)),
                *("--interval", "0.2", "--iterations", "1000"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        frames = Frames(viewer)
        frames.wait_for(lambda f: "last packet" in f and "BTC-PERP" in f)  # joined
        _trade(fix_port)
        first = frames.wait_for(lambda f: "0.002 @ 60000.0" in f)
        session = re.search(r"feed session (\S+)", first)
        assert session is not None and "last packet" in first and "STALE" not in first
        assert venue.terminate() == 0
        stale = frames.wait_for(lambda f: f.startswith("STALE"))
        assert "0.002 @ 60000.0" in stale  # the last book, marked
        venue = start_venue(config, cwd=tmp_path)
        venue.wait_ready()
        new = frames.wait_for(
            lambda f: (
                "feed session" in f
                and session.group(1) not in f.splitlines()[0]
                and not f.startswith("STALE")
            )
        )
        assert "0.002 @ 60000.0" in new and "0.002" in new.split("BTC-PERP")[1]
    finally:
        if viewer is not None:
            viewer.kill()
            viewer.wait()
        if frames is not None:
            frames.close()
        venue.terminate()
