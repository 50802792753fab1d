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
  side, or all) at the end of the last batch: `sent` is what the client holds, and every X is
  the difference between it and the book.
- Work is bounded: at most `max_subscriptions` per session (281=2 beyond), MDReqIDs of at most
  64 bytes; a flush costs, per subscription, the changed levels (full book) or `depth` levels
  per changed side. A reader that does not keep up is cut off by the gateway's slow-consumer
  limit, and its subscriptions end with its session (on_logout).
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
    decode_market_data_request,
    incremental_refresh,
    level_entry,
    reject_body,
    snapshot_full_refresh,
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


class LevelSource(Protocol):
    """The committed book as price levels (`venue.marketdata.levels.LevelFeed`)."""

    def on_command(self, ts: int, events: Sequence[Event]) -> None: ...
    def take_changes(self) -> ChangesLike: ...
    def has(self, symbol: str) -> bool: ...
    def levels(self, symbol: str, side: Side, depth: int = 0) -> list[tuple[int, int, int]]: ...
    def level(self, symbol: str, side: Side, price: int) -> tuple[int, int] | None: ...
    def last_trade(self, symbol: str) -> TradeLike | None: ...


class _Subscription:
    """What one MDReqID of one session watches, and the levels its client holds."""

    __slots__ = ("depth", "md_req_id", "session", "sides", "symbols", "trades")

    def __init__(self, session: str, q: MarketDataQuery) -> None:
        self.session = session
        self.md_req_id = q.md_req_id
        self.depth = q.market_depth
        self.trades = q.trades
        self.sides: list[tuple[Side, bytes]] = []
        if q.bids:
            self.sides.append((Side.BUY, BID))
        if q.offers:
            self.sides.append((Side.SELL, OFFER))
        # symbol -> side -> price -> (qty, orders) as the client holds it
        self.symbols: dict[str, dict[Side, dict[int, Level]]] = {
            s: {side: {} for side, _ in self.sides} for s in q.symbols
        }


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
        self._specs: dict[str, InstrumentSpec] = {}
        self._max_subs = max_subscriptions
        self._max_entries = max_entries
        self.x_sent = 0  # X messages queued (tests, benchmarks)
        self.flushes = 0
        sequencer.subscribe(self._on_committed)

    def attach(self, send: Send) -> None:
        """Where X messages go: the gateway's `send`."""
        self._send = send

    # -- the Application seam -----------------------------------------------------------------

    def on_logon(self, session: str, logon: FixMessage | None = None) -> None:
        self._subs.pop(session, None)

    def on_logout(self, session: str, clean: bool = False) -> None:
        self._subs.pop(session, None)

    def on_session_reset(self, session: str) -> None:
        self._subs.pop(session, None)

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
            if subs.pop(q.md_req_id, None) is None:
                body = reject_body(q.md_req_id, None, "no subscription with this MDReqID")
                return [Outbound(session=session, msg_type=b"Y", body=body)]
            return []
        if q.md_req_id in subs:
            body = reject_body(q.md_req_id, DUPLICATE_MD_REQ_ID, "MDReqID already subscribed")
            return [Outbound(session=session, msg_type=b"Y", body=body)]
        if q.subscription_request_type == SUBSCRIBE and len(subs) >= self._max_subs:
            body = reject_body(
                q.md_req_id, INSUFFICIENT_BANDWIDTH, f"at most {self._max_subs} subscriptions"
            )
            return [Outbound(session=session, msg_type=b"Y", body=body)]
        sub = _Subscription(session, q)
        out = [
            Outbound(session=session, msg_type=b"W", body=self._snapshot(sub, symbol))
            for symbol in sub.symbols
        ]
        if q.subscription_request_type == SUBSCRIBE:
            self._subs.setdefault(session, {})[q.md_req_id] = sub
        return out

    def __contains__(self, symbol: object) -> bool:
        """A symbol the venue lists in its committed state (for `decode_market_data_request`)."""
        return isinstance(symbol, str) and self._levels.has(symbol)

    def _spec(self, symbol: str) -> InstrumentSpec:
        spec = self._specs.get(symbol)
        if spec is None:
            spec = self._specs[symbol] = InstrumentSpec(self._engine.markets[symbol].instrument)
        return spec

    def _snapshot(self, sub: _Subscription, symbol: str) -> Body:
        """W for `symbol`; records its levels as what the client now holds."""
        spec = self._spec(symbol)
        entries: list[Body] = []
        held = sub.symbols[symbol]
        for side, entry_type in sub.sides:
            levels = self._levels.levels(symbol, side, sub.depth)
            held[side] = {price: (qty, n) for price, qty, n in levels}
            entries += [level_entry(None, entry_type, spec, p, q, n) for p, q, n in levels]
        if sub.trades:
            t = self._levels.last_trade(symbol)
            if t is not None:
                entries.append(trade_entry(False, spec, t.ts, t.trade_id, t.price, t.qty))
        return snapshot_full_refresh(sub.md_req_id, spec, entries)

    # -- committed commands → X -----------------------------------------------------------------

    def _on_committed(self, seq: int, ts: int, cmd: Command, events: list[Event]) -> None:
        self._levels.on_command(ts, events)
        if seq >= self._sequencer.committed_seq:  # the last command of its commit batch
            self.flush()

    def flush(self) -> None:
        """Queue one X per subscription whose instruments changed since the last flush."""
        changes = self._levels.take_changes()
        if not self._subs or not (changes.levels or changes.trades):
            return
        self.flushes += 1
        trades: dict[str, list[TradeLike]] = {}
        for t in changes.trades:
            trades.setdefault(t.symbol, []).append(t)
        out: list[Outbound] = []
        for session_subs in self._subs.values():
            for sub in session_subs.values():
                entries = self._increments(sub, changes.levels, trades)
                for i in range(0, len(entries), self._max_entries):
                    body = incremental_refresh(sub.md_req_id, entries[i : i + self._max_entries])
                    out.append(Outbound(session=sub.session, msg_type=b"X", body=body))
        if not out:
            return
        self.x_sent += len(out)
        if self._send is None:
            _log.warning("marketdata_not_sent", reason="no sender attached", count=len(out))
            return
        self._send(out)

    def _increments(
        self,
        sub: _Subscription,
        changed: Mapping[str, Mapping[tuple[Side, int], None]],
        trades: dict[str, list[TradeLike]],
    ) -> list[Body]:
        entries: list[Body] = []
        for symbol, held in sub.symbols.items():
            spec: InstrumentSpec | None = None
            if sub.trades and symbol in trades:
                spec = self._spec(symbol)
                for t in trades[symbol]:
                    entries.append(trade_entry(True, spec, t.ts, t.trade_id, t.price, t.qty))
            touched = changed.get(symbol)
            if not touched or not sub.sides:
                continue
            spec = spec or self._spec(symbol)
            for side, entry_type in sub.sides:
                keys = [price for s, price in touched if s == side]
                if not keys:
                    continue
                if sub.depth:
                    self._diff_top(entries, spec, symbol, side, entry_type, sub.depth, held)
                else:
                    keys.sort(reverse=side == Side.BUY)  # best first
                    self._diff_levels(entries, spec, symbol, side, entry_type, keys, held[side])
        return entries

    def _diff_levels(  # noqa: PLR0917
        self,
        entries: list[Body],
        spec: InstrumentSpec,
        symbol: str,
        side: Side,
        entry_type: bytes,
        prices: list[int],
        held: dict[int, Level],
    ) -> None:
        """Full book: compare the changed levels only."""
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
        entry_type: bytes,
        depth: int,
        held_sides: dict[Side, dict[int, Level]],
    ) -> None:
        """Best `depth` levels: deletes of levels that left them first, then news and changes,
        best first."""
        before = held_sides[side]
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
        held_sides[side] = now
