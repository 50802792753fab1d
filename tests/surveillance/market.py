"""A real core `Engine` driven command by command with explicit times, recording every row as
the sequencer would journal it (seq, ts, command, events), for surveillance and report tests.

Instruments: tick 1, lot 1, multiplier 1 (one tick on one lot = 1 USD), reference 1000 ticks
unless told; accounts get 10 million USD each (or `balances`), leverage 100 (or `leverage`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from venue.core import (
    AddAccount,
    AddInstrument,
    CancelOrder,
    Command,
    Deposit,
    Engine,
    Event,
    Instrument,
    InstrumentKind,
    MassCancel,
    NewOrder,
    OrderAccepted,
    OrdType,
    ReplaceOrder,
    Side,
    TimeInForce,
)
from venue.journal import Batch, Journal

USD = 1_000_000
MS = 1_000_000
S = 1_000_000_000
T0 = 1_780_000_000 * S  # 2026-05-28T20:26:40Z


def instrument(symbol: str, ref: int = 1000, **kw: Any) -> Instrument:
    fields: dict[str, Any] = {
        "symbol": symbol,
        "kind": InstrumentKind.PERPETUAL,
        "tick_size": "1",
        "lot_size": "1",
        "multiplier": "1",
        "ref_price": ref,
        "band_ppb": 500_000_000,
        "max_order_qty": 100_000,
        "imr_ppb": 10_000_000,
    }
    fields.update(kw)
    return Instrument(**fields)


class Market:
    """See the module docstring. `now` is the next command's ts (ns); `at(ms)` moves it."""

    def __init__(
        self,
        firms: dict[str, list[str]],
        instruments: list[Instrument] | None = None,
        *,
        start: int = T0,
        balances: dict[str, int] | None = None,
        tiers: dict[str, str] | None = None,
        leverage: int = 100,
    ) -> None:
        self.engine = Engine()
        self.rows: list[tuple[int, int, Command, list[Event]]] = []
        self.now = start
        self.start = start
        self.firm_of: dict[str, str] = {}
        self._cl = 0
        for inst in instruments or [instrument("X-PERP")]:
            self.do(AddInstrument(instrument=inst))
        for firm, accounts in firms.items():
            for acct in accounts:
                self.firm_of[acct] = firm
                tier = (tiers or {}).get(acct, "")
                self.do(AddAccount(firm=firm, account=acct, max_leverage=leverage, fee_tier=tier))
                usd = (balances or {}).get(acct, 10_000_000)
                if usd:
                    self.do(Deposit(account=acct, amount=usd * USD))

    @property
    def seq(self) -> int:
        return len(self.rows)

    def at_ms(self, ms: int) -> None:
        """Move the clock to `start + ms` milliseconds (never backwards)."""
        self.now = max(self.now, self.start + ms * MS)

    def advance_ms(self, ms: float) -> None:
        self.now += int(ms * MS)

    def do(self, cmd: Any) -> list[Event]:
        stamped = msgspec.structs.replace(cmd, ts=self.now)
        events = self.engine.apply(stamped)
        self.rows.append((len(self.rows) + 1, self.now, stamped, events))
        self.now += 1000  # 1 us between commands unless told otherwise
        return events

    def order(
        self,
        account: str,
        side: Side,
        price: int,
        qty: int,
        *,
        symbol: str = "X-PERP",
        tif: TimeInForce = TimeInForce.GTC,
        stp_id: int = 0,
    ) -> int:
        """Enter a limit order; its order id (0 when rejected)."""
        self._cl += 1
        events = self.do(
            NewOrder(
                session=f"S-{account}",
                firm=self.firm_of[account],
                account=account,
                cl_ord_id=f"c{self._cl}",
                symbol=symbol,
                side=side,
                ord_type=OrdType.LIMIT,
                price=price,
                qty=qty,
                tif=tif,
                stp_id=stp_id,
            )
        )
        for ev in events:
            if isinstance(ev, OrderAccepted):
                return ev.order_id
        return 0

    def do_order(  # noqa: PLR0917 -- the flow's positional helper
        self,
        account: str,
        side: Side,
        price: int,
        qty: int,
        symbol: str,
        tif: TimeInForce,
        stp_id: int = 1,
    ) -> list[Event]:
        """Enter a limit order (self-trade prevention id 1 unless told); its events."""
        self._cl += 1
        return self.do(
            NewOrder(
                session=f"S-{account}",
                firm=self.firm_of[account],
                account=account,
                cl_ord_id=f"c{self._cl}",
                symbol=symbol,
                side=side,
                price=price,
                qty=qty,
                tif=tif,
                stp_id=stp_id,
            )
        )

    def cancel(self, account: str, order_id: int) -> list[Event]:
        self._cl += 1
        return self.do(
            CancelOrder(
                session=f"S-{account}",
                firm=self.firm_of[account],
                cl_ord_id=f"c{self._cl}",
                order_id=order_id,
            )
        )

    def replace(self, account: str, order_id: int, price: int, qty: int) -> list[Event]:
        self._cl += 1
        return self.do(
            ReplaceOrder(
                session=f"S-{account}",
                firm=self.firm_of[account],
                cl_ord_id=f"c{self._cl}",
                order_id=order_id,
                price=price,
                qty=qty,
            )
        )

    def mass_cancel(self, account: str, symbol: str = "") -> list[Event]:
        self._cl += 1
        return self.do(
            MassCancel(
                session=f"S-{account}",
                firm=self.firm_of[account],
                cl_ord_id=f"c{self._cl}",
                account=account,
                symbol=symbol,
            )
        )

    async def write_journal(self, path: Path) -> None:
        """The rows as a real journal file (what the sequencer would have committed)."""
        journal = await Journal.open(path, synchronous="NORMAL")
        enc = msgspec.msgpack.Encoder().encode
        try:
            for start in range(0, len(self.rows), 4096):
                batch = Batch()
                batch.rows = [
                    (seq, ts, enc(cmd), enc(events))
                    for seq, ts, cmd, events in self.rows[start : start + 4096]
                ]
                await journal.commit(batch)
        finally:
            await journal.close()
