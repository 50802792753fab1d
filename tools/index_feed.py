"""Index price feed: replay a CSV file or a seeded random walk into the venue.

How it reaches the venue:
- default: through the running venue's admin socket (`--admin-socket`, default
  `var/venue-admin.sock`), one `index.set` request per price (the admin server converts the
  decimal exactly to ticks and submits a sequenced `SetIndexPrice`, source `admin:<operator>`);
- `--dry-run`: print the prices as JSON lines and send nothing (to check a file or a seed);
- as a library, in-process (demos, tests): `venue.risk.index.feed_in_process(sequencer,
  csv_ticks(path) or random_walk(...))` submits through `venue.risk.index.submit_index`.

CSV rows are `delay_ms,symbol,price` (a `delay_ms,...` header row, blank lines and `#` comments
are skipped); the delay is waited before the row's price is sent (`--speed 10` plays it ten
times faster). Prices are exact decimals on the instrument's tick; a refused price stops the
feed with exit status 1.

    python tools/index_feed.py csv prices.csv
    python tools/index_feed.py walk --symbol BTC-PERP --start 60000 --tick 0.5 --count 100
    python tools/index_feed.py walk --symbol BTC-PERP --start 60000 --tick 0.5 --dry-run
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator

from venue.risk.index import IndexTick, csv_ticks, random_walk


def _ticks(args: argparse.Namespace) -> Iterator[IndexTick]:
    if args.source == "csv":
        return csv_ticks(args.file)
    return random_walk(
        args.symbol,
        args.start,
        args.tick,
        seed=args.seed,
        step_ticks=args.step_ticks,
        interval_ms=args.interval_ms,
    )


def run(args: argparse.Namespace) -> int:
    client = None
    if not args.dry_run:
        from venue.admin.client import AdminClient, AdminForbidden, AdminUnavailable

        try:
            client = AdminClient(args.admin_socket, operator=args.operator)
        except (AdminUnavailable, AdminForbidden) as exc:
            print(f"index_feed: {exc}", file=sys.stderr)
            return 2
    sent = 0
    try:
        for tick in _ticks(args):
            if args.count is not None and sent >= args.count:
                break
            if tick.delay_ms and not args.dry_run and sent:
                time.sleep(tick.delay_ms / 1000 / args.speed)
            line = {"symbol": tick.symbol, "price": tick.price}
            if client is not None:
                response = client.request("index.set", symbol=tick.symbol, price=tick.price)
                if not response.ok:
                    err = response.error
                    print(f"index_feed: refused: {err.message if err else '?'}", file=sys.stderr)
                    return 1
                line["ok"] = True
            print(json.dumps(line), flush=True)
            sent += 1
    except ValueError as exc:
        print(f"index_feed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        if client is not None:
            client.close()
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="index_feed", description=__doc__.split("\n\n")[0])
    p.add_argument("--admin-socket", default="var/venue-admin.sock")
    p.add_argument("--operator", default="index_feed")
    p.add_argument("--dry-run", action="store_true", help="print the prices, send nothing")
    p.add_argument("--count", type=int, default=None, help="stop after this many prices")
    p.add_argument("--speed", type=float, default=1.0, help="replay speed factor")
    sub = p.add_subparsers(dest="source", required=True)
    c = sub.add_parser("csv", help="replay delay_ms,symbol,price rows")
    c.add_argument("file")
    w = sub.add_parser("walk", help="a seeded random walk")
    w.add_argument("--symbol", required=True)
    w.add_argument("--start", required=True, help="first price (decimal, on the tick)")
    w.add_argument("--tick", required=True, help="the instrument's tick size")
    w.add_argument("--seed", type=int, default=1)
    w.add_argument("--step-ticks", type=int, default=10)
    w.add_argument("--interval-ms", type=int, default=1000)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.source == "walk" and args.count is None and args.dry_run:
        args.count = 10
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
