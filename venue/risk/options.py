"""Black-76: European option prices, Greeks and implied volatility on a forward.

The one place where option maths uses floating point (DESIGN rule 5): the risk monitor turns
the results into integers (`figures`) and submits them as `SetOptionMarks`; nothing here
touches venue state.

Formulas (Black 1976; Hull, "Options, Futures, and Other Derivatives", ch. 18), forward F,
strike K, time T in years, volatility s, rate r (the venue's options are USD-margined and
settle in cash at expiry with no financing of the premium: it uses r = 0):
    d1 = (ln(F/K) + s^2 T / 2) / (s sqrt T),  d2 = d1 - s sqrt T
    call = e^{-rT} (F N(d1) - K N(d2)),  put = e^{-rT} (K N(-d2) - F N(-d1))
    delta = e^{-rT} N(d1) (call), e^{-rT} (N(d1) - 1) (put)
    gamma = e^{-rT} n(d1) / (F s sqrt T);  vega = e^{-rT} F n(d1) sqrt T (per 1.00 of vol)
    theta (r = 0) = -F n(d1) s / (2 sqrt T) per year.
Invariants: pure functions; T <= 0 or s <= 0 gives the intrinsic value and zero Greeks;
`implied_vol` returns None when the price is outside the no-arbitrage range.
"""

from __future__ import annotations

import math
from typing import NamedTuple

__all__ = ["Greeks", "black76", "figures", "implied_vol", "norm_cdf", "year_fraction"]

NS_PER_YEAR = 365 * 86_400 * 1_000_000_000
"""Time to expiry is counted in years of 365 days (ACT/365)."""


def norm_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _norm_pdf(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def year_fraction(now_ns: int, expiry_ns: int) -> float:
    return max(0, expiry_ns - now_ns) / NS_PER_YEAR


class Greeks(NamedTuple):
    price: float  # premium, in the forward's units (USD)
    delta: float  # per unit of the underlying
    gamma: float  # delta per 1 unit (USD) of the forward
    vega: float  # premium per 1.00 of volatility
    theta: float  # premium per year (negative: decay)


def black76(  # noqa: PLR0917 -- the model's parameters
    forward: float, strike: float, years: float, vol: float, call: bool, rate: float = 0.0
) -> Greeks:
    """Black-76 price and Greeks (module docstring)."""
    if years <= 0 or vol <= 0 or forward <= 0 or strike <= 0:
        value = max(0.0, forward - strike if call else strike - forward)
        inside = (forward > strike) if call else (forward < strike)
        return Greeks(value, (1.0 if call else -1.0) if inside else 0.0, 0.0, 0.0, 0.0)
    sq = math.sqrt(years)
    d1 = (math.log(forward / strike) + 0.5 * vol * vol * years) / (vol * sq)
    d2 = d1 - vol * sq
    df = math.exp(-rate * years)
    pdf = _norm_pdf(d1)
    if call:
        price = df * (forward * norm_cdf(d1) - strike * norm_cdf(d2))
        delta = df * norm_cdf(d1)
    else:
        price = df * (strike * norm_cdf(-d2) - forward * norm_cdf(-d1))
        delta = df * (norm_cdf(d1) - 1.0)
    gamma = df * pdf / (forward * vol * sq)
    vega = df * forward * pdf * sq
    theta = -df * forward * pdf * vol / (2.0 * sq) + rate * price
    return Greeks(price, delta, gamma, vega, theta)


def implied_vol(  # noqa: PLR0917 -- the model's parameters
    price: float,
    forward: float,
    strike: float,
    years: float,
    call: bool,
    rate: float = 0.0,
) -> float | None:
    """The volatility at which `black76` gives `price` (bisection to 1e-10 over 0.0001..20),
    or None if the price is not above intrinsic and below its upper bound."""
    if years <= 0 or forward <= 0 or strike <= 0:
        return None
    df = math.exp(-rate * years)
    lower = df * max(0.0, forward - strike if call else strike - forward)
    upper = df * (forward if call else strike)
    if not lower < price < upper:
        return None
    lo, hi = 1e-4, 20.0
    if black76(forward, strike, years, hi, call, rate).price < price:
        return None
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if black76(forward, strike, years, mid, call, rate).price < price:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-10:
            break
    return 0.5 * (lo + hi)


_PPB = 1_000_000_000
_MONEY = 1_000_000


def figures(g: Greeks, tick: float) -> tuple[int, int, int, int, int]:
    """(mark ticks, delta ppb, gamma ppb per USD, vega 10^-6 USD per vol point, theta 10^-6
    USD per day): the integers of `SetOptionMarks`. The mark is rounded to the nearest tick
    and is at least one tick."""
    mark = max(1, round(g.price / tick))
    return (
        mark,
        round(g.delta * _PPB),
        round(g.gamma * _PPB),
        round(g.vega * 0.01 * _MONEY),
        round(g.theta / 365.0 * _MONEY),
    )
