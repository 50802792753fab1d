"""Surveillance settings: the `[surveillance]` table of `venue.toml` (DESIGN.md section 10).

It lives beside `venue.config` (which embeds it in `VenueConfig`), like `venue.config_risk`:
the configuration sits below the surveillance engine in the module layers.

Invariants:
- Integers only: durations in whole seconds or milliseconds (`*_seconds`, `*_ms`), price moves
  in basis points (`*_bps`), multiples and counts as plain ints. No floats.
- `validate()` is total and names the first bad key; a config that passes gives every pattern a
  positive window and threshold.
- Each pattern's parameters are documented on its struct; `fix_specs/RULES_OF_ENGAGEMENT.md`
  (section "Market surveillance") repeats them for members.
"""

from __future__ import annotations

from typing import Literal

import msgspec

__all__ = [
    "MarkingConfig",
    "SpoofingConfig",
    "StuffingConfig",
    "SurveillanceConfig",
    "WashConfig",
]


class WashConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Wash trades: a trade whose two sides have the same beneficial owner (the same account,
    two accounts of one firm, or two firms named together in `affiliated_firms`).

    An alert opens at the first such trade of an (owner, instrument) once `min_trades` of them
    fall within `window_seconds`; later ones within `window_seconds` of the last join it."""

    enabled: bool = True
    window_seconds: int = 60
    min_trades: int = 1


class SpoofingConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Spoofing and layering: an owner cancels (or mass-cancels) a *large* order resting *near
    the touch* within `max_lifetime_ms` of placing (or last replacing) it, after the same owner
    traded on the other side of that instrument while the order rested.

    Large: its open quantity is at least `size_multiple` times the usual size, the larger of the
    median quantity of the instrument's last `usual_orders` accepted orders and of the owner's
    last `usual_orders` there (no verdict before the instrument has `min_history` orders; the
    owner's own median counts once it has `min_history` orders there).
    Near the touch: its price is within `near_touch_ticks` of the best price on its side at the
    cancel. Several such cancels (layering: one owner, several levels) within `window_seconds`
    of each other join one alert."""

    enabled: bool = True
    size_multiple: int = 4
    usual_orders: int = 200
    min_history: int = 20
    max_lifetime_ms: int = 2_000
    near_touch_ticks: int = 5
    window_seconds: int = 30


class StuffingConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Quote stuffing, per (owner, instrument): more than `max_messages` order messages (new,
    cancel, replace, mass cancel) within `window_ms`; or, over `otr_window_seconds`, at least
    `otr_min_messages` order messages and more than `max_order_to_trade` of them per trade
    (trades counted as the owner's fills, at least one)."""

    enabled: bool = True
    window_ms: int = 1_000
    max_messages: int = 2_000
    otr_window_seconds: int = 60
    otr_min_messages: int = 5_000
    max_order_to_trade: int = 500


class MarkingConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Marking the close: within `window_seconds` before a funding time of a perpetual (its
    `ApplyFunding`) or the expiry of a dated future (its `ExpireInstrument`), the last price
    moved by at least `min_move_bps` basis points (from the last price before the window to the
    last trade), and one owner's aggressive trades, at least `min_side_share_pct` % of their
    quantity on the side of that move, moved it by at least `min_move_bps` themselves (the sum
    of each of their trades' price change from the trade before it), in at least `min_trades`
    trades. (A market maker's two-sided taking bounces between bid and ask: not one-sided.)"""

    enabled: bool = True
    window_seconds: int = 300
    min_move_bps: int = 50
    min_trades: int = 1
    min_side_share_pct: int = 80


class SurveillanceConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`enabled`: the venue runs the engine over what it commits: `run = "process"` (default)
    in a process of its own at idle priority that follows the journal file
    (`venue.surveillance.follow`), `"task"` as a sequencer subscriber and a task in the venue's
    own loop (`venue.surveillance.live`: simpler, but its CPU comes off the order path's).
    Alerts and cases are kept in their own SQLite file, `alerts_path` (default:
    `surveillance.db` in the journal's directory), apart from the journal.
    `affiliated_firms`: groups of firms with one beneficial owner (each firm in at most one
    group)."""

    enabled: bool = True
    run: Literal["process", "task"] = "process"
    idle_priority: bool = True  # the process runs at SCHED_IDLE (else at normal priority)
    alerts_path: str = ""  # "": surveillance.db beside the journal
    affiliated_firms: list[list[str]] = []
    max_evidence: int = 1_000  # journal seqs kept per alert (the first ones)
    wash: WashConfig = WashConfig()
    spoofing: SpoofingConfig = SpoofingConfig()
    stuffing: StuffingConfig = StuffingConfig()
    marking: MarkingConfig = MarkingConfig()

    def validate(self) -> str | None:
        """None when usable, else `key: reason` for the first bad setting."""
        positive = (
            ("max_evidence", self.max_evidence),
            ("wash.window_seconds", self.wash.window_seconds),
            ("wash.min_trades", self.wash.min_trades),
            ("spoofing.size_multiple", self.spoofing.size_multiple),
            ("spoofing.usual_orders", self.spoofing.usual_orders),
            ("spoofing.min_history", self.spoofing.min_history),
            ("spoofing.max_lifetime_ms", self.spoofing.max_lifetime_ms),
            ("spoofing.window_seconds", self.spoofing.window_seconds),
            ("stuffing.window_ms", self.stuffing.window_ms),
            ("stuffing.max_messages", self.stuffing.max_messages),
            ("stuffing.otr_window_seconds", self.stuffing.otr_window_seconds),
            ("stuffing.otr_min_messages", self.stuffing.otr_min_messages),
            ("stuffing.max_order_to_trade", self.stuffing.max_order_to_trade),
            ("marking.window_seconds", self.marking.window_seconds),
            ("marking.min_move_bps", self.marking.min_move_bps),
            ("marking.min_trades", self.marking.min_trades),
        )
        for key, value in positive:
            if value <= 0:
                return f"{key}: must be positive"
        if not 0 <= self.marking.min_side_share_pct <= 100:
            return "marking.min_side_share_pct: must be between 0 and 100"
        if self.spoofing.near_touch_ticks < 0:
            return "spoofing.near_touch_ticks: must not be negative"
        seen: set[str] = set()
        for idx, group in enumerate(self.affiliated_firms):
            if len(group) < 2:
                return f"affiliated_firms[{idx}]: a group names at least two firms"
            for firm in group:
                if firm in seen:
                    return f"affiliated_firms[{idx}]: firm {firm!r} is in two groups"
                seen.add(firm)
        return None
