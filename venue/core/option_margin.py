"""Option margin: pure integer functions of one option market (`Market.option` set).

The rule (fix_specs/RULES_OF_ENGAGEMENT.md, "Options"), Deribit's standard option margin
adapted to linear USD options. Per contract (one lot), with U the underlying index, K the
strike and M the option's mark, all in the option's ticks, and f the money value of one tick
on one lot:
- long: initial = M (the premium is reserved as if paid up front: with the loss of buying
  above mark, a buy at premium P reserves max(P, M) while it rests, and once filled the
  account's available equity has dropped by exactly P); maintenance = 0 (no further margin);
- short: initial = max(0.15 x U - OTM, 0.10 x U) + M, maintenance = 0.075 x U + M, where
  OTM = max(K - U, 0) for a call and max(U - K, 0) for a put.
For n contracts the per-contract figure is multiplied by n x f and the fractional part
(from the 0.15 / 0.10 / 0.075 rates) rounded up once, in the venue's favour. The premium
and the mark move through unrealized PnL as for any linear contract (the account's equity
includes f x size x (M - entry)), so a short's equity already carries -M; the rule's "+ M"
is on top, as in Deribit's rule.

U is the option market's index price (`SetIndexPrice` on the option, in its ticks); until
one is set, the strike stands in for it.

Invariants: integers only; every rounding up; the requirement of a position never depends
on anything but (size, U, K, M, f), so R1, the liquidation predicate and the reports agree.
"""

from __future__ import annotations

from venue.core.types import PPB

__all__ = [
    "SHORT_IM_FLOOR_PPB",
    "SHORT_IM_PPB",
    "SHORT_MM_PPB",
    "intrinsic",
    "option_im",
    "option_mm",
    "option_worst",
]

SHORT_IM_PPB = 150_000_000  # 0.15 of the underlying, less the out-of-the-money amount ...
SHORT_IM_FLOOR_PPB = 100_000_000  # ... but at least 0.10 of the underlying
SHORT_MM_PPB = 75_000_000  # 0.075 of the underlying


def intrinsic(underlying: int, strike: int, call: bool) -> int:
    """Value at expiry (ticks) of one contract: max(U - K, 0) for a call, max(K - U, 0)
    for a put."""
    v = underlying - strike if call else strike - underlying
    return v if v > 0 else 0


def _otm(underlying: int, strike: int, call: bool) -> int:
    v = strike - underlying if call else underlying - strike
    return v if v > 0 else 0


def option_im(  # noqa: PLR0917 -- arithmetic of one market's figures
    size: int, underlying: int, strike: int, call: bool, mark: int, f: int
) -> int:
    """Initial margin (money) of a position of `size` lots (signed) at these prices."""
    if size >= 0:
        return size * mark * f
    n = -size
    x = SHORT_IM_PPB * underlying - _otm(underlying, strike, call) * PPB
    floor = SHORT_IM_FLOOR_PPB * underlying
    rate = x if x > floor else floor
    return -(-n * f * rate // PPB) + n * mark * f


def option_mm(size: int, underlying: int, mark: int, f: int) -> int:
    """Maintenance margin (money) of a position of `size` lots (signed)."""
    if size >= 0:
        return 0
    n = -size
    return -(-n * f * SHORT_MM_PPB * underlying // PPB) + n * mark * f


def option_worst(  # noqa: PLR0917 -- arithmetic of one market's figures
    s: int,
    buys: int,
    sells: int,
    buy_pq: int,
    sell_pq: int,
    underlying: int,
    strike: int,
    call: bool,
    mark: int,
    f: int,
) -> int:
    """Worst-case initial margin of position `s` with resting buys/sells (lots, and sums of
    lots x price): all buys or all sells filling (the larger), plus the loss of filling at
    worse than mark, as `venue.core.risk.worst` does for linear contracts."""
    b = option_im(s + buys, underlying, strike, call, mark, f) + max(0, buy_pq - buys * mark) * f
    a = option_im(s - sells, underlying, strike, call, mark, f) + max(0, sells * mark - sell_pq) * f
    return b if b > a else a
