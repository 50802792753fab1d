"""Index price input: the one function through which an authorised source (the admin socket,
`tools/index_feed.py`, tests) sets an instrument's index price, and the feed sources the tool
replays (a CSV file or a seeded random walk).

Invariants:
- An index price enters the venue only as a sequenced `SetIndexPrice` command (DESIGN rule 2);
  `submit_index` is a thin, checked door to `Sequencer.submit`.
- Decimal prices are converted exactly to ticks of the instrument (`decimal_to_ticks`): a price
  off the tick, non-positive or malformed is refused with `ValueError` and nothing is submitted.
- The sources are pure generators: the same CSV or the same seed yields the same prices.
"""

from __future__ import annotations

import asyncio
import csv
import random
from collections.abc import Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

from venue.core.commands import SetIndexPrice
from venue.risk.pricing import decimal_to_ticks

if TYPE_CHECKING:
    from venue.core import Engine, Event
    from venue.sequencer import Sequencer

__all__ = [
    "IndexTick",
    "csv_ticks",
    "feed_in_process",
    "index_command",
    "random_walk",
    "submit_index",
]


def index_command(engine: Engine, symbol: str, price: str, *, source: str) -> SetIndexPrice:
    """The `SetIndexPrice` for a decimal `price` of `symbol`. ValueError for an unknown symbol
    or a price that is not an exact positive multiple of the instrument's tick."""
    mkt = engine.markets.get(symbol)
    if mkt is None:
        raise ValueError(f"unknown instrument {symbol!r}")
    ticks = decimal_to_ticks(price, mkt.instrument.tick_size)
    return SetIndexPrice(symbol=symbol, price=ticks, source=source)


def submit_index(
    sequencer: Sequencer, symbol: str, price: str, *, source: str = "admin"
) -> tuple[int, list[Event]]:
    """Submit an index price given as an exact decimal string (e.g. "65000.5").

    Returns the sequencer's (seq, events). Raises ValueError (nothing submitted) for an unknown
    symbol or a price off the tick; JournalFailed / SequencerStopped as `Sequencer.submit`.
    """
    return sequencer.submit(index_command(sequencer.engine, symbol, price, source=source))


class IndexTick(msgspec.Struct, frozen=True):
    """One price of a feed: `delay_ms` after the previous one, `symbol` at decimal `price`."""

    delay_ms: int
    symbol: str
    price: str


def csv_ticks(path: Path | str) -> Iterator[IndexTick]:
    """Rows `delay_ms,symbol,price` (a header row starting with `delay_ms` is skipped; blank
    lines and lines starting with `#` too). ValueError names the line of a bad row."""
    with open(path, newline="", encoding="utf-8") as f:
        for lineno, row in enumerate(csv.reader(f), start=1):
            if not row or not row[0].strip() or row[0].lstrip().startswith("#"):
                continue
            if row[0].strip() == "delay_ms":
                continue
            if len(row) != 3 or not row[0].strip().isdigit():
                raise ValueError(f"{path}:{lineno}: expected delay_ms,symbol,price")
            yield IndexTick(int(row[0].strip()), row[1].strip(), row[2].strip())


def random_walk(
    symbol: str,
    start: str,
    tick_size: str,
    *,
    seed: int = 1,
    step_ticks: int = 10,
    interval_ms: int = 1_000,
) -> Iterator[IndexTick]:
    """An endless walk from `start`: each step moves up to `step_ticks` ticks either way, never
    below one tick. Prices are exact decimals on the tick."""
    rng = random.Random(seed)
    ticks = decimal_to_ticks(start, tick_size)
    scale = _Scale(tick_size)
    while True:
        yield IndexTick(interval_ms, symbol, scale.text(ticks))
        ticks = max(1, ticks + rng.randint(-step_ticks, step_ticks))


class _Scale:
    """Integer ticks → the shortest exact decimal text of ticks × tick_size."""

    def __init__(self, tick_size: str) -> None:
        whole, _, frac = tick_size.partition(".")
        frac = frac.rstrip("0")
        self.exp = len(frac)
        self.step = int(whole + frac) if (whole + frac).strip("0") else 0
        if self.step <= 0:
            raise ValueError(f"tick size {tick_size!r} must be positive")

    def text(self, ticks: int) -> str:
        value = ticks * self.step
        if self.exp == 0:
            return str(value)
        digits = str(value).rjust(self.exp + 1, "0")
        whole, frac = digits[: -self.exp], digits[-self.exp :].rstrip("0")
        return f"{whole}.{frac}" if frac else whole


async def feed_in_process(
    sequencer: Sequencer,
    ticks: Iterable[IndexTick],
    *,
    source: str = "index_feed",
    count: int | None = None,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> int:
    """Submit `ticks` (at most `count`) through `submit_index`, waiting each tick's delay with
    `sleep` (tests pass one that returns at once) and `Sequencer.wait_ready` (back-pressure).
    Returns how many were submitted; stops at the first refused price (ValueError)."""
    n = 0
    for tick in ticks:
        if count is not None and n >= count:
            break
        if tick.delay_ms:
            await sleep(tick.delay_ms / 1000)
        await sequencer.wait_ready()
        submit_index(sequencer, tick.symbol, tick.price, source=source)
        n += 1
    return n
