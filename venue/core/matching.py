"""`Matching`: price-time priority matching of one aggressor against one side of a book.

Invariants kept here:
- Price-time priority: the best level first (`keys[-1]`), within a level FIFO; the aggressor
  trades at the resting order's price, down to the bound `min_key` (resting key = sign *
  price must be >= min_key).
- Each trade consumes one trade id and two exec ids (aggressor's fill, then the resting
  order's); an STP cancel of a resting order consumes one exec id.
- A resting order that fills completely or is canceled by self-trade prevention leaves its
  level and the order indexes at once (its account's exposure is left to R2, which reads the
  events); levels left empty are dropped.
- After a command that traded, the reference price is the last trade price.
- Matching moves no money: R2 (`venue.core.ledger.Ledger.settle`) books the fills it emits.
"""

from __future__ import annotations

from venue.core.book import BookSide, Level, Market, Order
from venue.core.events import Event, OrderFilled
from venue.core.state import EngineState
from venue.core.types import CancelReason, StpMode

__all__ = ["Matching"]

_CANCEL_RESTING = StpMode.CANCEL_RESTING
_CANCEL_AGGRESSOR = StpMode.CANCEL_AGGRESSOR
_SELF_TRADE = CancelReason.SELF_TRADE  # bound once (an enum class attribute read is slow)


class Matching:
    """The matching step of an order command."""

    def __init__(self, state: EngineState) -> None:
        self.state = state

    def match(  # noqa: PLR0917 -- hot-path helper, called positionally
        self, mkt: Market, o: Order, opp: BookSide, min_key: int, ts: int, events: list[Event]
    ) -> bool:
        """Trade `o` against `opp` in price-time priority down to `min_key`.

        Returns True if self-trade prevention stopped the aggressor (its remainder must be
        canceled). Resting orders that fill completely or are canceled by STP leave the book.
        """
        state = self.state
        keys = opp.keys
        levels = opp.levels
        sign = opp.sign
        stp_id = o.stp_id
        firm = o.firm
        append = events.append
        o_qty = o.qty
        o_cum = o.cum_qty
        o_notional = o.cum_notional
        last_px = 0
        stopped = False
        by_session = state.by_session
        orders = state.orders
        while keys:
            key = keys[-1]
            if key < min_key:
                break
            px = sign * key
            level: Level = levels[px]
            lorders = level.orders
            n = len(lorders)
            i = 0
            traded = 0
            while i < n:
                r = lorders[i]
                r_leaves = r.qty - r.cum_qty
                if stp_id and r.stp_id == stp_id and r.firm == firm:
                    mode = o.stp_mode
                    if mode == _CANCEL_AGGRESSOR:
                        stopped = True
                        break
                    i += 1
                    traded += r_leaves
                    del orders[r.order_id]
                    del by_session[r.session][r.cl_ord_id]
                    append(state.canceled(r, ts, _SELF_TRADE, r.cl_ord_id, "", ""))
                    if mode == _CANCEL_RESTING:
                        continue
                    stopped = True
                    break
                q = o_qty - o_cum
                if r_leaves < q:  # noqa: PLR1730 -- cheaper than a min() call
                    q = r_leaves
                o_cum += q
                notional = px * q
                o_notional += notional
                r.cum_qty += q
                r.cum_notional += notional
                traded += q
                trade_id = state.next_trade_id
                state.next_trade_id = trade_id + 1
                exec_id = state.next_exec_id
                state.next_exec_id = exec_id + 2
                append(
                    OrderFilled(
                        ts,
                        o.order_id,
                        exec_id,
                        trade_id,
                        o.session,
                        firm,
                        o.account,
                        o.cl_ord_id,
                        o.symbol,
                        o.side,
                        o.ord_type,
                        o.tif,
                        o.price,
                        o_qty,
                        px,
                        q,
                        o_cum,
                        o_qty - o_cum,
                        o_notional,
                        True,
                    )
                )
                append(
                    OrderFilled(
                        ts,
                        r.order_id,
                        exec_id + 1,
                        trade_id,
                        r.session,
                        r.firm,
                        r.account,
                        r.cl_ord_id,
                        r.symbol,
                        r.side,
                        r.ord_type,
                        r.tif,
                        r.price,
                        r.qty,
                        px,
                        q,
                        r.cum_qty,
                        r.qty - r.cum_qty,
                        r.cum_notional,
                        False,
                    )
                )
                last_px = px
                if r.cum_qty == r.qty:
                    i += 1
                    del orders[r.order_id]
                    del by_session[r.session][r.cl_ord_id]
                if o_cum == o_qty:
                    break
            if i:
                del lorders[:i]
            level.qty -= traded
            if not lorders:
                del levels[px]
                keys.pop()
            if stopped or o_cum == o_qty:
                break
        o.cum_qty = o_cum
        o.cum_notional = o_notional
        if last_px and last_px != mkt.ref_price:
            mkt.set_ref_price(last_px)
        return stopped
