"""Market data over FIX: the application behind the gateway's seam for MarketDataRequest (V).

Serves sessions of role `marketdata`, and `trading` sessions whose configuration sets
`fix_marketdata = true`. A request (decoded by `venue.fix.mapping_md`) is answered with one
MarketDataSnapshotFullRefresh (W) per instrument; a subscription (263=1) then gets
MarketDataIncrementalRefresh (X) messages after every commit batch that changed what it
watches. The book is aggregated price levels (AggregatedBook 266=Y), kept by a `LevelSource`
(`venue.marketdata.levels.LevelFeed`, which reuses the feed's translator and book; handed in by
`venue.app`, since the gateway does not import `venue.marketdata`).

Invariants:
- Output only after durable: the level source is fed from `Sequencer.subscribe` (committed
  commands only), so W shows the committed book, and X messages leave through `Gateway.send`,
  which numbers, stores and writes them after the batch they were queued in commits.
- One X per subscription per commit batch (at most `max_entries` entries each; more are split
  over several X), conflated: a level that changed several times in the batch appears once,
  with its size at the end of the batch. Trades are never conflated: one entry each, in order.
- After applying, in order, the W and every X of a subscription, a client keyed by
  (MDEntryType, MDEntryPx) holds exactly the venue's committed levels (the best `depth` per
  side, or all) at the end of the last batch. `_views[(symbol, side, depth)]` is what every
  such client holds after the last flush (a W is taken only when nothing is pending: a request
  flushes first), and every X is the difference between it and the book.
- Changes are noted only while a subscription exists (`LevelSource.track`); the book itself
  is always kept. With the feed publisher's translator shared (`LevelFeed(shared=...)`), the
  level source translates nothing itself: construct this after the publisher, so that its
  subscriber runs after the publisher's for every command.
- Statistics (index `3`, mark `x`, funding rate `y`, predicted rate `z`, open interest `C`)
  come from the latest statistics the level source holds (the feed's `S`): W carries those
  asked for that have a value; each later `S` of a watched instrument adds the same entries to
  that batch's X (279=0, each replacing its type's previous value). They are not conflated
  with the book: a batch with a new `S` always gets them.
- Work is bounded: at most `max_subscriptions` per session (281=2 beyond), MDReqIDs of at most
  64 bytes. A flush computes the entries of each (symbol, side, depth) view once (the changed
  levels of a full book, `depth` levels per changed side otherwise) and the X bodies once per
  subscription shape; per subscription only the MDReqID is added. A reader that does not keep
  up is cut off by the gateway's slow-consumer limit; its subscriptions end with its session.
- Entitlement: another role's V gets BusinessMessageReject 380=6; a trading session without
  `fix_marketdata` gets MarketDataRequestReject 281=3. Subscriptions end with the connection
  and with a sequence reset; a client subscribes again after its next Logon.
- Never raises into the gateway or the sequencer on bad input (DESIGN rule 6).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from venue.config import SessionConfig
from venue.core.types import Side
from venue.fix.codec import FixMessage
from venue.fix.mapping_md import (
    BID,
    CHANGE,
    DELETE,
    DUPLICATE_MD_REQ_ID,
    INSUFFICIENT_BANDWIDTH,
    INSUFFICIENT_PERMISSIONS,
    NEW,
    OFFER,
    SUBSCRIBE,
    UNSUBSCRIBE,
    MarketDataQuery,
    StatisticsLike,
    decode_market_data_request,
    incremental_refresh,
    level_entry,
    reject_body,
    snapshot_full_refresh,
    statistics_entries,
    trade_entry,
)
from venue.fix.mapping_num import InstrumentSpec
from venue.fix.mapping_out import Body, business_reject
from venue.gateway.application import Outbound
from venue.log import get_logger

if TYPE_CHECKING:
    from venue.core import Command, Event
    from venue.sequencer import Sequencer

__all__ = ["FixMarketData", "LevelSource"]

_log = get_logger("venue.marketdata_fix")

Send = Callable[[list[Outbound]], None]
_NONE, _NOT_ENABLED, _ENTITLED = 0, 1, 2  # a session's access to market data
_NOT_PERMITTED = "market data is not permitted on this session"
Level = tuple[int, int]  # (qty, number of orders)
ViewKey = tuple[str, Side, int]  # (symbol, side, depth: 0 = all levels)
_ENTRY_TYPE = {Side.BUY: BID, Side.SELL: OFFER}
Shape = tuple[tuple[str, ...], tuple[Side, ...], int, bool, tuple[bytes, ...]]
"""What a subscription watches: symbols, sides, depth, trades, statistics types."""


class TradeLike(Protocol):
    @property
    def symbol(self) -> str: ...
    @property
    def ts(self) -> int: ...
    @property
    def trade_id(self) -> int: ...
    @property
    def price(self) -> int: ...
    @property
    def qty(self) -> int: ...


class ChangesLike(Protocol):
    @property
    def levels(self) -> Mapping[str, Mapping[tuple[Side, int], None]]: ...
    @property
    def trades(self) -> Sequence[TradeLike]: ...
    @property
    def statistics(self) -> Mapping[str, None]: ...


class LevelSource(Protocol):
    """The committed book as price levels (`venue.marketdata.levels.LevelFeed`)."""

    def on_command(self, ts: int, events: Sequence[Event]) -> None: ...
    def take_changes(self) -> ChangesLike: ...
    def track(self, on: bool) -> None: ...
    def has(self, symbol: str) -> bool: ...
    def levels(self, symbol: str, side: Side, depth: int = 0) -> list[tuple[int, int, int]]: ...
    def level(self, symbol: str, side: Side, price: int) -> tuple[int, int] | None: ...
    def last_trade(self, symbol: str) -> TradeLike | None: ...
    def statistics(self, symbol: str) -> StatisticsLike | None: ...
    def option_marks(self, symbol: str) -> Sequence[int] | None: ...


class _Subscription:
    """What one MDReqID of one session watches."""

    __slots__ = ("depth", "md_req_id", "session", "sides", "stats", "symbols", "trades")

    def __init__(self, session: str, q: MarketDataQuery) -> None:
        self.session = session
        self.md_req_id = q.md_req_id
        self.depth = q.market_depth
        self.trades = q.trades
        self.stats = q.statistics
        self.symbols = q.symbols
        self.sides: list[Side] = []
        if q.bids:
            self.sides.append(Side.BUY)
        if q.offers:
            self.sides.append(Side.SELL)

    def views(self) -> list[ViewKey]:
        return [(symbol, side, self.depth) for symbol in self.symbols for side in self.sides]


class FixMarketData:
    """The FIX market-data application (see the module docstring). Implements `Application`."""

    def __init__(
        self,
        *,
        sequencer: Sequencer,
        sessions: Iterable[SessionConfig],
        levels: LevelSource,
        send: Send | None = None,
        max_subscriptions: int = 32,
        max_entries: int = 100,
    ) -> None:
        if sequencer.last_seq != sequencer.committed_seq:
            raise RuntimeError(
                "construct FixMarketData (and its level source) before the first submit: "
                f"seq {sequencer.last_seq} is not committed yet"
            )
        self._sequencer = sequencer
        self._engine = sequencer.engine
        self._levels = levels
        self._send = send
        self._access: dict[str, int] = {}
        for s in sessions:
            if s.role == "marketdata" or (s.role == "trading" and s.fix_marketdata):
                self._access[s.name] = _ENTITLED
            elif s.role == "trading":
                self._access[s.name] = _NOT_ENABLED
        self._subs: dict[str, dict[bytes, _Subscription]] = {}
        # What every client of a (symbol, side, depth) holds after the last flush (all hold the
        # same: each took its W from the book as it was then, or got every X since), and how
        # many subscriptions use it.
        self._views: dict[ViewKey, dict[int, Level]] = {}
        self._view_refs: dict[ViewKey, int] = {}
        self._specs: dict[str, InstrumentSpec] = {}
        self._max_subs = max_subscriptions
        self._max_entries = max_entries
        self.x_sent = 0  # X messages queued (tests, benchmarks)
        self.flushes = 0
        levels.track(False)  # nobody subscribed yet: changes are not worth noting
        # a level source that shares the feed publisher's translation needs no feeding
        self._translates = not getattr(levels, "shared", False)
        sequencer.subscribe(self._on_committed)

    def attach(self, send: Send) -> None:
        """Where X messages go: the gateway's `send`."""
        self._send = send

    # -- the Application seam -----------------------------------------------------------------

    def on_logon(self, session: str, logon: FixMessage | None = None) -> None:
        self._drop_session(session)

    def on_logout(self, session: str, clean: bool = False) -> None:
        self._drop_session(session)

    def on_session_reset(self, session: str) -> None:
        self._drop_session(session)

    def on_message(self, session: str, msg: FixMessage, ts_recv: int) -> list[Outbound]:
        try:
            return self._on_message(session, msg)
        except Exception:  # a bug here must cost this request only (DESIGN rule 6)
            _log.exception("marketdata_request_failed", session=session)
            body = business_reject(
                ref_seq_num=msg.get(34),
                ref_msg_type=msg.msg_type,
                reason=4,
                text="market data not available",
                ref_id=msg.get(262) or b"",
            )
            return [Outbound(session=session, msg_type=b"j", body=body)]

    def subscriptions(self, session: str) -> list[bytes]:
        """The MDReqIDs of the session's live subscriptions."""
        return list(self._subs.get(session, {}))

    # -- requests -------------------------------------------------------------------------------

    def _on_message(self, session: str, msg: FixMessage) -> list[Outbound]:
        access = self._access.get(session, _NONE)
        if msg.msg_type != b"V" or access == _NONE:
            v = msg.msg_type == b"V"
            body = business_reject(
                ref_seq_num=msg.get(34),
                ref_msg_type=msg.msg_type,
                reason=6 if v else 3,
                text=_NOT_PERMITTED if v else "Unsupported Message Type",
                ref_id=(msg.get(262) or b"") if v else b"",
            )
            return [Outbound(session=session, msg_type=b"j", body=body)]
        if access == _NOT_ENABLED:
            body = reject_body(
                msg.get(262) or b"", INSUFFICIENT_PERMISSIONS, "market data is not enabled"
            )
            return [Outbound(session=session, msg_type=b"Y", body=body)]
        decoded = decode_market_data_request(msg, self)
        if not isinstance(decoded, MarketDataQuery):
            return [Outbound(session=session, msg_type=b"Y", body=decoded.body())]
        q = decoded
        subs = self._subs.get(session, {})
        if q.subscription_request_type == UNSUBSCRIBE:
            gone = subs.pop(q.md_req_id, None)
            if gone is None:
                body = reject_body(q.md_req_id, None, "no subscription with this MDReqID")
                return [Outbound(session=session, msg_type=b"Y", body=body)]
            self._release_views(gone)
            self._track_if_subscribed()
            return []
        if q.md_req_id in subs:
            body = reject_body(q.md_req_id, DUPLICATE_MD_REQ_ID, "MDReqID already subscribed")
            return [Outbound(session=session, msg_type=b"Y", body=body)]
        if q.subscription_request_type == SUBSCRIBE and len(subs) >= self._max_subs:
            body = reject_body(
                q.md_req_id, INSUFFICIENT_BANDWIDTH, f"at most {self._max_subs} subscriptions"
            )
            return [Outbound(session=session, msg_type=b"Y", body=body)]
        self.flush()  # views and the book agree from here on (normally nothing is pending)
        sub = _Subscription(session, q)
        out = [
            Outbound(session=session, msg_type=b"W", body=self._snapshot(sub, symbol))
            for symbol in sub.symbols
        ]
        if q.subscription_request_type == SUBSCRIBE:
            self._subs.setdefault(session, {})[q.md_req_id] = sub
            self._levels.track(True)
            for key in sub.views():
                if key not in self._views:
                    symbol, side, depth = key
                    levels = self._levels.levels(symbol, side, depth)
                    self._views[key] = {price: (qty, n) for price, qty, n in levels}
                self._view_refs[key] = self._view_refs.get(key, 0) + 1
        return out

    def _drop_session(self, session: str) -> None:
        for sub in self._subs.pop(session, {}).values():
            self._release_views(sub)
        self._track_if_subscribed()

    def _track_if_subscribed(self) -> None:
        """Changes are noted only while some subscription will read them."""
        self._levels.track(any(self._subs.values()))

    def _release_views(self, sub: _Subscription) -> None:
        for key in sub.views():
            left = self._view_refs.get(key, 0) - 1
            if left > 0:
                self._view_refs[key] = left
            else:
                self._view_refs.pop(key, None)
                self._views.pop(key, None)

    def __contains__(self, symbol: object) -> bool:
        """A symbol the venue lists in its committed state (for `decode_market_data_request`)."""
        return isinstance(symbol, str) and self._levels.has(symbol)

    def _spec(self, symbol: str) -> InstrumentSpec:
        spec = self._specs.get(symbol)
        if spec is None:
            spec = self._specs[symbol] = InstrumentSpec(self._engine.markets[symbol].instrument)
        return spec

    def _snapshot(self, sub: _Subscription, symbol: str) -> Body:
        """W for `symbol`: the book as it is now (no change is pending: see `_on_message`)."""
        spec = self._spec(symbol)
        entries: list[Body] = []
        for side in sub.sides:
            levels = self._levels.levels(symbol, side, sub.depth)
            entry_type = _ENTRY_TYPE[side]
            entries += [level_entry(None, entry_type, spec, p, q, n) for p, q, n in levels]
        if sub.trades:
            t = self._levels.last_trade(symbol)
            if t is not None:
                entries.append(trade_entry(False, spec, t.ts, t.trade_id, t.price, t.qty))
        if sub.stats:
            stats = self._levels.statistics(symbol)
            marks = self._levels.option_marks(symbol)
            entries += statistics_entries(False, spec, stats, sub.stats, marks)
        return snapshot_full_refresh(sub.md_req_id, spec, entries)

    # -- committed commands → X -----------------------------------------------------------------

    def _on_committed(self, seq: int, ts: int, cmd: Command, events: list[Event]) -> None:
        if events and self._translates:
            self._levels.on_command(ts, events)
        if seq >= self._sequencer.committed_seq:  # the last command of its commit batch
            self.flush()

    def flush(self) -> None:
        """Queue one X per subscription whose instruments changed since the last flush. The
        entries of each (symbol, side, depth) are computed once and shared by every
        subscription that watches it."""
        changes = self._levels.take_changes()
        if not self._subs or not (changes.levels or changes.trades or changes.statistics):
            return
        self.flushes += 1
        view_entries: dict[ViewKey, list[Body]] = {}
        for key, held in self._views.items():
            symbol, side, depth = key
            touched = changes.levels.get(symbol)
            if not touched:
                continue
            prices = [price for s, price in touched if s == side]
            if not prices:
                continue
            entries: list[Body] = []
            spec = self._spec(symbol)
            if depth:
                self._views[key] = self._diff_top(entries, spec, symbol, side, depth, held)
            else:
                prices.sort(reverse=side == Side.BUY)  # best first
                self._diff_levels(entries, spec, symbol, side, prices, held)
            if entries:
                view_entries[key] = entries
        trades: dict[str, list[Body]] = {}
        for t in changes.trades:
            e = trade_entry(True, self._spec(t.symbol), t.ts, t.trade_id, t.price, t.qty)
            trades.setdefault(t.symbol, []).append(e)
        out: list[Outbound] = []
        limit = self._max_entries
        # subscriptions of the same shape get the same entries: group them once per flush
        shaped: dict[Shape, list[Body]] = {}
        for session_subs in self._subs.values():
            for sub in session_subs.values():
                shape = (sub.symbols, tuple(sub.sides), sub.depth, sub.trades, sub.stats)
                bodies = shaped.get(shape)
                if bodies is None:
                    mine: list[Body] = []
                    for symbol in sub.symbols:
                        if sub.trades and symbol in trades:
                            mine += trades[symbol]
                        for side in sub.sides:
                            mine += view_entries.get((symbol, side, sub.depth), ())
                        if sub.stats and symbol in changes.statistics:
                            mine += self._statistics(symbol, sub.stats)
                    bodies = shaped[shape] = [
                        incremental_refresh(b"", mine[i : i + limit])[1:]
                        for i in range(0, len(mine), limit)
                    ]
                for tail in bodies:
                    body = [(262, sub.md_req_id), *tail]
                    out.append(Outbound(session=sub.session, msg_type=b"X", body=body))
        if not out:
            return
        self.x_sent += len(out)
        if self._send is None:
            _log.warning("marketdata_not_sent", reason="no sender attached", count=len(out))
            return
        self._send(out)

    def _statistics(self, symbol: str, types: tuple[bytes, ...]) -> list[Body]:
        stats = self._levels.statistics(symbol)
        marks = self._levels.option_marks(symbol)
        return statistics_entries(True, self._spec(symbol), stats, types, marks)

    def _diff_levels(  # noqa: PLR0917
        self,
        entries: list[Body],
        spec: InstrumentSpec,
        symbol: str,
        side: Side,
        prices: list[int],
        held: dict[int, Level],
    ) -> None:
        """Full book: compare the changed levels only; `held` follows."""
        entry_type = _ENTRY_TYPE[side]
        for price in prices:
            now = self._levels.level(symbol, side, price)
            before = held.get(price)
            if now is None:
                if before is not None:
                    del held[price]
                    entries.append(level_entry(DELETE, entry_type, spec, price, 0, 0))
            elif now != before:
                held[price] = now
                action = NEW if before is None else CHANGE
                entries.append(level_entry(action, entry_type, spec, price, now[0], now[1]))

    def _diff_top(  # noqa: PLR0917
        self,
        entries: list[Body],
        spec: InstrumentSpec,
        symbol: str,
        side: Side,
        depth: int,
        before: dict[int, Level],
    ) -> dict[int, Level]:
        """Best `depth` levels: deletes of levels that left them first, then news and changes,
        best first. Returns the new view."""
        entry_type = _ENTRY_TYPE[side]
        top = self._levels.levels(symbol, side, depth)
        now = {price: (qty, n) for price, qty, n in top}
        for price in before:
            if price not in now:
                entries.append(level_entry(DELETE, entry_type, spec, price, 0, 0))
        for price, qty, n in top:
            old = before.get(price)
            if old is None:
                entries.append(level_entry(NEW, entry_type, spec, price, qty, n))
            elif old != (qty, n):
                entries.append(level_entry(CHANGE, entry_type, spec, price, qty, n))
        return now
