"""`check_state`: the engine's invariants, checked from scratch (slow; for tests and replay).

Invariants checked (each failure names the one it found broken):
- per side: keys sorted and unique, matching the levels; no empty level; a level's qty is the sum
  of its orders' leaves; every resting order has leaves > 0, cum + leaves == qty, the level's
  price, the side's side, a limit type, consistent cum_notional;
- the book is not crossed at rest (best bid < best ask); a market's `mark` is its
  `mark_price or index_price or ref_price`;
- the order index holds exactly the resting orders, in ascending order_id, below
  next_order_id; the cl_ord_id index holds the same orders under their current cl_ord_id.
"""

from __future__ import annotations

from itertools import pairwise

from venue.core.book import Market, Order
from venue.core.types import OrdType, Side

__all__ = ["check_state"]


def check_state(
    markets: dict[str, Market],
    orders: dict[int, Order],
    by_session: dict[str, dict[str, Order]],
    next_order_id: int,
) -> None:
    """Raise AssertionError naming the first broken invariant."""

    def check(ok: bool, what: str) -> None:
        if not ok:
            raise AssertionError(what)

    seen: dict[int, Order] = {}
    for symbol, mkt in markets.items():
        check(mkt.instrument.symbol == symbol, f"market key {symbol} != instrument symbol")
        for side_enum, book_side in ((Side.BUY, mkt.bids), (Side.SELL, mkt.asks)):
            keys = book_side.keys
            ordered = all(a < b for a, b in pairwise(keys))
            check(ordered, f"{symbol} {side_enum.name}: keys not sorted and unique")
            check(
                sorted(book_side.sign * k for k in keys) == sorted(book_side.levels),
                f"{symbol} {side_enum.name}: keys do not match levels",
            )
            for price, level in book_side.levels.items():
                where = f"{symbol} {side_enum.name} level {price}"
                check(level.price == price, f"{where}: level price mismatch")
                check(len(level.orders) > 0, f"{where}: empty level kept")
                total = 0
                for o in level.orders:
                    leaves = o.qty - o.cum_qty
                    check(leaves > 0, f"{where}: order {o.order_id} rests with leaves <= 0")
                    check(o.cum_qty >= 0, f"{where}: order {o.order_id} cum_qty < 0")
                    check(
                        o.cum_qty + leaves == o.qty,
                        f"{where}: order {o.order_id} cum + leaves != qty",
                    )
                    check(o.price == price, f"{where}: order {o.order_id} price mismatch")
                    check(o.side == side_enum, f"{where}: order {o.order_id} on wrong side")
                    check(o.symbol == symbol, f"{where}: order {o.order_id} symbol mismatch")
                    check(o.ord_type == OrdType.LIMIT, f"{where}: order {o.order_id} not a limit")
                    check(
                        (o.cum_qty == 0) == (o.cum_notional == 0),
                        f"{where}: order {o.order_id} cum_notional inconsistent",
                    )
                    check(o.order_id not in seen, f"order {o.order_id} rests twice")
                    check(
                        orders.get(o.order_id) is o,
                        f"{where}: order {o.order_id} not in the order index",
                    )
                    check(
                        by_session.get(o.session, {}).get(o.cl_ord_id) is o,
                        f"{where}: order {o.order_id} not in the cl_ord_id index",
                    )
                    seen[o.order_id] = o
                    total += leaves
                check(total == level.qty, f"{where}: level qty != sum of order leaves")
        index = mkt.index_price if mkt.option is None else 0  # an option's index: its underlying
        mark = mkt.mark_price or index or mkt.ref_price
        check(mkt.mark == mark, f"{symbol}: mark {mkt.mark} != {mark}")
        bid, ask = mkt.bids.best_price(), mkt.asks.best_price()
        check(bid is None or ask is None or bid < ask, f"{symbol}: book crossed at rest")
    check(len(seen) == len(orders), "order index holds orders not in any book")
    ids = list(orders)
    check(ids == sorted(ids), "order index not in ascending order_id")
    check(all(i < next_order_id for i in ids), "order_id not below next_order_id")
    n_cl = sum(len(d) for d in by_session.values())
    check(n_cl == len(orders), "cl_ord_id index size != order index size")
