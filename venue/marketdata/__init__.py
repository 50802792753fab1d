"""venue.marketdata: the sequenced market-data feed (DESIGN.md section 6).

Public surface:
- `MarketDataPublisher(config, sequencer, clock)`: committed events → MoldUDP64 packets, with
  its re-request server and SoupBinTCP snapshot server (`start()` / `stop()`).
- `FeedHandler`: the reusable asyncio client (snapshot, incrementals, gap re-requests, books);
  `fetch_snapshot` for a one-off snapshot.
- `FeedBook` (books from feed messages), the message layouts (`messages`) and framing
  (`framing`), all documented byte by byte in fix_specs/MARKET_DATA.md.

Invariant: this package reads committed events only (through `Sequencer.subscribe`) and never
imports the FIX engine, the gateway or admin.
"""

from venue.marketdata.book import BookError, FeedBook, InstrumentBook
from venue.marketdata.client import FeedHandler, SnapshotError, fetch_snapshot
from venue.marketdata.publisher import MarketDataPublisher, derive_session
from venue.marketdata.translate import FeedTranslator

__all__ = [
    "BookError",
    "FeedBook",
    "FeedHandler",
    "FeedTranslator",
    "InstrumentBook",
    "MarketDataPublisher",
    "SnapshotError",
    "derive_session",
    "fetch_snapshot",
]
