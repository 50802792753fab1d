"""The order book of one instrument: two sides of price levels with FIFO queues.

Invariants kept here (checked by `Engine.validate_internal_state`):
- A side keeps `keys`, the sorted (ascending) list of `sign * price` of its non-empty levels,
  so the best level is always `keys[-1]` (bids: sign +1, highest price; asks: sign -1, lowest
  price); `levels` maps each such price to its `Level`. No empty level is kept.
- A level's `qty` equals the sum of `qty - cum_qty` (leaves) of its orders; its `orders` list is
  in time priority (FIFO): orders join at the tail, the head trades first.
- Every resting order has leaves > 0 and `price` equal to its level's price.
- Dicts here are used for point lookups only; iteration follows `keys` and the FIFO lists.
"""

from __future__ import annotations

from bisect import bisect_left, insort

import msgspec

from venue.core.margin import tier_table, value_factor
from venue.core.types import (
    BAND_SCALE,
    MAX_PRICE,
    Instrument,
    InstrumentKind,
    InstrumentState,
    OrdType,
    PutCall,
    Side,
    StpMode,
    TimeInForce,
)

__all__ = ["BookSide", "Level", "Market", "Order", "fok_fillable"]


class Order(msgspec.Struct, gc=False, eq=False):
    """A live order. Mutable; only the engine changes it.

    A msgspec Struct (built positionally, in the field order below): about 2.5x faster to
    create than a class with `__slots__` and an `__init__`, never tracked by the garbage
    collector (it refers to nothing that could form a cycle: strings, ints and enums) and
    16 bytes smaller. `eq=False`: orders compare (and hash) by identity, as objects do.
    """

    order_id: int
    session: str
    firm: str
    account: str
    cl_ord_id: str
    symbol: str
    side: Side
    ord_type: OrdType
    tif: TimeInForce
    price: int
    qty: int
    cum_qty: int
    cum_notional: int
    expire_ts: int
    post_only: bool
    reduce_only: bool
    stp_id: int
    stp_mode: StpMode


class Level:
    __slots__ = ("orders", "price", "qty")

    def __init__(self, price: int) -> None:
        self.price = price
        self.qty = 0
        self.orders: list[Order] = []


class BookSide:
    __slots__ = ("keys", "levels", "sign")

    def __init__(self, sign: int) -> None:
        self.sign = sign
        self.keys: list[int] = []
        self.levels: dict[int, Level] = {}

    def add(self, order: Order) -> None:
        """Put `order` at the tail of its price level (creating the level if needed)."""
        price = order.price
        level = self.levels.get(price)
        if level is None:
            level = Level(price)
            self.levels[price] = level
            insort(self.keys, self.sign * price)
        else:
            order.price = level.price  # share one int object per level
        level.orders.append(order)
        level.qty += order.qty - order.cum_qty

    def remove(self, order: Order) -> None:
        """Take `order` out of its level (dropping the level if it becomes empty)."""
        price = order.price
        level = self.levels[price]
        orders = level.orders
        orders.remove(order)
        level.qty -= order.qty - order.cum_qty
        if not orders:
            self.drop_level(price)

    def move(self, order: Order, price: int, qty: int) -> None:
        """Take `order` out of its level and put it, with `price` and `qty`, at the tail of
        the level at `price` (`remove` + `add` in one call, for replaces that lose priority)."""
        old = order.price
        level = self.levels[old]
        orders = level.orders
        orders.remove(order)
        level.qty -= order.qty - order.cum_qty
        if not orders:
            self.drop_level(old)
        order.qty = qty
        dest = self.levels.get(price)
        if dest is None:
            dest = Level(price)
            self.levels[price] = dest
            insort(self.keys, self.sign * price)
            order.price = price
        else:
            order.price = dest.price
        dest.orders.append(order)
        dest.qty += qty - order.cum_qty

    def drop_level(self, price: int) -> None:
        del self.levels[price]
        keys = self.keys
        key = self.sign * price
        if keys[-1] == key:
            keys.pop()
        else:
            del keys[bisect_left(keys, key)]

    def best_price(self) -> int | None:
        keys = self.keys
        return self.sign * keys[-1] if keys else None


class Market:
    """One instrument's definition, its current reference price and state, and its book.

    `lo`/`hi` (the accepted limit-price range: the band clamped to 1..MAX_PRICE) and
    `buy_key`/`sell_key` (how far a market order may sweep, as book keys) are derived from
    `ref_price` by `set_ref_price`, which every change of the reference price goes through.
    `mark` (the price margin uses: `mark_price or index_price or ref_price`; for an option
    `mark_price or ref_price`) is kept equal to that expression by `set_ref_price` and the
    `mark_price`/`index_price` setters. For an option the band's half-width is `band_ppb` of
    `underlying`, re-derived when the index moves.
    """

    __slots__ = (
        "_index_price",
        "_mark_price",
        "asks",
        "bids",
        "buy_key",
        "default_fee_rates",
        "expiry_ts",
        "factor",
        "fee_rates",
        "funding_rate_ppb",
        "funding_ts",
        "hi",
        "imr_ppb",
        "index_ts",
        "instrument",
        "lo",
        "mark",
        "max_qty",
        "mm_table",
        "next_funding_ts",
        "option",
        "option_marks",
        "predicted_rate_ppb",
        "ref_price",
        "sell_key",
        "settled",
        "state",
    )

    def __init__(self, instrument: Instrument) -> None:
        self.instrument = instrument
        # Derivatives: value of a tick on a lot (money units), margin rates, prices.
        self.factor = value_factor(instrument) or 0
        self.imr_ppb = instrument.imr_ppb
        self.mm_table = tier_table(instrument.mm_tiers) or []
        # Fee rates as (taker, maker) ppb: per fee tier (the first entry of a tier counts),
        # and the instrument's own; None when the instrument charges no fees at all.
        self.fee_rates = {
            t.tier: (t.taker_fee_ppb, t.maker_fee_ppb) for t in reversed(instrument.fee_tiers)
        }
        charges = instrument.maker_fee_ppb or instrument.taker_fee_ppb or instrument.fee_tiers
        self.default_fee_rates = (
            (instrument.taker_fee_ppb, instrument.maker_fee_ppb) if charges else None
        )
        self._mark_price = 0  # 0: not set yet (margin then uses the index, else ref_price)
        self._index_price = 0
        self.index_ts = -1  # -1: never set
        self.settled = False
        # Funding as published: the last applied (rate, time) and the risk monitor's outlook
        # (`PublishStatistics`); all 0 until set.
        self.funding_rate_ppb = 0
        self.funding_ts = 0
        self.predicted_rate_ppb = 0
        self.next_funding_ts = 0
        self.state = InstrumentState(instrument.state)
        self.max_qty = instrument.max_order_qty
        self.expiry_ts = instrument.expiry_ts
        self.bids = BookSide(1)
        self.asks = BookSide(-1)
        # Options: (strike ticks, is a call), and the risk monitor's last `SetOptionMarks`
        # figures (iv, bid iv, ask iv, delta, gamma, vega, theta; see the command), or ().
        right = instrument.put_call
        self.option = (
            (instrument.strike, right == PutCall.CALL)
            if instrument.kind == InstrumentKind.OPTION and right is not None
            else None
        )
        self.option_marks: tuple[int, ...] = ()
        self.set_ref_price(instrument.ref_price)

    @property
    def mark_price(self) -> int:
        return self._mark_price

    @mark_price.setter
    def mark_price(self, price: int) -> None:
        self._mark_price = price
        index = self._index_price if self.option is None else 0
        self.mark = price or index or self.ref_price

    @property
    def index_price(self) -> int:
        return self._index_price

    @index_price.setter
    def index_price(self, price: int) -> None:
        self._index_price = price
        if self.option is not None:  # an option's band is a fraction of the underlying
            self.set_ref_price(self.ref_price)
        else:
            self.mark = self._mark_price or price or self.ref_price

    @property
    def underlying(self) -> int:
        """An option's underlying price (ticks): the index, else the strike."""
        opt = self.option
        return self._index_price or (opt[0] if opt is not None else self.ref_price)

    def set_ref_price(self, ref_price: int) -> None:
        self.ref_price = ref_price
        # An option's index is its underlying's price, never a stand-in for its premium.
        index = self._index_price if self.option is None else 0
        self.mark = self._mark_price or index or ref_price
        band_ppb = self.instrument.band_ppb
        if band_ppb:
            # An option's premium may be near zero: its band is a fraction of the underlying.
            basis = ref_price if self.option is None else self.underlying
            half = basis * band_ppb // BAND_SCALE
            lo = ref_price - half
            hi = ref_price + half
            self.lo = lo if lo > 1 else 1
            self.hi = hi if hi < MAX_PRICE else MAX_PRICE
            self.buy_key = -(ref_price + half)  # asks side: key = -price
            self.sell_key = ref_price - half  # bids side: key = price
        else:
            self.lo = 1
            self.hi = MAX_PRICE
            self.buy_key = self.sell_key = -(1 << 62)


def fok_fillable(opp: BookSide, min_key: int, o: Order) -> bool:
    """Can all of `o.qty` trade now against `opp` down to `min_key`?

    Self-trade prevention counts: under CANCEL_RESTING own orders are skipped, under the other
    modes the sweep stops at the first own order (the aggressor would be canceled there).
    """
    need = o.qty
    stp_id = o.stp_id
    skip_own = o.stp_mode == StpMode.CANCEL_RESTING
    levels = opp.levels
    sign = opp.sign
    for key in reversed(opp.keys):
        if key < min_key:
            return False
        level = levels[sign * key]
        if not stp_id:
            need -= level.qty
            if need <= 0:
                return True
            continue
        for r in level.orders:
            if r.stp_id == stp_id and r.firm == o.firm:
                if skip_own:
                    continue
                return False
            need -= r.qty - r.cum_qty
            if need <= 0:
                return True
    return False
