"""Surveillance over a long generated market-making journal: the false-positive count, and the
engine's cost per journal row; prints one JSON object.

    python tools/bench/surveil.py [--commands 200000] [--sessions 4] [--rate 2000]
                                  [--funding-every 60] [--one-firm] [--seed 7] [--keep DIR]

The flow is tools/bench/e2e.py's (quotes a few ticks from a random-walk mid, replaces,
cancels, IOCs through the mid; tests/surveillance/flows.py), driven straight into the core and
written to a real journal file, which `venue surveil`'s code then reads. By default each
session is its own firm and orders carry a self-trade prevention id, as a normal market would;
`--one-firm` is e2e.py's own set-up (every session one firm BENCH-like, no STP), where every
trade between sessions has one beneficial owner and is, by definition, a wash trade.

Every alert on this flow is a false positive (the flow has no abuse in it). Figures:
`alerts_by_pattern`, `rows`, `trades`, and `surveil_us_per_row` (wall time of the offline run,
journal reading and decoding included; compare on a quiet machine only).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.surveillance.flows import market_making, market_making_market  # noqa: E402
from venue.config_surveillance import SurveillanceConfig  # noqa: E402
from venue.core import OrderFilled  # noqa: E402
from venue.surveillance.offline import surveil_journal  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--commands", type=int, default=200_000)
    p.add_argument("--sessions", type=int, default=4)
    p.add_argument("--rate", type=int, default=2_000, help="order commands per second")
    p.add_argument("--funding-every", type=int, default=60, help="seconds between fundings")
    p.add_argument("--one-firm", action="store_true", help="e2e.py's set-up: one firm, no STP")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--keep", help="write the journal here and keep it")
    args = p.parse_args()
    m = market_making_market(args.sessions, one_firm=args.one_firm)
    market_making(
        m,
        args.commands,
        seed=args.seed,
        rate_per_s=args.rate,
        funding_every_s=args.funding_every,
        stp=not args.one_firm,
    )
    trades = sum(1 for _, _, _, evs in m.rows for e in evs if type(e) is OrderFilled) // 2
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(args.keep or tmp) / "venue.db"
        asyncio.run(m.write_journal(db))
        t0 = time.perf_counter()
        alerts, last = asyncio.run(surveil_journal(str(db), SurveillanceConfig()))
        elapsed = time.perf_counter() - t0
    by_pattern = collections.Counter(a.pattern for a in alerts)
    print(
        json.dumps(
            {
                "rows": last,
                "trades": trades,
                "seconds_of_market": round((m.rows[-1][1] - m.rows[0][1]) / 1e9, 1),
                "one_firm": args.one_firm,
                "alerts": len(alerts),
                "alerts_by_pattern": dict(sorted(by_pattern.items())),
                "surveil_us_per_row": round(elapsed / max(last, 1) * 1e6, 2),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
