"""Risk-monitor settings: the `[risk]` table of `venue.toml`, one `RiskConfig` struct with
defaults. It lives beside `venue.config` (which embeds it in `VenueConfig`) because the
configuration sits below the risk monitor in the module layers; `venue.risk.settings`
re-exports it for the monitor.

Invariants:
- Integers only: durations in whole seconds or milliseconds (named `*_seconds` / `*_ms`), rates
  in parts per 10^9 (`*_ppb`, `RATE_SCALE`), counts as plain ints. No floats.
- `validate()` is total and names the first bad key; a config that passes gives every
  scheduler in `venue.risk` a positive period and a non-empty window.
"""

from __future__ import annotations

import msgspec

__all__ = ["RATE_SCALE", "RiskConfig"]

RATE_SCALE = 1_000_000_000
"""Rates (`*_ppb`) are parts per 10^9: 0.01 % = 100_000 ppb."""


class RiskConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the risk monitor needs to know (see `fix_specs/RULES_OF_ENGAGEMENT.md` section 12).

    Mark price: every `mark_sample_ms` the monitor samples each instrument's premium (impact
    bid / ask against the index: the average price at which the impact notional would fill on
    each side, `impact_notional_usd` whole USD unless the instrument sets its own
    `impact_notional`) into a window of the last `mark_window_samples` samples; mark =
    index + their mean, clamped to ± `mark_clamp_ppb` of the index. A changed mark is submitted
    at most once per `mark_min_interval_ms` per instrument.

    Funding (perpetuals): the premium index is sampled every `premium_sample_seconds`; at each
    multiple of `funding_interval_seconds` since the Unix epoch (00:00, 08:00, 16:00 UTC by
    default) rate = P + clamp(`interest_rate_ppb` − P, ± `funding_clamp_ppb`), capped at
    ± `funding_cap_ppb`.

    Statistics: at most once per `statistics_interval_ms` per instrument, when one of its figures
    changed, the monitor publishes them (mark, index, funding rate, predicted rate, next funding
    time, open interest) as one sequenced `PublishStatistics`: the market data carries them.

    Index: an instrument's own staleness limit (`index_stale_ns`, which the core enforces)
    decides; `index_stale_seconds` only applies to instruments without one (0: not checked,
    like the core). While stale the monitor stops moving the mark and submits no liquidation
    for accounts holding the instrument.

    Liquidation: at most `liquidation_checks_per_tick` account checks per monitor tick; an
    account whose `Liquidate` committed but left it below maintenance is tried again after
    `liquidation_retry_ms`.

    Futures: final settlement price = time-weighted average of the index over the last
    `settlement_window_seconds` before expiry.

    Options (`venue.risk.option_marks`): an option's index mirrors the index of the instrument
    `option_index_sources[underlying]` (default `UNDERLYING-PERP`); its mark is Black-76 on
    the forward (the same-expiry future's mark when one is listed, else the index) at the
    series' mark implied volatility: the last one committed (`venue-admin options set-iv`),
    else `option_iv_ppb`. Marks and Greeks are submitted at most once per
    `mark_min_interval_ms` per series, when they changed. Options settle like futures.
    """

    tick_ms: int = 100
    mark_sample_ms: int = 1_000
    mark_window_samples: int = 60
    mark_clamp_ppb: int = 5_000_000  # 0.5 % of the index
    mark_min_interval_ms: int = 1_000
    impact_notional_usd: int = 10_000  # instruments without their own `impact_notional`
    statistics_interval_ms: int = 1_000
    premium_sample_seconds: int = 60
    funding_interval_seconds: int = 8 * 3600
    interest_rate_ppb: int = 100_000  # 0.01 % per funding interval
    funding_clamp_ppb: int = 500_000  # 0.05 %
    funding_cap_ppb: int = 7_500_000  # 0.75 %
    index_stale_seconds: int = 0  # fallback for instruments without a limit; 0: none
    liquidation_checks_per_tick: int = 250  # ~16 us each: at most ~4 ms of the loop per tick
    liquidation_retry_ms: int = 1_000
    settlement_window_seconds: int = 1_800
    option_iv_ppb: int = 600_000_000  # 60 %: mark IV of a series without one set
    option_index_sources: dict[str, str] = {}  # underlying -> instrument with its index

    def validate(self) -> str | None:
        """None when usable, else `key: reason` for the first bad setting."""
        positive = (
            "tick_ms",
            "mark_sample_ms",
            "mark_window_samples",
            "mark_min_interval_ms",
            "impact_notional_usd",
            "statistics_interval_ms",
            "premium_sample_seconds",
            "funding_interval_seconds",
            "liquidation_checks_per_tick",
            "liquidation_retry_ms",
            "settlement_window_seconds",
        )
        for key in positive:
            if getattr(self, key) <= 0:
                return f"{key}: must be positive"
        if self.index_stale_seconds < 0:
            return "index_stale_seconds: must not be negative"
        for key in ("mark_clamp_ppb", "funding_clamp_ppb", "funding_cap_ppb"):
            value = getattr(self, key)
            if not 0 <= value <= RATE_SCALE:
                return f"{key}: must be between 0 and {RATE_SCALE} (100 %)"
        if abs(self.interest_rate_ppb) > RATE_SCALE:
            return "interest_rate_ppb: must be between -100 % and 100 %"
        if not 0 < self.option_iv_ppb <= 20 * RATE_SCALE:
            return "option_iv_ppb: must be above 0 and at most 20 (2000 %)"
        if self.premium_sample_seconds > self.funding_interval_seconds:
            return "premium_sample_seconds: longer than funding_interval_seconds"
        return None
