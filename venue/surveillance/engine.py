"""The surveillance engine: committed commands and events in, alerts out.

`Surveillance.feed(seq, ts, cmd, events)` is called once per journal row, in seq order (by the
venue's sequencer subscriber, or by `venue surveil` over a journal file); `take()` returns the
alerts opened or updated since the last call.

Invariants:
- Deterministic and pure: the alerts are a function of the rows fed and the settings (no
  clock, no I/O); feeding the same journal gives the same alerts with the same ids.
- Beneficial owner: an order's firm, or the affiliated group it is in (`Owners`). A trade's two
  sides are `OrderFilled` events that follow each other, the aggressor's first (as the core
  emits them, `venue.core.events`).
- Order messages are the commands `NewOrder`, `CancelOrder`, `ReplaceOrder`, `MassCancel`
  entered by a member (not the venue's own cancels); trades are the fills of either side.
- The venue's own liquidation orders (session `LIQUIDATION`) are not judged: they are not the
  account holder's decisions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from venue.config_surveillance import SurveillanceConfig
from venue.core import (
    LIQUIDATION_SESSION,
    ApplyFunding,
    CancelOrder,
    Command,
    Event,
    ExpireInstrument,
    MassCancel,
    NewOrder,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderReplaced,
    ReplaceOrder,
    Side,
)
from venue.surveillance.alerts import Alert, AlertBook
from venue.surveillance.patterns import Marking, Spoofing, Stuffing, Wash

__all__ = ["Owners", "Surveillance"]

_HORIZON_NS = 3_600 * 1_000_000_000  # open alerts older than this can no longer be joined


class Owners:
    """Beneficial owners: a firm, or the group of affiliated firms it belongs to ("A+B")."""

    def __init__(self, affiliated: Sequence[Sequence[str]] = ()) -> None:
        self._group: dict[str, str] = {}
        for group in affiliated:
            name = "+".join(sorted(group))
            for firm in group:
                self._group[firm] = name

    def of(self, firm: str) -> str:
        return self._group.get(firm, firm)

    def relation(self, a: OrderFilled, b: OrderFilled) -> str | None:
        """How the two sides of a trade share an owner, or None when they do not."""
        if a.account == b.account:
            return "same account"
        if a.firm == b.firm:
            return "same firm"
        if self.of(a.firm) == self.of(b.firm):
            return "affiliated firms"
        return None


class Surveillance:
    """Feeds the four detectors. See the module docstring."""

    def __init__(self, cfg: SurveillanceConfig) -> None:
        self.cfg = cfg
        self.owners = Owners(cfg.affiliated_firms)
        self._alerts = AlertBook(cfg.max_evidence)
        self._wash = Wash(cfg.wash, self._alerts) if cfg.wash.enabled else None
        self._spoof = (
            Spoofing(cfg.spoofing, self._alerts, self.owners.of) if cfg.spoofing.enabled else None
        )
        self._stuff = Stuffing(cfg.stuffing, self._alerts) if cfg.stuffing.enabled else None
        self._mark = Marking(cfg.marking, self._alerts) if cfg.marking.enabled else None
        self.last_seq = 0
        self.last_ts = 0
        self._next_expire = 0
        self._aggressor: OrderFilled | None = None
        self._owner_of = self.owners.of
        # dispatch by exact type: commands and events are final msgspec structs
        self._on_cmd: dict[type, Callable[[int, int, Any, Sequence[Event]], None]] = {}
        if self._stuff is not None:
            for t in (NewOrder, CancelOrder, ReplaceOrder, MassCancel):
                self._on_cmd[t] = self._order_message
        if self._mark is not None:
            self._on_cmd[ApplyFunding] = self._deadline
            self._on_cmd[ExpireInstrument] = self._deadline
        self._on_event: dict[type, Callable[[int, Any], None]] = {OrderFilled: self._fill}
        if self._spoof is not None:
            self._on_event[OrderAccepted] = self._spoof.on_accepted
            self._on_event[OrderReplaced] = self._spoof.on_replaced
            self._on_event[OrderCanceled] = self._spoof.on_canceled

    def feed(self, seq: int, ts: int, cmd: Command, events: Sequence[Event]) -> None:
        self.last_seq = seq
        self.last_ts = ts
        handler = self._on_cmd.get(type(cmd))
        if handler is not None:
            handler(seq, ts, cmd, events)
        on_event = self._on_event
        for ev in events:
            on = on_event.get(type(ev))
            if on is not None:
                on(seq, ev)
        if ts >= self._next_expire:
            self._alerts.expire(ts, _HORIZON_NS)
            self._next_expire = ts + _HORIZON_NS

    def take(self) -> list[Alert]:
        """Alerts opened or updated since the last call."""
        return self._alerts.take()

    # -- commands and events ---------------------------------------------------------------

    def _order_message(
        self,
        seq: int,
        ts: int,
        cmd: NewOrder | CancelOrder | ReplaceOrder | MassCancel,
        events: Sequence[Event],
    ) -> None:
        assert self._stuff is not None
        if cmd.session != LIQUIDATION_SESSION:
            symbol = cmd.symbol or (getattr(events[0], "symbol", "") if events else "")
            self._stuff.on_message(seq, ts, self._owner_of(cmd.firm), symbol)

    def _deadline(
        self, seq: int, ts: int, cmd: ApplyFunding | ExpireInstrument, _events: Sequence[Event]
    ) -> None:
        assert self._mark is not None
        what = "a funding time" if type(cmd) is ApplyFunding else "expiry"
        self._mark.on_deadline(seq, ts, cmd.symbol, what)

    def _fill(self, seq: int, ev: OrderFilled) -> None:
        owner = self._owner_of(ev.firm)
        if self._spoof is not None:
            self._spoof.on_fill(seq, ev, owner)
        if self._stuff is not None:
            self._stuff.on_trade(seq, ev.ts, owner, ev.symbol)
        if ev.aggressor:
            self._aggressor = ev
            if self._mark is not None:
                self._mark.on_trade(
                    seq, ev.ts, ev.symbol, ev.last_px, owner,
                    ev.last_qty if ev.side == Side.BUY else -ev.last_qty,
                )  # fmt: skip
            return
        aggressor, self._aggressor = self._aggressor, None
        if aggressor is None or aggressor.trade_id != ev.trade_id or self._wash is None:
            return
        relation = self.owners.relation(aggressor, ev)
        if relation is not None:
            self._wash.on_trade(seq, ev.ts, ev.symbol, owner, relation)
