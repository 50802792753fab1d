"""Accounts, positions and the margin arithmetic (pure integer functions).

Units: prices in ticks, sizes in lots (signed: long > 0), money in units of 10^-6 USD
(`MONEY_SCALE`), rates in parts per 10^9 (`PPB`). `factor` is the instrument's value of one
tick on one lot in money units (`value_factor`), so a notional is `lots * ticks * factor`.

Invariants kept here:
- A position keeps `cost` = the signed sum of `qty * price` of the lots it still holds (ticks x
  lots), so `upnl = factor * (size * mark - cost)` exactly and the average entry price is the
  exact fraction `cost / size`; `size == 0` implies `cost == 0` and `margin == 0`.
- Closing k lots of a position of size s removes `ceil(cost * k / s)` from its cost (rounded
  in the venue's favour: realized PnL is never rounded up); whatever the rounding, the sum
  balance + realized + unrealized PnL is unchanged by the split, so money is conserved exactly.
- Margin amounts round up (IM = ceil(N * imr / 10^9), MM = ceil((N * mmr - cum) / 10^9)), fees
  round up (a rebate rounds towards zero): always in the venue's favour.
- No floats; the only non-integers are the exact `Fraction`s the read-only views return.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from venue.core.book import Market, Order
from venue.core.margin import (
    ceil_div,
    initial_margin,
    maintenance_margin,
    tier_table,
    value_factor,
)
from venue.core.types import PPB, Side

__all__ = [
    "Account",
    "AccountView",
    "Position",
    "PositionView",
    "ceil_div",
    "expose",
    "initial_margin",
    "maintenance_margin",
    "reexpose",
    "tier_table",
    "upnl",
    "value_factor",
]

_BUY = Side.BUY


class Position:
    """One account's position in one instrument. Mutable; only the engine changes it."""

    __slots__ = ("cost", "isolated", "margin", "realized_pnl", "size", "symbol")

    def __init__(self, symbol: str, isolated: bool = False) -> None:
        self.symbol = symbol
        self.size = 0  # signed lots
        self.cost = 0  # signed sum of qty * price (ticks x lots) of the lots held
        self.realized_pnl = 0  # money units, fees excluded
        self.isolated = isolated
        self.margin = 0  # isolated margin allocated to the position (money units)

    def trade(self, dq: int, px: int, factor: int) -> tuple[int, int, int]:
        """Apply a trade of `dq` signed lots at `px`. Returns (realized PnL in money units,
        lots closed, lots opened)."""
        s = self.size
        if s == 0 or (s > 0) == (dq > 0):
            self.size = s + dq
            self.cost += dq * px
            return 0, 0, abs(dq)
        k = min(abs(dq), abs(s))
        sk = k if s > 0 else -k  # the signed part of the position that is closed
        removed = ceil_div(self.cost * k, abs(s))
        realized = factor * (sk * px - removed)
        self.size = s - sk
        self.cost -= removed
        rest = dq + sk  # what is left of the trade opens the other way
        if rest:
            self.size += rest
            self.cost += rest * px
        self.realized_pnl += realized
        return realized, k, abs(rest)


class Account:
    """An account: settlement balance, positions, live orders. Mutable; engine-only."""

    __slots__ = (
        "account",
        "balance",
        "exposure",
        "fee_tier",
        "firm",
        "isolated",
        "max_leverage",
        "min_imr_ppb",
        "orders",
        "positions",
        "segment",
    )

    def __init__(
        self, firm: str, account: str, segment: str, max_leverage: int, fee_tier: str
    ) -> None:
        self.firm = firm
        self.account = account
        self.segment = segment
        self.max_leverage = max_leverage
        self.min_imr_ppb = ceil_div(PPB, max_leverage)  # 1 / max_leverage, rounded up
        self.fee_tier = fee_tier
        self.balance = 0
        self.positions: dict[str, Position] = {}  # symbol -> open position (size != 0)
        self.orders: dict[int, Order] = {}  # order_id -> live resting order (point lookups)
        self.isolated: dict[str, bool] = {}  # symbol -> isolated mode (absent: cross)
        # symbol -> [buy leaves, sell leaves, sum of buy leaves x price, same for sells] over
        # the resting orders in `orders` (R1 reads these instead of iterating the orders)
        self.exposure: dict[str, list[int]] = {}


@dataclass(frozen=True, slots=True)
class AccountView:
    """An account at the current mark prices (money units, 10^-6 USD).

    equity = balance + isolated margins + unrealized PnL; available = cross equity - the
    worst-case initial margin of positions and open orders (what R1 and Withdraw use).
    """

    firm: str
    account: str
    segment: str
    max_leverage: int
    balance: int
    unrealized_pnl: int
    isolated_margin: int
    equity: int
    initial_margin: int
    maintenance_margin: int
    available: int


@dataclass(frozen=True, slots=True)
class PositionView:
    """A position at the current mark. Prices are exact fractions of ticks (None when flat,
    or when no price in (0, infinity) liquidates the position)."""

    account: str
    symbol: str
    size: int
    cost: int
    entry_price: Fraction | None
    mark_price: int
    realized_pnl: int
    unrealized_pnl: int
    isolated: bool
    margin: int
    initial_margin: int
    maintenance_margin: int
    liquidation_price: Fraction | None
    bankruptcy_price: Fraction | None


def expose(acct: Account, symbol: str, side: Side, leaves: int, price: int) -> None:
    """Add `leaves` lots at `price` (negative: remove) to the account's exposure."""
    e = acct.exposure.get(symbol)
    if e is None:
        e = acct.exposure[symbol] = [0, 0, 0, 0]
    if side == _BUY:
        e[0] += leaves
        e[2] += leaves * price
    else:
        e[1] += leaves
        e[3] += leaves * price
    if not e[0] and not e[1]:
        del acct.exposure[symbol]


def upnl(pos: Position, mkt: Market) -> int:
    """Unrealized PnL of `pos` at the mark (money units)."""
    return mkt.factor * (pos.size * mkt.mark - pos.cost)


def reexpose(acct: Account, o: Order, price: int, qty: int) -> None:
    """`o` (of `acct`) keeps resting but changes to `price` and `qty` (a replace that does
    not trade): its exposure moves from its current terms to the new ones in place (as
    `drop` then `hold` would, without leaving and re-entering the account's order index).
    Call before changing `o`."""
    e = acct.exposure[o.symbol]
    cum = o.cum_qty
    old = o.qty - cum
    new = qty - cum
    if o.side == _BUY:
        e[0] += new - old
        e[2] += new * price - old * o.price
    else:
        e[1] += new - old
        e[3] += new * price - old * o.price
