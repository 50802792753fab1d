"""Option marks: the risk monitor's decisions for option series (a collaborator of
`venue.risk.monitor.RiskMonitor`, which calls `due` every tick and submits what it answers).

For each listed, unexpired option series:
1. Underlying index: the series' index mirrors the index of its source instrument
   (`RiskConfig.option_index_sources[underlying]`, default `UNDERLYING-PERP`), converted to
   the series' ticks (nearest tick, halves up): one `SetIndexPrice` (source
   `underlying:<source>`) whenever the source's index was set after the series' own or differs
   from it. The core uses it for the short-option margin, the band, and (through the
   monitor's history of it) the settlement average.
2. Mark and Greeks: Black-76 (`venue.risk.options`, r = 0) on the forward (the mark of a
   dated future of the same underlying and the same expiry when one is listed with a mark,
   else the index), T = time to expiry in years of 365 days, at the series' mark implied
   volatility (the last committed one, which `venue-admin options set-iv` sets; else
   `RiskConfig.option_iv_ppb`). Bid/ask IV: the implied volatility of the best bid/ask (0
   when there is none or it is outside the model's bounds). One `SetOptionMarks` when any of
   its integers changed, at most once per `mark_min_interval_ms` per series.

Invariants: `due` never reads a clock (the time is its argument) and never mutates the
engine; all floats stay here and leave as the integers of `SetOptionMarks`.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from venue.core.commands import SetIndexPrice, SetOptionMarks
from venue.core.types import InstrumentKind, InstrumentState
from venue.risk.options import black76, figures, implied_vol, year_fraction

if TYPE_CHECKING:
    from venue.core import Engine
    from venue.core.book import Market
    from venue.core.commands import Command
    from venue.risk.settings import RiskConfig

__all__ = ["OptionMarker", "index_source"]

_PPB = 1_000_000_000
_MS = 1_000_000
_FUTURE = InstrumentKind.FUTURE
_EXPIRED = InstrumentState.EXPIRED


def index_source(cfg: RiskConfig, underlying: str) -> str:
    """The instrument whose index is `underlying`'s index."""
    return cfg.option_index_sources.get(underlying, f"{underlying}-PERP")


class OptionMarker:
    """Decides the option series' index mirrors and marks. See the module docstring."""

    def __init__(self, engine: Engine, config: RiskConfig) -> None:
        self._engine = engine
        self._cfg = config
        self._last_submit: dict[str, int] = {}

    def due(self, now_ns: int) -> list[Command]:
        out: list[Command] = []
        markets = self._engine.markets
        for symbol, mkt in markets.items():
            if mkt.option is None or mkt.state == _EXPIRED:
                continue
            self._mirror(symbol, mkt, out)
            if mkt.index_ts >= 0 and now_ns < mkt.instrument.expiry_ts:
                self._mark(symbol, mkt, now_ns, out)
        return out

    def _mirror(self, symbol: str, mkt: Market, out: list[Command]) -> None:
        source = index_source(self._cfg, mkt.instrument.underlying)
        smkt = self._engine.markets.get(source)
        if smkt is None or smkt.index_ts < 0:
            return
        usd = smkt.index_price * Decimal(smkt.instrument.tick_size)
        ticks = int((usd / Decimal(mkt.instrument.tick_size)).to_integral_value(ROUND_HALF_UP))
        if ticks <= 0:
            return
        if smkt.index_ts > mkt.index_ts or ticks != mkt.index_price:
            out.append(SetIndexPrice(symbol=symbol, price=ticks, source=f"underlying:{source}"))

    def forward(self, mkt: Market) -> float:
        """The forward (USD) of an option market: a same-expiry future's mark, else its index."""
        inst = mkt.instrument
        prefix = inst.underlying + "-"
        for other in self._engine.markets.values():
            oi = other.instrument
            if (
                oi.kind == _FUTURE
                and oi.expiry_ts == inst.expiry_ts
                and oi.symbol.startswith(prefix)
                and other.mark_price
            ):
                return float(other.mark_price * Decimal(oi.tick_size))
        return float(mkt.index_price * Decimal(inst.tick_size))

    def _mark(self, symbol: str, mkt: Market, now_ns: int, out: list[Command]) -> None:
        opt = mkt.option
        assert opt is not None
        strike_ticks, call = opt
        tick = float(Decimal(mkt.instrument.tick_size))
        forward = self.forward(mkt)
        strike = strike_ticks * tick
        years = year_fraction(now_ns, mkt.instrument.expiry_ts)
        current = mkt.option_marks
        iv_ppb = current[0] if current else self._cfg.option_iv_ppb
        g = black76(forward, strike, years, iv_ppb / _PPB, call)
        mark, delta, gamma, vega, theta = figures(g, tick)

        def iv_of(price: int | None) -> int:
            if price is None:
                return 0
            iv = implied_vol(price * tick, forward, strike, years, call)
            return 0 if iv is None else round(iv * _PPB)

        bid_iv = iv_of(mkt.bids.best_price())
        ask_iv = iv_of(mkt.asks.best_price())
        new = (mark, iv_ppb, bid_iv, ask_iv, delta, gamma, vega, theta)
        if new == (mkt.mark_price, *current):
            return
        last = self._last_submit.get(symbol, -(1 << 62))
        if now_ns - last < self._cfg.mark_min_interval_ms * _MS:
            return
        self._last_submit[symbol] = now_ns
        out.append(
            SetOptionMarks(
                symbol=symbol,
                price=mark,
                iv_ppb=iv_ppb,
                bid_iv_ppb=bid_iv,
                ask_iv_ppb=ask_iv,
                delta=delta,
                gamma=gamma,
                vega=vega,
                theta=theta,
            )
        )
