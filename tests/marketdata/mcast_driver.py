"""Run inside a private network namespace only (see test_multicast.py): a venue publishing to
a multicast group, two feed handlers joining it, a random flow with losses; exit 0 if both
handlers' books equal the engine's."""

from __future__ import annotations

import asyncio
import json
import random
import sys
import tempfile
from pathlib import Path

from venue import log

GROUP = "239.192.77.1"


async def main() -> int:
    # imported here, after log.configure: loggers bound before it keep the default (stdout)
    from tests.marketdata.harness import (
        TIMEOUT,
        Venue,
        engine_view,
        free_port,
        md_config,
        run_flow,
    )
    from venue.clock import ManualClock
    from venue.marketdata import FeedHandler, MarketDataPublisher

    with tempfile.TemporaryDirectory() as tmp:
        venue = await Venue(Path(tmp) / "venue.db", ManualClock()).open()
        port = free_port()
        cfg = md_config(port, destination=GROUP, interface="127.0.0.1", ttl=1)
        pub = MarketDataPublisher(cfg, venue.sequencer, venue.clock)
        await pub.start()
        handlers = [
            FeedHandler(
                feed_port=port,
                group=GROUP,
                interface="127.0.0.1",
                rerequest=("127.0.0.1", pub.rerequest_port),
                snapshot=("127.0.0.1", pub.snapshot_port),
            )
            for _ in range(2)
        ]
        rng = random.Random(99)
        handlers[1].drop = lambda seq, count: rng.random() < 0.2
        try:
            for h in handlers:
                await h.start()
            venue.add_instruments()
            await run_flow(venue, random.Random(98), 1000)
            for h in handlers:
                await h.wait_for_seq(pub.next_seq, TIMEOUT)
            want = engine_view(venue.engine)
            ok = all(h.books.view() == want for h in handlers)
            print(
                json.dumps(
                    {
                        "ok": ok,
                        "next_seq": pub.next_seq,
                        "applied": [h.messages_applied for h in handlers],
                        "rerequests": [h.rerequests_sent for h in handlers],
                    }
                )
            )
            return 0 if ok and handlers[0].messages_applied > 0 else 1
        finally:
            for h in handlers:
                await h.stop()
            await pub.stop()
            await venue.close()


if __name__ == "__main__":
    log.configure(stream=sys.stderr, level="warning")
    sys.exit(asyncio.run(main()))
