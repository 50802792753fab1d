"""The four patterns. Each detector keeps only bounded, windowed state and reports through an
`AlertBook`; the thresholds and windows are `venue.config_surveillance`'s (documented there
and in the Rules of Engagement).

Invariants:
- Deterministic: a detector reads only what it is fed (journal seq, command ts, events) and
  its settings; no clock, no randomness, no set iteration that reaches an alert's order
  (evidence is sorted).
- Cheap on the common path: an order, cancel or replace costs a few dict and deque operations;
  medians and best prices are computed only for a cancel that already passed the cheap tests
  (short-lived, same owner traded the other side meanwhile).
- Memory: live orders (as on the book), one bounded deque per (owner, instrument) and window.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from statistics import median_low

from venue.config_surveillance import (
    MarkingConfig,
    SpoofingConfig,
    StuffingConfig,
    WashConfig,
)
from venue.core import (
    LIQUIDATION_SESSION,
    CancelReason,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderReplaced,
    OrdType,
    Side,
    TimeInForce,
)
from venue.surveillance.alerts import AlertBook

__all__ = ["Marking", "Spoofing", "Stuffing", "Wash"]

_S = 1_000_000_000
_MS = 1_000_000
_SPOOF_CANCELS = (CancelReason.REQUESTED, CancelReason.MASS_CANCEL)
_NOT_RESTING = (TimeInForce.IOC, TimeInForce.FOK)
_USUAL_REFRESH = 16  # orders between two recomputations of a median (a cache, same verdicts)


class Wash:
    """Trades whose two sides have one beneficial owner."""

    def __init__(self, cfg: WashConfig, book: AlertBook) -> None:
        self._cfg = cfg
        self._book = book
        self._window = cfg.window_seconds * _S
        self._recent: dict[tuple[str, str], deque[tuple[int, int]]] = {}

    def on_trade(self, seq: int, ts: int, symbol: str, owner: str, relation: str) -> None:
        key = (owner, symbol)
        recent = self._recent.get(key)
        if recent is None:
            recent = self._recent[key] = deque()
        while recent and ts - recent[0][0] > self._window:
            recent.popleft()
        recent.append((ts, seq))
        n = len(recent)
        if n >= self._cfg.min_trades:
            self._book.trigger(
                seq=seq,
                ts=ts,
                pattern="wash_trade",
                owner=owner,
                instrument=symbol,
                ts_from=recent[0][0],
                score=n * 100 // self._cfg.min_trades,
                evidence=[s for _, s in recent],
                detail=f"{n} trade(s) with both sides of one owner ({relation}) "
                f"within {self._cfg.window_seconds} s",
                merge_ns=self._window,
            )


class _Resting:
    __slots__ = ("leaves", "owner", "placed_seq", "placed_ts", "price", "side", "symbol")

    def __init__(  # noqa: PLR0917 -- a record built in one place
        self, owner: str, symbol: str, side: Side, price: int, leaves: int, ts: int, seq: int
    ) -> None:
        self.owner = owner
        self.symbol = symbol
        self.side = side
        self.price = price
        self.leaves = leaves
        self.placed_ts = ts
        self.placed_seq = seq


class _Usual:
    """The last N quantities; their median is computed when asked, and again only after
    `_USUAL_REFRESH` more were added (a cache: verdicts are asked for rarely)."""

    __slots__ = ("added", "cached", "cached_at", "qtys")

    def __init__(self, n: int) -> None:
        self.qtys: deque[int] = deque(maxlen=n)
        self.added = 0
        self.cached = 0
        self.cached_at = -_USUAL_REFRESH

    def median(self) -> int:
        if self.added - self.cached_at >= _USUAL_REFRESH:
            self.cached = median_low(self.qtys) if self.qtys else 0
            self.cached_at = self.added
        return self.cached


class Spoofing:
    """Large orders near the touch, cancelled fast, while the owner trades the other side."""

    def __init__(
        self, cfg: SpoofingConfig, book: AlertBook, owner_of: Callable[[str], str]
    ) -> None:
        self._cfg = cfg
        self._book = book
        self._owner_of = owner_of
        self._lifetime = cfg.max_lifetime_ms * _MS
        self._window = cfg.window_seconds * _S
        self._orders: dict[int, _Resting] = {}
        # (symbol, side) -> price -> open lots of all orders there (for the best price)
        self._levels: dict[tuple[str, Side], dict[int, int]] = {}
        self._usual_book: dict[str, _Usual] = {}
        self._usual_owner: dict[tuple[str, str], _Usual] = {}
        # (owner, symbol, side) -> (ts, seq) of the owner's last fill on that side
        self._last_fill: dict[tuple[str, str, Side], tuple[int, int]] = {}

    def _level(self, symbol: str, side: Side, price: int, delta: int) -> None:
        levels = self._levels.get((symbol, side))
        if levels is None:
            levels = self._levels[(symbol, side)] = {}
        left = levels.get(price, 0) + delta
        if left > 0:
            levels[price] = left
        else:
            levels.pop(price, None)

    def on_accepted(self, seq: int, ev: OrderAccepted) -> None:
        if ev.session == LIQUIDATION_SESSION:
            return  # the venue's own orders are nobody's decision
        owner = self._owner_of(ev.firm)
        usual = self._usual_book.get(ev.symbol)
        if usual is None:
            usual = self._usual_book[ev.symbol] = _Usual(self._cfg.usual_orders)
        usual.qtys.append(ev.qty)
        usual.added += 1
        mine = self._usual_owner.get((owner, ev.symbol))
        if mine is None:
            mine = self._usual_owner[(owner, ev.symbol)] = _Usual(self._cfg.usual_orders)
        mine.qtys.append(ev.qty)
        mine.added += 1
        if ev.tif in _NOT_RESTING or ev.ord_type == OrdType.MARKET:
            return  # done within its own command: it never rests on the book
        self._orders[ev.order_id] = _Resting(
            owner, ev.symbol, ev.side, ev.price, ev.qty, ev.ts, seq
        )
        self._level(ev.symbol, ev.side, ev.price, ev.qty)

    def on_replaced(self, seq: int, ev: OrderReplaced) -> None:
        rec = self._orders.get(ev.order_id)
        if rec is None:
            return
        self._level(rec.symbol, rec.side, rec.price, -rec.leaves)
        leaves = ev.leaves_qty
        rec.price, rec.leaves, rec.placed_ts, rec.placed_seq = ev.price, leaves, ev.ts, seq
        self._level(rec.symbol, rec.side, ev.price, leaves)
        if leaves <= 0:
            del self._orders[ev.order_id]

    def on_fill(self, seq: int, ev: OrderFilled, owner: str) -> None:
        self._last_fill[(owner, ev.symbol, ev.side)] = (ev.ts, seq)  # owner: the caller's
        rec = self._orders.get(ev.order_id)
        if rec is None:
            return
        self._level(rec.symbol, rec.side, rec.price, -ev.last_qty)
        rec.leaves = ev.leaves_qty
        if rec.leaves <= 0:
            del self._orders[ev.order_id]

    def on_canceled(self, seq: int, ev: OrderCanceled) -> None:
        rec = self._orders.pop(ev.order_id, None)
        if rec is None:
            return
        if ev.reason in _SPOOF_CANCELS and ev.ts - rec.placed_ts <= self._lifetime:
            other = Side.SELL if rec.side == Side.BUY else Side.BUY
            fill = self._last_fill.get((rec.owner, rec.symbol, other))
            if fill is not None and fill[0] >= rec.placed_ts:
                self._judge(seq, ev.ts, rec, fill[1])
        self._level(rec.symbol, rec.side, rec.price, -rec.leaves)

    def _judge(self, seq: int, ts: int, rec: _Resting, fill_seq: int) -> None:
        """The expensive tests, for a short-lived cancel after an opposite fill."""
        cfg = self._cfg
        book = self._usual_book[rec.symbol]
        if len(book.qtys) < cfg.min_history:
            return
        mine = self._usual_owner.get((rec.owner, rec.symbol))
        own = mine.median() if mine is not None and len(mine.qtys) >= cfg.min_history else 0
        usual = max(book.median(), own, 1)
        if rec.leaves < cfg.size_multiple * usual:
            return
        levels = self._levels.get((rec.symbol, rec.side))
        if not levels:
            return
        best = max(levels) if rec.side == Side.BUY else min(levels)
        if abs(best - rec.price) > cfg.near_touch_ticks:
            return
        self._book.trigger(
            seq=seq,
            ts=ts,
            pattern="spoofing",
            owner=rec.owner,
            instrument=rec.symbol,
            ts_from=rec.placed_ts,
            score=rec.leaves * 100 // (cfg.size_multiple * usual),
            evidence=[rec.placed_seq, fill_seq, seq],
            detail=f"{rec.side.name} {rec.leaves} lots at {rec.price} ({rec.leaves // usual}x the "
            f"usual {usual}) cancelled after {(ts - rec.placed_ts) // _MS} ms, "
            f"{abs(best - rec.price)} ticks from the touch, after a fill on the other side",
            merge_ns=self._window,
        )


class _Flow:
    """One (owner, instrument)'s order messages and trades, bucketed: the rate window's
    quarters (the last four: [quarter, messages, first seq]) and running total `rate`; the
    current second's messages and trades, and the ratio window's finished seconds
    ([second, messages, trades, first seq]) with running totals."""

    __slots__ = (
        "msgs",
        "quarter",
        "quarters",
        "rate",
        "ratio_msgs",
        "ratio_trades",
        "second",
        "second_seq",
        "seconds",
        "trades",
    )

    def __init__(self) -> None:
        self.quarter = -1
        self.quarters: deque[list[int]] = deque()
        self.rate = 0
        self.second = -1
        self.second_seq = 0
        self.msgs = 0  # of the current second
        self.trades = 0  # of the current second
        self.seconds: deque[list[int]] = deque()
        self.ratio_msgs = 0  # over `seconds`
        self.ratio_trades = 0


class Stuffing:
    """Order message rate, and order-to-trade ratio, per (owner, instrument).

    The rate is counted over the current quarter of `window_ms` and the three before it
    (UTC-aligned quarters: a span between 3/4 and 1 window long) and judged at each message.
    The ratio is counted over whole UTC seconds and judged when a second ends (at the owner's
    first message or trade in a later second), over that second and the ones before it within
    `otr_window_seconds`. Bucket counts: one message costs a few integer operations."""

    def __init__(self, cfg: StuffingConfig, book: AlertBook) -> None:
        self._cfg = cfg
        self._book = book
        self._quarter = max(cfg.window_ms * _MS // 4, 1)
        self._otr_seconds = cfg.otr_window_seconds
        self._flows: dict[tuple[str, str], _Flow] = {}

    def on_trade(self, seq: int, ts: int, owner: str, symbol: str) -> None:
        flow = self._flows.get((owner, symbol))
        if flow is None:
            flow = self._flows[(owner, symbol)] = _Flow()
        if ts // _S != flow.second:
            self._end_second(flow, seq, ts, owner, symbol)
        flow.trades += 1

    def on_message(self, seq: int, ts: int, owner: str, symbol: str) -> None:
        flow = self._flows.get((owner, symbol))
        if flow is None:
            flow = self._flows[(owner, symbol)] = _Flow()
        if ts // _S != flow.second:
            self._end_second(flow, seq, ts, owner, symbol)
        flow.msgs += 1
        quarter = ts // self._quarter
        if quarter != flow.quarter:
            quarters = flow.quarters
            while quarters and quarters[0][0] <= quarter - 4:
                flow.rate -= quarters.popleft()[1]
            quarters.append([quarter, 0, seq])
            flow.quarter = quarter
        flow.quarters[-1][1] += 1
        flow.rate += 1
        if flow.rate > self._cfg.max_messages:
            self._too_fast(flow, seq, ts, owner, symbol)

    def _too_fast(self, flow: _Flow, seq: int, ts: int, owner: str, symbol: str) -> None:
        cfg = self._cfg
        first = flow.quarters[0]
        self._book.trigger(
            seq=seq,
            ts=ts,
            pattern="quote_stuffing",
            owner=owner,
            instrument=symbol,
            ts_from=first[0] * self._quarter,
            score=flow.rate * 100 // cfg.max_messages,
            evidence=[first[2], seq],
            detail=f"{flow.rate} order messages within {cfg.window_ms} ms "
            f"(limit {cfg.max_messages}); evidence: first and last seq",
            merge_ns=self._quarter * 4,
        )

    def _end_second(self, flow: _Flow, seq: int, ts: int, owner: str, symbol: str) -> None:
        """Close the flow's current second into the ratio window and judge the ratio."""
        cfg = self._cfg
        seconds = flow.seconds
        if flow.second >= 0:
            seconds.append([flow.second, flow.msgs, flow.trades, flow.second_seq])
            flow.ratio_msgs += flow.msgs
            flow.ratio_trades += flow.trades
            horizon = flow.second - self._otr_seconds
            while seconds[0][0] <= horizon:
                old = seconds.popleft()
                flow.ratio_msgs -= old[1]
                flow.ratio_trades -= old[2]
            messages, trades = flow.ratio_msgs, max(flow.ratio_trades, 1)
            if messages >= cfg.otr_min_messages and messages > cfg.max_order_to_trade * trades:
                first = seconds[0]
                self._book.trigger(
                    seq=seq,
                    ts=ts,
                    pattern="quote_stuffing",
                    owner=owner,
                    instrument=symbol,
                    ts_from=first[0] * _S,
                    score=messages * 100 // (cfg.max_order_to_trade * trades),
                    evidence=[first[3], seq],
                    detail=f"{messages} order messages for {flow.ratio_trades} trade(s) "
                    f"within {cfg.otr_window_seconds} s (limit {cfg.max_order_to_trade} "
                    "per trade)",
                    merge_ns=self._otr_seconds * _S,
                )
        flow.second = ts // _S
        flow.second_seq = seq
        flow.msgs = flow.trades = 0


class Marking:
    """One owner's aggressive, one-sided trades moving the last price just before a funding
    time or a future's expiry."""

    def __init__(self, cfg: MarkingConfig, book: AlertBook) -> None:
        self._cfg = cfg
        self._book = book
        self._window = cfg.window_seconds * _S
        self._last: dict[str, int] = {}  # symbol -> last trade price
        # symbol -> (ts, seq, price, price before it, aggressor's owner, +qty buy / -qty sell)
        self._trades: dict[str, deque[tuple[int, int, int, int, str, int]]] = {}

    def on_trade(  # noqa: PLR0917 -- one call site, positional on the hot path
        self, seq: int, ts: int, symbol: str, price: int, owner: str, signed_qty: int
    ) -> None:
        before = self._last.get(symbol, price)
        self._last[symbol] = price
        trades = self._trades.get(symbol)
        if trades is None:
            trades = self._trades[symbol] = deque()
        while trades and ts - trades[0][0] > self._window:
            trades.popleft()
        trades.append((ts, seq, price, before, owner, signed_qty))

    def on_deadline(self, seq: int, ts: int, symbol: str, what: str) -> None:
        cfg = self._cfg
        trades = [t for t in self._trades.get(symbol, ()) if ts - t[0] <= self._window]
        if not trades:
            return
        ref = trades[0][3]
        net = trades[-1][2] - ref
        if ref <= 0 or abs(net) * 10_000 < cfg.min_move_bps * ref:
            return  # the price did not move that much over the window
        # owner -> [sum of moves, trades, first ts, lots bought, lots sold]
        moves: dict[str, list[int]] = {}
        seqs: dict[str, list[int]] = {}
        for t_ts, t_seq, price, before, owner, signed in trades:
            m = moves.get(owner)
            if m is None:
                m = moves[owner] = [0, 0, t_ts, 0, 0]
                seqs[owner] = []
            m[0] += price - before
            m[1] += 1
            m[3 if signed > 0 else 4] += abs(signed)
            seqs[owner].append(t_seq)
        for owner, (move, count, first_ts, bought, sold) in moves.items():
            bps = abs(move) * 10_000
            along = bought if net > 0 else sold
            if (
                count >= cfg.min_trades
                and (move > 0) == (net > 0)
                and bps >= cfg.min_move_bps * ref
                and along * 100 >= cfg.min_side_share_pct * (bought + sold)
            ):
                self._book.trigger(
                    seq=seq,
                    ts=ts,
                    pattern="marking_the_close",
                    owner=owner,
                    instrument=symbol,
                    ts_from=first_ts,
                    score=bps * 100 // (cfg.min_move_bps * ref),
                    evidence=[*seqs[owner], seq],
                    detail=f"{count} aggressive trade(s), {along * 100 // (bought + sold)} % on "
                    f"one side, moved the last price by {move:+d} ticks ({bps // ref} bps of "
                    f"{ref}; the window moved {net:+d}) within {cfg.window_seconds} s "
                    f"before {what}",
                    merge_ns=0,
                )
