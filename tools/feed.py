"""Feed viewer and checker for the venue's market-data feed (fix_specs/MARKET_DATA.md).

    python tools/feed.py [--config venue.toml] [--symbols BTC-PERP ...] [--depth 1]
    python tools/feed.py --check [--seconds 3]

Live mode joins the feed (binds the unicast port, or joins the multicast group of the
configuration), takes a snapshot, applies incrementals with gap re-requests, prints each trade
as it happens and the top of book of every instrument every second (with `rich` if it is
installed, plain text otherwise).

`--check` builds the books from the live feed for `--seconds`, then takes a fresh snapshot and
compares: the snapshot's book, brought forward with the messages the handler applied since the
snapshot's sequence number, must equal the handler's book exactly. Prints one JSON object and
exits 0 when they are equal, 1 when they differ, 2 when the venue could not be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ipaddress
import json
import sys
import time
from collections import deque
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from venue import log  # noqa: E402 - after the sys.path set-up for running as a script

log.configure(stream=sys.stderr, level="warning")  # before any module binds its logger

from venue.config import ConfigError, MarketDataConfig, load_config  # noqa: E402
from venue.marketdata import FeedBook, FeedHandler, InstrumentBook, fetch_snapshot  # noqa: E402
from venue.marketdata.messages import (  # noqa: E402
    SIDE_BUY,
    SIDE_SELL,
    ExecutedMsg,
    FeedMessage,
    decode,
)


def _handler(cfg: MarketDataConfig, symbols: list[str] | None) -> FeedHandler:
    dest = ipaddress.ip_address(cfg.destination)
    return FeedHandler(
        feed_host=cfg.destination if not dest.is_multicast else "0.0.0.0",
        feed_port=cfg.port,
        group=cfg.destination if dest.is_multicast else None,
        interface=cfg.interface,
        rerequest=(cfg.rerequest_host, cfg.rerequest_port),
        snapshot=(cfg.snapshot_host, cfg.snapshot_port),
        symbols=symbols,
    )


def _px(book: InstrumentBook, ticks: int) -> str:
    return str(Decimal(book.definition.tick_size) * ticks)


def _qty(book: InstrumentBook, lots: int) -> str:
    return str(Decimal(book.definition.lot_size) * lots)


def _rows(books: FeedBook, depth: int) -> list[list[str]]:
    rows = []
    for book in books.instruments.values():
        bids, asks = book.depth(SIDE_BUY, depth), book.depth(SIDE_SELL, depth)
        for i in range(max(1, len(bids), len(asks))):
            b = bids[i] if i < len(bids) else None
            a = asks[i] if i < len(asks) else None
            last = book.last_trade
            rows.append(
                [
                    book.symbol if i == 0 else "",
                    book.state if i == 0 else "",
                    _qty(book, b[1]) if b else "",
                    _px(book, b[0]) if b else "",
                    _px(book, a[0]) if a else "",
                    _qty(book, a[1]) if a else "",
                    f"{_qty(book, last.qty)} @ {_px(book, last.price)}" if last and i == 0 else "",
                    _qty(book, book.volume) if i == 0 else "",
                ]
            )
    return rows


HEADERS = ["symbol", "state", "bid qty", "bid", "ask", "ask qty", "last", "volume"]


def _plain(handler: FeedHandler, depth: int) -> str:
    rows = [HEADERS, *_rows(handler.books, depth)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADERS))]
    lines = [
        f"session {handler.session} next_seq {handler.next_seq} gaps {handler.gaps} "
        f"rerequests {handler.rerequests_sent} snapshots {handler.snapshots_taken}"
    ]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


async def live(cfg: MarketDataConfig, symbols: list[str] | None, depth: int) -> int:
    handler = _handler(cfg, symbols)

    def on_message(seq: int, msg: FeedMessage) -> None:
        if type(msg) is ExecutedMsg:
            book = handler.books.instruments.get(msg.locate)
            if book is not None:
                side = "BUY " if msg.aggressor_side == SIDE_BUY else "SELL"
                stamp = time.strftime("%H:%M:%S", time.gmtime(msg.ts // 1_000_000_000))
                print(
                    f"{stamp} trade {msg.trade_id} {book.symbol} {side} "
                    f"{_qty(book, msg.qty)} @ {_px(book, msg.price)}"
                )

    try:
        import rich.console
        import rich.table

        console: Any = rich.console.Console()
    except ImportError:
        console = None
    handler.on_message = on_message
    try:
        await handler.start()
    except OSError as exc:
        print(f"feed: cannot reach the venue: {exc}", file=sys.stderr)
        return 2
    try:
        while True:
            if console is not None:
                table = rich.table.Table(title=f"session {handler.session} seq {handler.next_seq}")
                for h in HEADERS:
                    table.add_column(h, justify="right")
                for r in _rows(handler.books, depth):
                    table.add_row(*r)
                console.print(table)
            else:
                print(_plain(handler, depth), flush=True)
            await asyncio.sleep(1.0)
    finally:
        await handler.stop()


async def check(cfg: MarketDataConfig, symbols: list[str] | None, seconds: float) -> int:
    handler = _handler(cfg, symbols)
    applied: deque[tuple[int, FeedMessage]] = deque(maxlen=1_000_000)
    handler.on_message = lambda seq, msg: applied.append((seq, msg))
    try:
        await handler.start()
        await asyncio.sleep(seconds)  # let the live feed run for a while
        session, msgs, next_seq = await fetch_snapshot(
            cfg.snapshot_host, cfg.snapshot_port, symbols
        )
        await handler.wait_for_seq(next_seq, 10.0)
    except (OSError, TimeoutError) as exc:
        print(json.dumps({"ok": False, "error": f"cannot reach the venue: {exc}"}))
        await handler.stop()
        return 2
    # no await from here on: the handler's book cannot move while we compare
    reference = FeedBook()
    for body in msgs:
        reference.apply(decode(body))
    for seq, msg in applied:
        if seq >= next_seq:
            reference.apply(msg)
    same = session == handler.session and reference.view() == handler.books.view()
    result = {
        "ok": same,
        "session": session,
        "snapshot_next_seq": next_seq,
        "handler_next_seq": handler.next_seq,
        "instruments": len(reference.instruments),
        "orders": sum(len(b.orders) for b in reference.instruments.values()),
        "gaps": handler.gaps,
        "rerequests": handler.rerequests_sent,
        "errors": handler.errors,
    }
    if not same:
        result["differ"] = [
            s
            for s in sorted(set(reference.by_symbol) | set(handler.books.by_symbol))
            if reference.view().get(s) != handler.books.view().get(s)
        ]
    print(json.dumps(result))
    await handler.stop()
    return 0 if same else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", help="venue.toml (default: the embedded default configuration)")
    p.add_argument("--symbols", nargs="*", help="only these instruments")
    p.add_argument("--depth", type=int, default=1, help="price levels shown per side")
    p.add_argument("--check", action="store_true", help="compare the live book with a snapshot")
    p.add_argument("--seconds", type=float, default=3.0, help="--check: live feed time first")
    args = p.parse_args(argv)
    try:
        cfg = load_config(args.config).marketdata
    except ConfigError as exc:
        print(f"feed: configuration: {exc}", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        if args.check:
            return asyncio.run(check(cfg, args.symbols, args.seconds))
        return asyncio.run(live(cfg, args.symbols, args.depth))
    return 0


if __name__ == "__main__":
    sys.exit(main())
