"""`EngineState`: everything the engine knows, its indexes and its counters.

The engine's collaborators (`venue.core.engine`) all work on one `EngineState`; none keeps
state of its own. Invariants kept here (checked by `venue.core.checks` and
`venue.core.queries.Queries.check_accounts`):
- `orders` maps order_id -> live resting order, in ascending order_id; `by_session[session]
  [cl_ord_id]` indexes the same orders by their current client id; `index`/`unindex` keep the
  two, and the account's order index and exposure (`hold`/`drop`), in step.
- Ids come from the counters `next_order_id`, `next_exec_id`, `next_trade_id`; each event that
  becomes an ExecutionReport consumes one exec id (`canceled` consumes it for a cancel).
- Unsolicited cancels (`cancel_resting`) take the order out of its book, its indexes and its
  account's exposure, in one step.
- `quotes[session][symbol]` holds the session's quote sides (`venue.core.quotes`); `index`
  adds every resting quote order to it, so `restore` rebuilds it.
- `restore(snapshot())` rebuilds an equal state (same `state_hash()`): the encoding is
  canonical (`venue.core.snapshot`).
"""

from __future__ import annotations

import hashlib

from venue.core.accounts import Account, expose
from venue.core.book import Market, Order
from venue.core.events import Event, OrderCanceled
from venue.core.mmp_state import MmpState
from venue.core.snapshot import decode_accounts, decode_state, encode_state
from venue.core.types import CancelReason, RejectReason, Side

__all__ = ["EngineState"]

_BUY = Side.BUY
_NO_SESSION: dict[str, Order] = {}
_UNKNOWN_ORDER = RejectReason.UNKNOWN_ORDER  # bound once: an enum class attribute read is slow
_TOO_LATE = RejectReason.TOO_LATE_TO_CANCEL


class EngineState:
    """The trading state: markets and books, live orders, accounts, the fund, counters."""

    def __init__(self) -> None:
        self.next_order_id = 1
        self.next_exec_id = 1
        self.next_trade_id = 1
        self.markets: dict[str, Market] = {}
        self.orders: dict[int, Order] = {}
        self.by_session: dict[str, dict[str, Order]] = {}
        # session -> symbol -> [bid, ask]: the session's quote sides (`venue.core.quotes`);
        # derived from the orders (see `index`), never snapshotted.
        self.quotes: dict[str, dict[str, list[Order | None]]] = {}
        # account -> underlying -> market-maker protection (`venue.core.mmp`); snapshotted.
        self.mmp: dict[str, dict[str, MmpState]] = {}
        self.accounts: dict[str, Account] = {}
        self.insurance_fund = 0
        self.fees_collected = 0
        self.net_deposits = 0

    # ------------------------------------------------------------------ order indexes

    def index(self, o: Order) -> None:
        """`o` rests: it joins the order indexes and its account's orders and exposure."""
        self.orders[o.order_id] = o
        per = self.by_session.get(o.session)
        if per is None:
            per = self.by_session[o.session] = {}
        per[o.cl_ord_id] = o
        self.hold(o)
        if o.cl_ord_id[:1] == "\x01":  # a quote side: its key starts with SOH (core.quotes)
            sides = self.quotes.setdefault(o.session, {}).setdefault(o.symbol, [None, None])
            sides[0 if o.side == _BUY else 1] = o

    def unindex(self, o: Order) -> None:
        del self.orders[o.order_id]
        del self.by_session[o.session][o.cl_ord_id]
        self.drop(o)

    def hold(self, o: Order) -> None:
        """`o` rests: it joins its account's order index and exposure."""
        acct = self.accounts[o.account]
        if o.order_id not in acct.orders:
            acct.orders[o.order_id] = o
            expose(acct, o.symbol, o.side, o.qty - o.cum_qty, o.price)

    def drop(self, o: Order) -> None:
        """`o` no longer rests (or is about to change): out of its account's index and
        exposure. No-op if it is not there (R2 may have dropped it already)."""
        acct = self.accounts[o.account]
        if acct.orders.pop(o.order_id, None) is not None:
            expose(acct, o.symbol, o.side, o.cum_qty - o.qty, o.price)

    def find(
        self, session: str, firm: str, orig_cl_ord_id: str, order_id: int
    ) -> tuple[Order | None, RejectReason]:
        """The live order addressed by `order_id` (if nonzero) or (session, orig_cl_ord_id),
        of `firm`; else None and why (`TOO_LATE_TO_CANCEL` for an issued id, else unknown)."""
        if order_id:
            o = self.orders.get(order_id)
            if o is None:
                late = 0 < order_id < self.next_order_id
                return None, (_TOO_LATE if late else _UNKNOWN_ORDER)
        else:
            o = self.by_session.get(session, _NO_SESSION).get(orig_cl_ord_id)
            if o is None:
                return None, _UNKNOWN_ORDER
        if o.firm != firm or o.cl_ord_id[:1] == "\x01":  # quote sides: quote messages only
            return None, _UNKNOWN_ORDER
        return o, _UNKNOWN_ORDER

    # ------------------------------------------------------------------ cancels

    def canceled(  # noqa: PLR0917 -- hot-path helper, called positionally
        self, o: Order, ts: int, reason: CancelReason, cl_ord_id: str, orig: str, req: str
    ) -> OrderCanceled:
        """The OrderCanceled event of `o` (consumes one exec id)."""
        exec_id = self.next_exec_id
        self.next_exec_id = exec_id + 1
        return OrderCanceled(
            ts,
            o.order_id,
            exec_id,
            o.session,
            o.firm,
            o.account,
            cl_ord_id,
            orig,
            req,
            o.symbol,
            o.side,
            o.ord_type,
            o.tif,
            o.price,
            o.qty,
            o.cum_qty,
            o.cum_notional,
            reason,
        )

    def cancel_resting(
        self, o: Order, ts: int, reason: CancelReason, req: str, events: list[Event]
    ) -> None:
        """Unsolicited cancel of a resting order (expiry, mass cancel, liquidation)."""
        mkt = self.markets[o.symbol]
        (mkt.bids if o.side == _BUY else mkt.asks).remove(o)
        self.unindex(o)
        events.append(self.canceled(o, ts, reason, o.cl_ord_id, "", req))

    # ------------------------------------------------------------------ snapshot

    def snapshot(self) -> bytes:
        """msgspec msgpack of the whole state, in canonical order (see `venue.core.snapshot`)."""
        return encode_state(
            self.next_order_id,
            self.next_exec_id,
            self.next_trade_id,
            self.markets,
            self.accounts,
            (self.insurance_fund, self.fees_collected, self.net_deposits),
            mmp=self.mmp,
        )

    def state_hash(self) -> str:
        """Hex sha256 of the canonical snapshot encoding."""
        return hashlib.sha256(self.snapshot()).hexdigest()

    @classmethod
    def restore(cls, data: bytes) -> EngineState:
        """Rebuild a state from `snapshot()` bytes (same `state_hash()`)."""
        rec, markets, orders = decode_state(data)
        state = cls()
        state.next_order_id = rec.next_order_id
        state.next_exec_id = rec.next_exec_id
        state.next_trade_id = rec.next_trade_id
        state.markets = markets
        state.accounts = decode_accounts(rec)
        state.insurance_fund = rec.insurance_fund
        state.fees_collected = rec.fees_collected
        state.net_deposits = rec.net_deposits
        for r in rec.mmp:
            m = MmpState(r.window_ms, r.max_qty, r.max_fills, r.freeze_ms)
            m.fills = [(f[0], f[1]) for f in r.fills]
            m.frozen_until = r.frozen_until
            state.mmp.setdefault(r.account, {})[r.underlying] = m
        for o in orders:  # ascending order_id
            state.index(o)
        return state
