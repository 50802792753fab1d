"""The risk monitor: mark prices, funding, liquidation triggers and futures expiry/settlement.

It reads committed events (`Sequencer.subscribe`) and read-only engine queries, and only ever
*submits commands* (DESIGN.md rule 4): `SetMarkPrice`, `ApplyFunding`, `Liquidate`,
`ExpireInstrument`, `SettleInstrument`. Like `venue.risk.expiry`, the decisions are a pure
`due(now_ns) -> list[Command]` and `run_monitor` is the small async loop that reads the clock
and submits.

Invariants:
- `due` never reads a clock and never mutates the engine; the time is its argument (the
  sequencer's clock in `run_monitor`, a `ManualClock` in tests). Integers only.
- Index staleness mirrors the core's rule: an instrument with a staleness limit (its
  `index_stale_ns`, else `RiskConfig.index_stale_seconds`; 0 = unchecked) is stale when no
  index was ever set or the last committed `IndexPriceSet` is older than the limit:
  its mark stops moving, it gets no premium samples, and accounts holding it are not submitted
  for liquidation (the core pauses them too). Transitions are logged (`index_stale`,
  `index_fresh`) and `stale_symbols()` answers the current set.
- Mark price: one premium sample per `mark_sample_ms` per instrument with a fresh index, from
  the impact bid and ask (`venue.risk.pricing.impact_price`) of the instrument's impact notional
  (its own, else `RiskConfig.impact_notional_usd`), a window of the last
  `mark_window_samples`; `SetMarkPrice` only when the mark differs from the engine's, and at
  most once per `mark_min_interval_ms` per instrument.
- Funding: at each multiple of `funding_interval_seconds` after start-up, one `ApplyFunding`
  per open perpetual with a mark, with the rate of the premium samples since the previous
  funding time; the samples then start over. A funding time the venue was down for is skipped.
- Liquidation: an account is checked when something that moves its equity or margin commits
  (an index or mark of an instrument it holds, its fills, balance changes, funding,
  settlement), not on every tick; at most
  `liquidation_checks_per_tick` checks per `due`. `Liquidate` is submitted only when the
  core's own predicate says the account is liquidatable (`Engine.liquidatable`: an isolated
  position below its maintenance margin on its own, or the cross part below the cross
  positions' maintenance margin on its own), never while one for the account is in flight
  (submitted, not yet seen committed), and not again within `liquidation_retry_ms` of the
  last one committing.
- Statistics: at most once per `statistics_interval_ms` per instrument, one
  `PublishStatistics` when something it reports changed since the last one (a fill, an index,
  mark, funding, auto-deleveraging or settlement of the instrument committed, or the funding
  outlook moved): a perpetual's predicted rate is the funding rate of the premium samples
  taken since the previous funding time (`funding_rate_ppb`, the rule funding applies), and
  its next funding time the next multiple of `funding_interval_seconds`.
- Options: `venue.risk.option_marks.OptionMarker` mirrors each series' underlying index and
  submits its Black-76 mark and Greeks (`SetOptionMarks`); the impact-price mark above is
  not used for options. Holders are rechecked when an option's marks commit.
- Futures and options: at `expiry_ts` one `ExpireInstrument`, then one `SettleInstrument` at the
  time-weighted index average over the last `settlement_window_seconds` (from committed
  `IndexPriceSet` events; fallback: the index in force, then the mark, then the reference
  price, logged). Each is submitted at most once per process; the core refuses repeats.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING

from venue.core.commands import (
    ApplyFunding,
    ExpireInstrument,
    Liquidate,
    PublishStatistics,
    SetMarkPrice,
    SettleInstrument,
)
from venue.core.events import (
    AdlExecuted,
    BalanceChanged,
    FundingApplied,
    IndexPriceSet,
    InstrumentAdded,
    InstrumentSettled,
    MarkPriceSet,
    OptionMarksSet,
    OrderFilled,
    PositionSettled,
)
from venue.core.types import MONEY_SCALE, InstrumentKind, InstrumentState
from venue.log import get_logger
from venue.risk.option_marks import OptionMarker
from venue.risk.pricing import (
    funding_rate_ppb,
    impact_price,
    mark_price,
    next_boundary,
    premium_ppb,
    premium_ticks,
    settlement_price,
)
from venue.risk.settings import RiskConfig

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from venue.clock import Clock
    from venue.core import Command, Engine, Event
    from venue.core.book import BookSide
    from venue.sequencer import Sequencer

__all__ = ["RiskMonitor", "run_monitor"]

_log = get_logger("venue.risk.monitor")
_MS = 1_000_000
_SEC = 1_000_000_000
_EXPIRED = InstrumentState.EXPIRED
_PERPETUAL = InstrumentKind.PERPETUAL
_FUTURE = InstrumentKind.FUTURE
_DATED = (InstrumentKind.FUTURE, InstrumentKind.OPTION)  # expire and settle on the index
# events that change what an instrument's statistics report (all carry the symbol)
_MOVES_STATISTICS = (
    OrderFilled,
    IndexPriceSet,
    MarkPriceSet,
    OptionMarksSet,
    FundingApplied,
    AdlExecuted,
    PositionSettled,
)


class _Symbol:
    """What the monitor keeps per instrument."""

    __slots__ = (
        "expire_sent",
        "history",
        "index",
        "index_ts",
        "last_mark_submit",
        "premiums",
        "settle_sent",
        "stale",
        "statistics_due",
        "window",
    )

    def __init__(self, window: int) -> None:
        self.index = 0  # 0: no index yet
        self.index_ts = 0
        self.stale = False
        self.window: deque[int] = deque(maxlen=window)  # premium samples (ticks) for the mark
        self.premiums: list[int] = []  # premium samples (ppb) since the last funding time
        self.last_mark_submit = -(1 << 62)
        self.history: list[tuple[int, int]] = []  # (ts, index) kept for futures' settlement
        self.expire_sent = False
        self.settle_sent = False
        self.statistics_due = True  # something reported changed since the last publication


class RiskMonitor:
    """Decides what risk commands to submit. See the module docstring."""

    def __init__(
        self,
        engine: Engine,
        config: RiskConfig,
        *,
        now_ns: int,
        impact_notional: Mapping[str, int] | None = None,
    ) -> None:
        """`impact_notional`: symbol → money units, for instruments with their own (config)."""
        self._engine = engine
        self._cfg = config
        self._impact = dict(impact_notional or {})
        self._impact_default = config.impact_notional_usd * MONEY_SCALE
        self._symbols: dict[str, _Symbol] = {}
        self._holders: dict[str, dict[str, None]] = {}  # symbol -> accounts that may hold it
        self._candidates: dict[str, None] = {}  # accounts to check, in arrival order
        self._in_flight: dict[str, None] = {}  # Liquidate submitted, not yet seen committed
        self._retry: dict[str, int] = {}  # account -> earliest time of the next Liquidate
        self._next_mark_sample = now_ns
        self._next_premium_sample = now_ns
        self._next_statistics = now_ns
        funding_ns = config.funding_interval_seconds * _SEC
        self._next_funding = next_boundary(now_ns, funding_ns)
        for symbol, mkt in engine.markets.items():
            st = self._symbols[symbol] = _Symbol(config.mark_window_samples)
            if mkt.index_ts >= 0:  # recovered from the journal
                st.index, st.index_ts = mkt.index_price, mkt.index_ts
                if mkt.instrument.kind in _DATED:
                    st.history.append((mkt.index_ts, mkt.index_price))
        self._options = OptionMarker(engine, config)
        for account, acct in engine.accounts.items():
            self._candidates[account] = None
            for symbol in acct.positions:
                self._holders.setdefault(symbol, {})[account] = None

    # -- committed events -----------------------------------------------------------------------

    def on_committed(self, seq: int, ts: int, cmd: Command, events: list[Event]) -> None:
        """Sequencer subscriber: learn index prices, marks, fills, funding, settlements."""
        if type(cmd) is Liquidate:
            self._in_flight.pop(cmd.account, None)
            self._retry[cmd.account] = ts + self._cfg.liquidation_retry_ms * _MS
            self._candidates[cmd.account] = None
        for ev in events:
            tp = type(ev)
            if tp in _MOVES_STATISTICS:
                st = self._symbols.get(ev.symbol)  # type: ignore[union-attr]
                if st is not None:
                    st.statistics_due = True
            if tp is OrderFilled:
                assert isinstance(ev, OrderFilled)
                self._holders.setdefault(ev.symbol, {})[ev.account] = None
                self._candidates[ev.account] = None
            elif tp is IndexPriceSet:
                assert isinstance(ev, IndexPriceSet)
                self._on_index(ev)
            elif (
                tp is MarkPriceSet
                or tp is OptionMarksSet
                or tp is FundingApplied
                or tp is InstrumentSettled
            ):
                symbol: str = ev.symbol  # type: ignore[union-attr]
                self._candidates.update(self._holders.get(symbol, {}))
            elif tp is BalanceChanged:
                assert isinstance(ev, BalanceChanged)
                self._candidates[ev.account] = None
            elif tp is InstrumentAdded:
                assert isinstance(ev, InstrumentAdded)
                self._symbols.setdefault(
                    ev.instrument.symbol, _Symbol(self._cfg.mark_window_samples)
                )

    def _on_index(self, ev: IndexPriceSet) -> None:
        st = self._symbols.get(ev.symbol)
        if st is None:
            st = self._symbols[ev.symbol] = _Symbol(self._cfg.mark_window_samples)
        st.index = ev.price
        st.index_ts = ev.ts
        if st.stale:
            st.stale = False
            _log.info("index_fresh", symbol=ev.symbol)
        # until a mark is set the core values positions at the index: recheck the holders
        self._candidates.update(self._holders.get(ev.symbol, {}))
        mkt = self._engine.markets.get(ev.symbol)
        if mkt is not None and mkt.instrument.kind in _DATED and mkt.instrument.expiry_ts:
            start = mkt.instrument.expiry_ts - self._cfg.settlement_window_seconds * _SEC
            hist = st.history
            hist.append((ev.ts, ev.price))
            # keep one price at or before the window start (the one in force there)
            drop = 0
            while drop + 1 < len(hist) and hist[drop + 1][0] <= start:
                drop += 1
            if drop:
                del hist[:drop]

    # -- decisions --------------------------------------------------------------------------------

    @property
    def config(self) -> RiskConfig:
        return self._cfg

    def stale_symbols(self) -> list[str]:
        """Instruments whose index is stale (as of the last `due`)."""
        return [s for s, st in self._symbols.items() if st.stale]

    @property
    def next_funding_ns(self) -> int:
        return self._next_funding

    @property
    def in_flight(self) -> list[str]:
        """Accounts with a `Liquidate` submitted but not yet committed."""
        return list(self._in_flight)

    def due(self, now_ns: int) -> list[Command]:
        """The commands to submit at `now_ns`, in order. Records what it returns as submitted."""
        out: list[Command] = []
        self._check_staleness(now_ns)
        self._expiries(now_ns, out)
        out += self._options.due(now_ns)
        if now_ns >= self._next_premium_sample:
            self._sample_premiums()
            self._next_premium_sample = now_ns + self._cfg.premium_sample_seconds * _SEC
        if now_ns >= self._next_funding:
            self._funding(out)
            self._next_funding = next_boundary(now_ns, self._cfg.funding_interval_seconds * _SEC)
        if now_ns >= self._next_mark_sample:
            self._marks(now_ns, out)
            self._next_mark_sample = now_ns + self._cfg.mark_sample_ms * _MS
        if now_ns >= self._next_statistics:
            self._statistics(now_ns, out)
            self._next_statistics = now_ns + self._cfg.statistics_interval_ms * _MS
        self._liquidations(now_ns, out)
        return out

    def _stale_ns(self, symbol: str) -> int:
        mkt = self._engine.markets.get(symbol)
        own = mkt.instrument.index_stale_ns if mkt is not None else 0
        return own if own > 0 else self._cfg.index_stale_seconds * _SEC

    def _check_staleness(self, now_ns: int) -> None:
        for symbol, st in self._symbols.items():
            limit = self._stale_ns(symbol)
            stale = limit > 0 and (not st.index or now_ns - st.index_ts > limit)
            if stale and not st.stale:
                st.stale = True
                st.window.clear()
                _log.warning(
                    "index_stale",
                    symbol=symbol,
                    age_ms=(now_ns - st.index_ts) // _MS if st.index else None,
                    effect="risk-increasing orders refused, liquidations paused",
                )
            elif st.stale and not stale:
                st.stale = False

    def impact_prices(self, symbol: str) -> tuple[int | None, int | None]:
        """(impact bid, impact ask) of `symbol` now, in ticks; None for a side too thin."""
        mkt = self._engine.markets[symbol]
        notional = self._impact.get(symbol, self._impact_default)
        factor = mkt.factor
        return (
            impact_price(_levels(mkt.bids), notional, factor, bid=True),
            impact_price(_levels(mkt.asks), notional, factor, bid=False),
        )

    def _live(self, symbol: str, st: _Symbol) -> bool:
        mkt = self._engine.markets.get(symbol)
        return mkt is not None and mkt.state != _EXPIRED and bool(st.index) and not st.stale

    def _marks(self, now_ns: int, out: list[Command]) -> None:
        cfg = self._cfg
        for symbol, st in self._symbols.items():
            if not self._live(symbol, st) or self._engine.markets[symbol].option is not None:
                continue  # an option's mark is Black-76 (`venue.risk.option_marks`)
            bid, ask = self.impact_prices(symbol)
            st.window.append(premium_ticks(bid, ask, st.index))
            mark = mark_price(st.index, st.window, cfg.mark_clamp_ppb)
            if mark == self._engine.mark_price(symbol):
                continue
            if now_ns - st.last_mark_submit < cfg.mark_min_interval_ms * _MS:
                continue
            st.last_mark_submit = now_ns
            out.append(SetMarkPrice(symbol=symbol, price=mark))

    def _sample_premiums(self) -> None:
        for symbol, st in self._symbols.items():
            mkt = self._engine.markets.get(symbol)
            if mkt is None or mkt.instrument.kind != _PERPETUAL or not self._live(symbol, st):
                continue
            bid, ask = self.impact_prices(symbol)
            st.premiums.append(premium_ppb(premium_ticks(bid, ask, st.index), st.index))

    def _funding(self, out: list[Command]) -> None:
        cfg = self._cfg
        for symbol, st in self._symbols.items():
            mkt = self._engine.markets.get(symbol)
            samples, st.premiums = st.premiums, []
            if mkt is None or mkt.instrument.kind != _PERPETUAL or mkt.state == _EXPIRED:
                continue
            if not self._engine.mark_price(symbol):
                _log.warning("funding_skipped", symbol=symbol, reason="no mark price")
                continue
            rate = funding_rate_ppb(
                samples, cfg.interest_rate_ppb, cfg.funding_clamp_ppb, cfg.funding_cap_ppb
            )
            out.append(ApplyFunding(symbol=symbol, rate_ppb=rate))

    def predicted_rate_ppb(self, symbol: str) -> int:
        """The rate the next funding of `symbol` would apply if it were due now (ppb)."""
        st = self._symbols.get(symbol)
        cfg = self._cfg
        samples = st.premiums if st is not None else []
        return funding_rate_ppb(
            samples, cfg.interest_rate_ppb, cfg.funding_clamp_ppb, cfg.funding_cap_ppb
        )

    def _statistics(self, now_ns: int, out: list[Command]) -> None:
        for symbol, st in self._symbols.items():
            mkt = self._engine.markets.get(symbol)
            if mkt is None:
                continue
            rate = next_ts = 0
            if mkt.instrument.kind == _PERPETUAL and mkt.state != _EXPIRED:
                rate, next_ts = self.predicted_rate_ppb(symbol), self._next_funding
            if not st.statistics_due and (rate, next_ts) == (
                mkt.predicted_rate_ppb,
                mkt.next_funding_ts,
            ):
                continue
            st.statistics_due = False
            out.append(
                PublishStatistics(symbol=symbol, predicted_rate_ppb=rate, next_funding_ts=next_ts)
            )

    def _expiries(self, now_ns: int, out: list[Command]) -> None:
        window_ns = self._cfg.settlement_window_seconds * _SEC
        for symbol, st in self._symbols.items():
            mkt = self._engine.markets.get(symbol)
            if mkt is None or mkt.instrument.kind not in _DATED:
                continue
            expiry = mkt.instrument.expiry_ts
            if not expiry or now_ns < expiry or st.settle_sent or mkt.settled:
                continue
            if not st.expire_sent and mkt.state != _EXPIRED:
                out.append(ExpireInstrument(symbol=symbol))
            st.expire_sent = True
            price = self.settlement_price(symbol, expiry - window_ns, expiry)
            if price is None:
                price = self._engine.mark_price(symbol) or mkt.ref_price
                _log.error("settlement_without_index", symbol=symbol, price=price)
            out.append(SettleInstrument(symbol=symbol, price=price))
            st.settle_sent = True

    def settlement_price(self, symbol: str, start_ns: int, end_ns: int) -> int | None:
        """TWAP of the committed index of `symbol` over [start_ns, end_ns), or None."""
        st = self._symbols.get(symbol)
        if st is None:
            return None
        hist = st.history
        before = None
        changes = hist
        if hist and hist[0][0] <= start_ns:
            before = hist[0][1]
            changes = hist[1:]
        return settlement_price(changes, start_ns, end_ns, before)

    def _liquidations(self, now_ns: int, out: list[Command]) -> None:
        budget = self._cfg.liquidation_checks_per_tick
        cands = self._candidates
        engine = self._engine
        deferred: list[str] = []
        while cands and budget > 0:
            account = next(iter(cands))
            del cands[account]
            if account in self._in_flight:
                continue  # rechecked when its Liquidate commits
            if self._retry.get(account, 0) > now_ns:
                deferred.append(account)
                continue
            budget -= 1
            if not engine.liquidatable(account):  # the core's own predicate, not a copy
                continue
            if self._holds_stale(account):
                _log.warning("liquidation_paused", account=account, reason="index stale")
                continue  # rechecked when the index is fresh again
            self._in_flight[account] = None
            out.append(Liquidate(account=account))
        for account in deferred:
            cands[account] = None

    def _holds_stale(self, account: str) -> bool:
        acct = self._engine.accounts.get(account)
        if acct is None:
            return False
        for symbol in acct.positions:
            st = self._symbols.get(symbol)
            if st is not None and st.stale:
                return True
        return False


def _levels(side: BookSide) -> Iterator[tuple[int, int]]:
    """(price, quantity) of a side of the engine's book, best level first (read only)."""
    levels, sign = side.levels, side.sign
    for key in reversed(side.keys):
        level = levels[sign * key]
        yield level.price, level.qty


async def run_monitor(monitor: RiskMonitor, sequencer: Sequencer, clock: Clock) -> None:
    """Every `tick_ms`, submit what `monitor.due` answers. Runs until cancelled; returns when
    the journal fails (the venue then stops)."""
    interval = monitor.config.tick_ms / 1000
    summary = _Summary(clock.monotonic_ns())
    while True:
        try:
            await sequencer.wait_ready()
        except Exception as exc:  # JournalFailed: the venue stops
            _log.error("risk_monitor_stopped", error=str(exc))
            return
        for cmd in monitor.due(clock.now_ns()):
            try:
                seq, events = sequencer.submit(cmd)
            except Exception as exc:  # a failed journal stops the venue; do not spin on it
                _log.error("risk_submit_failed", command=type(cmd).__name__, error=str(exc))
                return
            name = type(cmd).__name__
            # the mark moves every tick: one line each would bury everything else
            level = _log.debug if name in _PERIODIC else _log.info
            level("risk_command", command=name, seq=seq, events=len(events))
            summary.count(name)
        summary.maybe_log(clock.monotonic_ns())
        await asyncio.sleep(interval)


_PERIODIC = frozenset({"SetMarkPrice"})
SUMMARY_EVERY_NS = 60 * 1_000_000_000


class _Summary:
    """Counts the risk monitor's commands; one `risk_summary` info line a minute when any."""

    def __init__(self, now_ns: int) -> None:
        self.since_ns = now_ns
        self.counts: dict[str, int] = {}

    def count(self, name: str) -> None:
        self.counts[name] = self.counts.get(name, 0) + 1

    def maybe_log(self, now_ns: int) -> None:
        if now_ns - self.since_ns < SUMMARY_EVERY_NS:
            return
        if self.counts:
            seconds = (now_ns - self.since_ns) // 1_000_000_000
            _log.info("risk_summary", seconds=seconds, commands=dict(sorted(self.counts.items())))
        self.since_ns, self.counts = now_ns, {}
