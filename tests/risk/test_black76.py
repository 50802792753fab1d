"""Black-76 (venue.risk.options) against published values and identities:

- Hull, "Options, Futures, and Other Derivatives" (Example 18.x, futures option): F = K = 20,
  r = 9 %, T = 4 months, s = 25 %: put = 1.12 (and, F = K, the call equals it);
- Haug, "The Complete Guide to Option Pricing Formulas", Black-76: F = K = 19, T = 0.75,
  r = 10 %, s = 28 %: call = put = 1.7011;
- put-call parity c - p = e^{-rT} (F - K), delta parity, Greeks as finite differences of the
  price, implied volatility round trips; the integer figures' units.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from venue.risk.options import black76, figures, implied_vol


def test_hull_futures_option_example() -> None:
    put = black76(20.0, 20.0, 4 / 12, 0.25, call=False, rate=0.09)
    call = black76(20.0, 20.0, 4 / 12, 0.25, call=True, rate=0.09)
    assert round(put.price, 2) == 1.12
    assert round(call.price, 2) == 1.12


def test_haug_black76_example() -> None:
    call = black76(19.0, 19.0, 0.75, 0.28, call=True, rate=0.10)
    put = black76(19.0, 19.0, 0.75, 0.28, call=False, rate=0.10)
    assert round(call.price, 4) == 1.7011
    assert round(put.price, 4) == 1.7011


@given(
    f=st.floats(1_000, 200_000),
    k=st.floats(1_000, 200_000),
    t=st.floats(1 / 365, 3),
    s=st.floats(0.05, 2.0),
    r=st.sampled_from([0.0, 0.05]),
)
def test_put_call_parity_and_delta_parity(f: float, k: float, t: float, s: float, r: float) -> None:
    c = black76(f, k, t, s, True, r)
    p = black76(f, k, t, s, False, r)
    df = math.exp(-r * t)
    assert c.price - p.price == pytest.approx(df * (f - k), abs=1e-7 * max(f, k))
    assert c.delta - p.delta == pytest.approx(df, abs=1e-9)
    assert c.gamma == pytest.approx(p.gamma) and c.vega == pytest.approx(p.vega)


@pytest.mark.parametrize("call", [True, False])
def test_greeks_are_the_price_derivatives(call: bool) -> None:
    f, k, t, s = 60_000.0, 65_000.0, 0.25, 0.6
    g = black76(f, k, t, s, call)
    h = 1e-3

    def price(ff: float = f, tt: float = t, ss: float = s) -> float:
        return black76(ff, k, tt, ss, call).price

    assert g.delta == pytest.approx((price(ff=f + h) - price(ff=f - h)) / (2 * h), rel=1e-5)
    dd = (black76(f + 1, k, t, s, call).delta - black76(f - 1, k, t, s, call).delta) / 2
    assert g.gamma == pytest.approx(dd, rel=1e-4)
    assert g.vega == pytest.approx((price(ss=s + 1e-5) - price(ss=s - 1e-5)) / 2e-5, rel=1e-5)
    dt = 1e-6
    assert g.theta == pytest.approx(-(price(tt=t + dt) - price(tt=t - dt)) / (2 * dt), rel=1e-4)


@given(
    k=st.floats(30_000, 120_000), t=st.floats(7 / 365, 2), s=st.floats(0.1, 1.5), call=st.booleans()
)
def test_implied_vol_round_trip(k: float, t: float, s: float, call: bool) -> None:
    price = black76(60_000.0, k, t, s, call).price
    iv = implied_vol(price, 60_000.0, k, t, call)
    intrinsic = max(0.0, 60_000.0 - k if call else k - 60_000.0)
    if price - intrinsic < 1e-3:  # time value too small to carry the volatility
        return
    assert iv is not None
    assert iv == pytest.approx(s, rel=1e-4)


def test_implied_vol_outside_the_bounds_is_none() -> None:
    assert implied_vol(100.0, 60_000.0, 50_000.0, 0.5, True) is None  # below intrinsic
    assert implied_vol(60_001.0, 60_000.0, 50_000.0, 0.5, True) is None  # above the forward


def test_expired_or_zero_vol_is_intrinsic() -> None:
    assert black76(60_000, 55_000, 0.0, 0.5, True).price == 5_000
    assert black76(60_000, 55_000, 0.0, 0.5, False).price == 0
    assert black76(60_000, 55_000, 0.0, 0.5, True).delta == 1.0


def test_integer_figures_units() -> None:
    g = black76(60_000.0, 60_000.0, 0.25, 0.6, True)
    # ATM, r = 0: price = F (2 N(s sqrt(T) / 2) - 1); with s sqrt T = 0.3: 2 N(0.15) - 1.
    expected = 60_000 * (2 * 0.5596177 - 1)
    assert g.price == pytest.approx(expected, rel=1e-6)
    mark, delta, gamma, vega, theta = figures(g, 0.5)
    assert mark == round(g.price / 0.5)
    assert delta == round(g.delta * 1e9)  # ppb per contract
    assert vega == round(g.vega * 0.01 * 1e6)  # 10^-6 USD per vol point
    assert theta == round(g.theta / 365 * 1e6) and theta < 0  # 10^-6 USD per day
    assert gamma == round(g.gamma * 1e9)
    far = black76(60_000.0, 500_000.0, 0.01, 0.3, True)
    assert figures(far, 0.5)[0] == 1  # never below one tick
