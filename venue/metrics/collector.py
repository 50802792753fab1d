"""The venue's Prometheus metrics, kept as plain numbers on the event loop's thread and turned
into `prometheus_client` metric families only when scraped.

Names (all prefixed `venue_`): sessions connected and configured; FIX messages in and out by
MsgType; orders accepted, order rejects by reason, fills, cancel rejects by reason;
order-to-acknowledgement latency (receive to release of the batch that holds it) and commit
latency as histograms with microsecond-granular buckets (in seconds, as Prometheus names
them), commit batch size; journal last and committed seq; event-loop lag; feed packets,
messages and re-requests; insurance fund (USD); open interest per instrument (contracts).

Invariants:
- Nothing here runs on another thread: the hot path only bumps plain ints and lists, and
  `collect()` runs on the loop's thread too (`MetricsServer` serves from the loop), so it reads
  the engine and the gateway between two commands, never during one.
- Hot-path cost is per batch where possible: one call per committed batch (sizes, commit
  latency, acknowledgement latencies of the orders it released); per committed command, one
  pass over its events; per order, one append of (seq, ts_recv). Message counts by type are
  the gateway's own dicts.
- Reads only: collecting never changes venue state.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Protocol

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from venue.core import Command, Engine, Event
from venue.core.events import CancelRejected, OrderAccepted, OrderFilled, OrderRejected
from venue.core.types import MONEY_SCALE

__all__ = ["Histogram", "VenueMetrics"]

_US = 1e-6
LATENCY_BUCKETS_S = tuple(
    us * _US
    for us in (5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 50_000, 100_000, 1_000_000)
)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096)
LAG_BUCKETS_S = tuple(
    us * _US for us in (100, 500, 1000, 5000, 10_000, 50_000, 100_000, 500_000, 1_000_000)
)


class Histogram:
    """Counts per bucket (upper bounds, `le`), sum and count; observe is one bisect."""

    __slots__ = ("bounds", "count", "counts", "sum")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = list(bounds)
        self.counts = [0] * (len(self.bounds) + 1)  # the last one: above every bound (+Inf)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value
        self.count += 1

    def family(self, name: str, doc: str) -> HistogramMetricFamily:
        buckets, total = [], 0
        for bound, n in zip([*self.bounds, float("inf")], self.counts, strict=True):
            total += n
            buckets.append(("+Inf" if bound == float("inf") else repr(bound), float(total)))
        return HistogramMetricFamily(name, doc, buckets=buckets, sum_value=self.sum)


class Sessions(Protocol):
    """What the metrics read of the FIX gateway (`venue.gateway.Gateway`)."""

    messages_in: dict[bytes, int]
    messages_out: dict[bytes, int]

    def session_status(self) -> list[dict[str, object]]: ...


class Feed(Protocol):
    """What the metrics read of the market-data publisher."""

    packets_sent: int
    messages_sent: int
    rerequests_answered: int
    rerequests_ignored: int


class VenueMetrics(Collector):
    def __init__(
        self,
        *,
        engine: Engine,
        now_ns: Callable[[], int],
        mono_ns: Callable[[], int],
        journal_seqs: Callable[[], tuple[int, int]],
        sessions: Sessions | None = None,
        feed: Feed | None = None,
    ) -> None:
        self._engine = engine
        self._now_ns = now_ns
        self._mono_ns = mono_ns
        self._journal_seqs = journal_seqs
        self.sessions = sessions
        self.feed = feed
        self.orders_accepted = 0
        self.fills = 0
        self.order_rejects: dict[str, int] = {}
        self.cancel_rejects: dict[str, int] = {}
        self.ack_latency = Histogram(LATENCY_BUCKETS_S)
        self.commit_latency = Histogram(LATENCY_BUCKETS_S)
        self.batch_size = Histogram(BATCH_BUCKETS)
        self.loop_lag = Histogram(LAG_BUCKETS_S)
        # (seq, ts_recv) of orders submitted and not yet released; seqs ascend
        self.awaiting_ack: deque[tuple[int, int]] = deque()

    # -- feeding (loop thread) ------------------------------------------------------------------

    def order_submitted(self, seq: int, ts_recv: int) -> None:
        self.awaiting_ack.append((seq, ts_recv))

    def on_batch(self, commands: int, commit_ns: int, committed_seq: int) -> None:
        """After a batch committed and released (one call per batch)."""
        self.batch_size.observe(commands)
        self.commit_latency.observe(commit_ns * 1e-9)
        waiting = self.awaiting_ack
        if waiting and waiting[0][0] <= committed_seq:
            now = self._now_ns()
            observe = self.ack_latency.observe
            while waiting and waiting[0][0] <= committed_seq:
                observe((now - waiting.popleft()[1]) * 1e-9)

    def on_committed(self, seq: int, ts: int, cmd: Command, events: list[Event]) -> None:
        for ev in events:
            t = type(ev)
            if t is OrderFilled:
                self.fills += 1
            elif t is OrderAccepted:
                self.orders_accepted += 1
            elif t is OrderRejected:
                assert isinstance(ev, OrderRejected)
                name = ev.reason.name
                self.order_rejects[name] = self.order_rejects.get(name, 0) + 1
            elif t is CancelRejected:
                assert isinstance(ev, CancelRejected)
                name = ev.reason.name
                self.cancel_rejects[name] = self.cancel_rejects.get(name, 0) + 1

    async def watch_loop_lag(self, interval_s: float = 0.25) -> None:
        """How late the loop wakes a sleeper: the lag every other task sees too."""
        while True:
            start = self._mono_ns()
            await asyncio.sleep(interval_s)
            late = (self._mono_ns() - start) * 1e-9 - interval_s
            self.loop_lag.observe(max(0.0, late))

    # -- collecting (loop thread, at scrape time) ------------------------------------------------

    def collect(self) -> Iterator[Metric]:
        yield from self._session_metrics()
        yield from self._order_metrics()
        yield self.ack_latency.family(
            "venue_order_ack_latency_seconds",
            "Order receive to release of the batch holding its acknowledgement",
        )
        yield self.commit_latency.family(
            "venue_commit_latency_seconds", "Journal commit of one batch"
        )
        yield self.batch_size.family("venue_commit_batch_commands", "Commands per commit batch")
        yield self.loop_lag.family(
            "venue_event_loop_lag_seconds", "How late the event loop wakes a sleeping task"
        )
        last, committed = self._journal_seqs()
        g = GaugeMetricFamily("venue_journal_seq", "Journal sequence number", labels=["state"])
        g.add_metric(["last"], last)
        g.add_metric(["committed"], committed)
        yield g
        yield from self._feed_metrics()
        yield from self._market_metrics()

    def _session_metrics(self) -> Iterator[Metric]:
        if self.sessions is None:
            return
        status = self.sessions.session_status()
        g = GaugeMetricFamily("venue_sessions", "FIX sessions", labels=["state"])
        g.add_metric(["configured"], len(status))
        g.add_metric(["connected"], sum(1 for s in status if s["state"] == "active"))
        yield g
        for direction, counts in (
            ("in", self.sessions.messages_in),
            ("out", self.sessions.messages_out),
        ):
            c = CounterMetricFamily(
                f"venue_fix_messages_{direction}",
                f"FIX messages {'received' if direction == 'in' else 'sent'} by MsgType",
                labels=["msg_type"],
            )
            for msg_type, n in sorted(counts.items()):
                c.add_metric([msg_type.decode("latin-1")], n)
            yield c

    def _order_metrics(self) -> Iterator[Metric]:
        c = CounterMetricFamily("venue_orders_accepted", "Orders accepted by the core")
        c.add_metric([], self.orders_accepted)
        yield c
        c = CounterMetricFamily("venue_fills", "Order fills (two per trade)")
        c.add_metric([], self.fills)
        yield c
        for name, doc, counts in (
            ("venue_order_rejects", "Orders rejected by the core, by reason", self.order_rejects),
            ("venue_cancel_rejects", "Cancels/replaces rejected, by reason", self.cancel_rejects),
        ):
            c = CounterMetricFamily(name, doc, labels=["reason"])
            for reason, n in sorted(counts.items()):
                c.add_metric([reason], n)
            yield c

    def _feed_metrics(self) -> Iterator[Metric]:
        feed = self.feed
        if feed is None:
            return
        c = CounterMetricFamily("venue_feed_packets", "MoldUDP64 packets sent (live feed)")
        c.add_metric([], feed.packets_sent)
        yield c
        c = CounterMetricFamily("venue_feed_messages", "Feed messages sent")
        c.add_metric([], feed.messages_sent)
        yield c
        c = CounterMetricFamily("venue_feed_rerequests", "Re-requests", labels=["result"])
        c.add_metric(["answered"], feed.rerequests_answered)
        c.add_metric(["ignored"], feed.rerequests_ignored)
        yield c

    def _market_metrics(self) -> Iterator[Metric]:
        engine = self._engine
        g = GaugeMetricFamily("venue_insurance_fund_usd", "Insurance fund balance (USD)")
        g.add_metric([], float(Decimal(engine.insurance_fund) / MONEY_SCALE))
        yield g
        g = GaugeMetricFamily(
            "venue_open_interest_contracts", "Open interest (long side)", labels=["symbol"]
        )
        for symbol, mkt in list(engine.markets.items()):
            lots = engine.open_interest(symbol)[0]
            g.add_metric([symbol], float(Decimal(lots) * Decimal(mkt.instrument.lot_size)))
        yield g
