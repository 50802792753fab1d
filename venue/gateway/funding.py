"""Funding reports for trading sessions: each funding payment of a position becomes an
unsolicited CollateralReport (35=BA, `venue.fix.mapping_positions.funding_report`) to every
trading session that may use the account (its configured `accounts`). Drop-copy sessions get
the same report through `venue.gateway.dropcopy` (a `COPIERS` entry).

Invariants:
- Reports are made at submit time (`Sequencer.subscribe_applied`), right after the engine
  applied the `ApplyFunding`, and handed to the gateway's `send`, which numbers them and
  records them in the open batch: they commit in the same transaction as the funding, leave
  only after that commit (DESIGN rule 3), and a session that is not logged on gets them by
  ordinary ResendRequest after its Logon. Replay does not call the hook: a restart re-sends
  nothing and misses nothing.
- A report is built from the journaled event alone, so its content never depends on when or
  to whom it is sent; a flat position (size 0) paid nothing and gets no report.
- Wiring: construct before the first `ApplyFunding` and `attach` before it too; reports made
  before `attach` are kept and sent by it (in a later batch: logged).
- Never raises into the sequencer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from venue.config import SessionConfig
from venue.core.events import FundingApplied
from venue.fix.mapping_num import InstrumentSpec
from venue.fix.mapping_positions import funding_report
from venue.gateway.application import Outbound
from venue.log import get_logger

if TYPE_CHECKING:
    from venue.core.commands import Command
    from venue.core.events import Event
    from venue.sequencer import Sequencer

__all__ = ["FundingReports"]

_log = get_logger("venue.funding_reports")

Send = Callable[[list[Outbound]], None]


class FundingReports:
    """Sends each funding payment to the trading sessions of its account (module docstring)."""

    def __init__(
        self, *, sequencer: Sequencer, sessions: Iterable[SessionConfig], send: Send | None = None
    ) -> None:
        self._engine = sequencer.engine
        self._sessions: dict[str, list[str]] = {}  # account -> trading sessions, config order
        for s in sessions:
            if s.role == "trading" and s.enabled:
                for account in s.accounts:
                    self._sessions.setdefault(account, []).append(s.name)
        self._send = send
        self._early: list[Outbound] = []
        self._specs: dict[str, InstrumentSpec] = {}
        self.reports_sent = 0
        sequencer.subscribe_applied(self._on_applied)

    def attach(self, send: Send) -> None:
        """Where reports go: the gateway's `send`."""
        self._send = send
        if self._early:
            early, self._early = self._early, []
            _log.warning("funding_reports_before_attach", count=len(early))
            send(early)

    def _on_applied(self, seq: int, ts: int, cmd: Command, events: list[Event]) -> None:
        out: list[Outbound] = []
        for ev in events:
            if type(ev) is FundingApplied:
                try:
                    out += self._reports(seq, ev)
                except Exception:  # a bug here must not stop the sequencer
                    _log.exception("funding_report_failed", seq=seq, symbol=ev.symbol)
        if not out:
            return
        if self._send is None:
            self._early += out
            return
        self._send(out)
        self.reports_sent += len(out)

    def _reports(self, seq: int, ev: FundingApplied) -> list[Outbound]:
        spec = self._spec(ev.symbol)
        out: list[Outbound] = []
        for p in ev.payments:
            names = self._sessions.get(p.account)
            if not names or not p.size:
                continue
            body = funding_report(seq, ev, p, spec)
            out += [Outbound(session=name, msg_type=b"BA", body=body) for name in names]
        return out

    def _spec(self, symbol: str) -> InstrumentSpec | None:
        spec = self._specs.get(symbol)
        if spec is None:
            mkt = self._engine.markets.get(symbol)
            if mkt is None:
                return None
            spec = self._specs[symbol] = InstrumentSpec(mkt.instrument)
        return spec
