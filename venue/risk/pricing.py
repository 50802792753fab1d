"""Pure price arithmetic of the risk monitor: impact prices, premium, mark price, funding
rate, settlement price, and exact decimal → tick conversion of index prices.

Invariants:
- Integers only (prices in ticks, rates in parts per 10^9, times in ns); no floats, no clock,
  no state. Every function is total on its documented domain and deterministic.
- Divisions that produce a price or a rate round **toward zero** (`div0`), so a premium or a
  rate is never inflated by rounding in either direction; the settlement average rounds to the
  nearest tick, ties to even (it is paid between longs and shorts, so no side is favoured).
- Impact prices (the average price at which the impact notional would fill on one side) are
  exact fractions rounded to whole ticks away from the other side: an impact bid down, an
  impact ask up, so rounding only ever moves a premium toward zero. A side too thin to fill the
  impact notional has no impact price (it then contributes nothing to the premium).
- Decimal input is converted exactly or refused (`ValueError`), never rounded (DESIGN rule 5).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from decimal import Decimal, InvalidOperation

from venue.risk.settings import RATE_SCALE

_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(\.[0-9]+)?")

__all__ = [
    "clamp",
    "decimal_to_ticks",
    "div0",
    "funding_rate_ppb",
    "impact_price",
    "mark_price",
    "next_boundary",
    "premium_ppb",
    "premium_ticks",
    "settlement_price",
]


def div0(num: int, den: int) -> int:
    """`num / den` rounded toward zero (`den > 0`)."""
    q = abs(num) // den
    return q if num >= 0 else -q


def clamp(value: int, low: int, high: int) -> int:
    return low if value < low else high if value > high else value


def impact_price(
    levels: Iterable[tuple[int, int]], notional: int, value_per_tick_lot: int, *, bid: bool
) -> int | None:
    """The average price (ticks) at which `notional` (money units) would fill against one side.

    `levels` are (price in ticks, quantity in lots), best first; a lot at price p is worth
    p × `value_per_tick_lot` money units. Whole levels are taken while they fit; the level that
    completes the notional is taken in part (a fraction of a lot is fine: this is a price, not
    a trade). With S lots taken whole and r money units left for the last level's price p:

        impact = notional × p / (value_per_tick_lot × S × p + r)

    rounded down to a tick for a bid, up for an ask. None when the whole side is worth less
    than `notional` (or `notional` / `value_per_tick_lot` is not positive).
    """
    if notional <= 0 or value_per_tick_lot <= 0:
        return None
    taken = 0  # money units of the whole levels taken so far
    lots = 0
    for price, qty in levels:
        worth = price * qty * value_per_tick_lot
        if taken + worth >= notional:
            num = notional * price
            den = value_per_tick_lot * lots * price + (notional - taken)
            return num // den if bid else -(-num // den)
        taken += worth
        lots += qty
    return None


def premium_ticks(impact_bid: int | None, impact_ask: int | None, index: int) -> int:
    """One premium sample (ticks): max(0, impact bid − index) − max(0, index − impact ask).

    Zero while the index lies between the impact prices; the distance to the near one when
    both are above or below the index. A missing side (one that cannot fill the impact
    notional) contributes nothing, so a thin, one-sided or empty book never drags the mark.
    """
    up = impact_bid - index if impact_bid is not None and impact_bid > index else 0
    down = index - impact_ask if impact_ask is not None and impact_ask < index else 0
    return up - down


def mark_price(index: int, premiums: Sequence[int], clamp_ppb: int) -> int:
    """index + clamp(mean(premiums), ± index × clamp_ppb / 10^9), at least 1 tick.

    The mean and the clamp's half-width both round toward zero; no samples: the index itself.
    """
    if not premiums:
        return max(index, 1)
    mean = div0(sum(premiums), len(premiums))
    half = index * clamp_ppb // RATE_SCALE
    return max(index + clamp(mean, -half, half), 1)


def premium_ppb(premium: int, index: int) -> int:
    """A premium sample in ticks as a rate of the index (ppb, toward zero)."""
    return div0(premium * RATE_SCALE, index)


def funding_rate_ppb(
    premium_samples_ppb: Sequence[int], interest_ppb: int, clamp_ppb: int, cap_ppb: int
) -> int:
    """rate = P + clamp(I − P, ± clamp), then capped at ± cap; P = mean of the samples (toward
    zero), 0 without samples (the rate is then the interest rate, clamped)."""
    p = div0(sum(premium_samples_ppb), len(premium_samples_ppb)) if premium_samples_ppb else 0
    rate = p + clamp(interest_ppb - p, -clamp_ppb, clamp_ppb)
    return clamp(rate, -cap_ppb, cap_ppb)


def next_boundary(now_ns: int, period_ns: int) -> int:
    """The first multiple of `period_ns` (since the epoch) strictly after `now_ns`."""
    return (now_ns // period_ns + 1) * period_ns


def settlement_price(
    changes: Iterable[tuple[int, int]], start_ns: int, end_ns: int, before: int | None
) -> int | None:
    """Time-weighted average of the index over [start_ns, end_ns).

    `changes` are (ts_ns, price) of committed index prices in time order; `before` is the
    index in force at `start_ns` (the last one set before it), if any. Each price counts for
    the time it was in force inside the window; time before the first known price does not
    count. Rounded to the nearest tick, ties to even. None when no price was in force at all.
    """
    total = 0
    weight = 0
    cur_ts, cur_px = start_ns, before
    for ts, px in changes:
        if ts >= end_ns:
            break
        if ts <= start_ns:
            cur_px = px
            continue
        if cur_px is not None:
            total += cur_px * (ts - cur_ts)
            weight += ts - cur_ts
        cur_ts, cur_px = ts, px
    if cur_px is not None and end_ns > cur_ts:
        total += cur_px * (end_ns - cur_ts)
        weight += end_ns - cur_ts
    if weight == 0:
        return None
    q, r = divmod(total, weight)
    if 2 * r > weight or (2 * r == weight and q & 1):
        q += 1
    return q


def decimal_to_ticks(text: str, tick_size: str) -> int:
    """An exact decimal price (e.g. "65000.5") in ticks of `tick_size`; ValueError if it is not
    a positive plain decimal on the tick."""
    if len(text) > 32 or not _PLAIN_DECIMAL.fullmatch(text):
        raise ValueError(f"{text!r} is not a plain decimal number")
    try:
        tick = Decimal(tick_size)
    except InvalidOperation:
        raise ValueError(f"tick size {tick_size!r} is not a decimal number") from None
    if not tick.is_finite() or tick <= 0:
        raise ValueError(f"tick size {tick_size!r} must be positive")
    value = Decimal(text)
    if value <= 0:
        raise ValueError(f"{text!r}: an index price must be positive")
    ticks, rest = divmod(value, tick)
    if rest != 0:
        raise ValueError(f"{text!r} is not on the tick {tick_size}")
    return int(ticks)
