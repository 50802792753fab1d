"""Feed viewer and checker for the venue's market-data feed (fix_specs/MARKET_DATA.md).

    python tools/feed.py [--config venue.toml] [--symbols BTC-PERP ...] [--depth 1]
    python tools/feed.py --check [--seconds 3]

Live mode joins the feed (binds the unicast port, or joins the multicast group of the
configuration), takes a snapshot, applies incrementals with gap re-requests and shows the top
of book of every instrument every second: redrawn in place on a terminal (with `rich`), a new
frame per refresh otherwise (then each trade is printed as it happens too). The first line
names the feed session and the age of the last packet; when no packet (not even a heartbeat)
came for 3 s the book is marked STALE. A new feed session (the venue restarted) is followed
with a fresh snapshot; last trade and volume carry over from the previous session.

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
from venue.marketdata.client import SnapshotError  # noqa: E402
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


STALE_AFTER_S = 3.0  # three missed heartbeats (the venue sends one a second when idle)


class Carried:
    """Last trade and volume per symbol across feed sessions: a venue restart starts a new
    session whose books know no trades yet, and a person still wants the last price."""

    def __init__(self) -> None:
        self.session: str | None = None
        self.last: dict[str, str] = {}
        self.volume: dict[str, Decimal] = {}

    def keep(self, trades: dict[str, tuple[str, Decimal]]) -> None:
        """Called when the session changes, with the old session's `trade_state`."""
        for symbol, (last, volume) in trades.items():
            if last:
                self.last[symbol] = last
            self.volume[symbol] = self.volume.get(symbol, Decimal(0)) + volume


def trade_state(books: FeedBook) -> dict[str, tuple[str, Decimal]]:
    """symbol -> (last trade as text, volume) of the current session's books."""
    out = {}
    for book in books.instruments.values():
        last = book.last_trade
        text = f"{_qty(book, last.qty)} @ {_px(book, last.price)}" if last else ""
        out[book.symbol] = (text, Decimal(book.definition.lot_size) * book.volume)
    return out


def _rows(books: FeedBook, depth: int, carried: Carried | None = None) -> list[list[str]]:
    rows = []
    for book in books.instruments.values():
        bids, asks = book.depth(SIDE_BUY, depth), book.depth(SIDE_SELL, depth)
        last = book.last_trade
        last_text = f"{_qty(book, last.qty)} @ {_px(book, last.price)}" if last else ""
        volume = Decimal(book.definition.lot_size) * book.volume
        if carried is not None:
            last_text = last_text or carried.last.get(book.symbol, "")
            volume += carried.volume.get(book.symbol, Decimal(0))
        lot_places = max(0, -Decimal(book.definition.lot_size).normalize().as_tuple().exponent)
        for i in range(max(1, len(bids), len(asks))):
            b = bids[i] if i < len(bids) else None
            a = asks[i] if i < len(asks) else None
            rows.append(
                [
                    book.symbol if i == 0 else "",
                    book.state if i == 0 else "",
                    _qty(book, b[1]) if b else "",
                    _px(book, b[0]) if b else "",
                    _px(book, a[0]) if a else "",
                    _qty(book, a[1]) if a else "",
                    last_text if i == 0 else "",
                    f"{volume:.{lot_places}f}" if i == 0 else "",
                ]
            )
    return rows


HEADERS = ["symbol", "state", "bid qty", "bid", "ask", "ask qty", "last", "volume"]


def status_line(handler: FeedHandler, now: float, started: float) -> str:
    """Session, sequence, age of the last packet, and STALE when heartbeats stopped (or none
    came within STALE_AFTER_S of `started`)."""
    seen = handler.last_packet_mono
    age = "none yet" if seen is None else f"{now - seen:.1f} s ago"
    stale = now - (seen if seen is not None else started) > STALE_AFTER_S
    return (
        f"{'STALE: no packet for ' + age + ' (venue stopped?) ' if stale else ''}"
        f"feed session {handler.session or '-'} next_seq {handler.next_seq} "
        f"last packet {age} gaps {handler.gaps} rerequests {handler.rerequests_sent} "
        f"snapshots {handler.snapshots_taken}"
    )


def _plain(handler: FeedHandler, depth: int, carried: Carried, started: float) -> str:
    rows = [HEADERS, *_rows(handler.books, depth, carried)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADERS))]
    lines = [status_line(handler, time.monotonic(), started)]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def _rich_frame(handler: FeedHandler, depth: int, carried: Carried, started: float) -> Any:
    import rich.table

    line = status_line(handler, time.monotonic(), started)
    stale = line.startswith("STALE")
    table = rich.table.Table(title=f"[bold red]{line}[/]" if stale else line, title_justify="left")
    for h in HEADERS:
        table.add_column(h, justify="right")
    for r in _rows(handler.books, depth, carried):
        table.add_row(*r, style="dim" if stale else None)
    return table


async def live(
    cfg: MarketDataConfig,
    symbols: list[str] | None,
    depth: int,
    *,
    iterations: int = 0,
    interval: float = 1.0,
) -> int:
    """Redraw the books in place on a terminal (rich Live), else print a frame per refresh;
    follow a new feed session with a fresh snapshot, carrying last trade and volume over."""
    handler = _handler(cfg, symbols)
    carried = Carried()

    def on_message(seq: int, msg: FeedMessage) -> None:
        if type(msg) is ExecutedMsg and not tty:
            book = handler.books.instruments.get(msg.locate)
            if book is not None:
                side = "BUY " if msg.aggressor_side == SIDE_BUY else "SELL"
                stamp = time.strftime("%H:%M:%S", time.gmtime(msg.ts // 1_000_000_000))
                print(
                    f"{stamp} trade {msg.trade_id} {book.symbol} {side} "
                    f"{_qty(book, msg.qty)} @ {_px(book, msg.price)}"
                )

    tty = sys.stdout.isatty()
    started = time.monotonic()
    handler.on_message = on_message
    try:
        await handler.start()
    except OSError as exc:
        print(f"feed: cannot reach the venue: {exc}", file=sys.stderr)
        return 2
    carried.session = handler.session
    previous: dict[str, tuple[str, Decimal]] = {}
    with contextlib.ExitStack() as stack:
        show: Any = None
        if tty:
            with contextlib.suppress(ImportError):
                from rich.live import Live

                display = stack.enter_context(Live(auto_refresh=False))
                show = lambda: display.update(  # noqa: E731
                    _rich_frame(handler, depth, carried, started), refresh=True
                )
        if show is None:
            show = lambda: print(_plain(handler, depth, carried, started), flush=True)  # noqa: E731
        try:
            n = 0
            while True:
                if handler.session != carried.session:
                    carried.keep(previous)  # what the old session traded
                    carried.session = handler.session
                    with contextlib.suppress(OSError, SnapshotError):
                        await handler.resync()  # a fresh snapshot of the new session
                show()
                previous = trade_state(handler.books)  # the handler clears its books itself
                n += 1
                if iterations and n >= iterations:
                    return 0
                await asyncio.sleep(interval)
        finally:
            await handler.stop()
    return 0


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
    p.add_argument("--iterations", type=int, default=0, help="stop after N refreshes (0: never)")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between refreshes")
    args = p.parse_args(argv)
    try:
        cfg = load_config(args.config).marketdata
    except ConfigError as exc:
        print(f"feed: configuration: {exc}", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        if args.check:
            return asyncio.run(check(cfg, args.symbols, args.seconds))
        return asyncio.run(
            live(cfg, args.symbols, args.depth, iterations=args.iterations, interval=args.interval)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
