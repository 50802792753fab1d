"""tools/feed.py --check against an in-process venue (a subprocess is the feed handler)."""

from __future__ import annotations

import asyncio
import json
import random
import socket
import sys
from pathlib import Path

from tests.marketdata.harness import TIMEOUT, Venue, free_port, md_config, run_flow
from venue.clock import ManualClock
from venue.marketdata import MarketDataPublisher

ROOT = Path(__file__).resolve().parents[2]


async def test_feed_check_agrees_with_the_venue(tmp_path: Path) -> None:
    ports = {
        "port": free_port(),
        "rerequest_port": free_port(),
        "snapshot_port": free_port(socket.SOCK_STREAM),
    }
    config = tmp_path / "venue.toml"
    config.write_text("[marketdata]\n" + "".join(f"{k} = {v}\n" for k, v in ports.items()))
    venue = await Venue(tmp_path / "venue.db", ManualClock()).open()
    cfg = md_config(ports.pop("port"), **ports)
    pub = MarketDataPublisher(cfg, venue.sequencer, venue.clock)
    await pub.start()
    try:
        venue.add_instruments()
        await run_flow(venue, random.Random(30), 300)
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(ROOT / "tools" / "feed.py"),
            "--check",
            "--config",
            str(config),
            "--seconds",
            "0.5",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        # the venue keeps trading while the checker joins, builds and compares
        flow = asyncio.ensure_future(run_flow(venue, random.Random(31), 3000, every=10))
        out, err = await asyncio.wait_for(proc.communicate(), TIMEOUT * 3)
        await flow
        assert proc.returncode == 0, out.decode() + err.decode()
        result = json.loads(out.decode().strip().splitlines()[-1])
        assert result["ok"] is True and result["session"] == pub.session
        assert result["orders"] > 0
    finally:
        await pub.stop()
        await venue.close()
