"""`venue demo`: a short, fixed order flow through the pure core, printed for people.

Invariants:
- Pure and repeatable: a fixed list of commands with fixed timestamps, no I/O but printing, so
  two runs print the same lines and the same state hash.
- Uses only the core's public surface; it is documentation that runs.
- Prints prices, quantities and money as a person reads them (`venue.display`), never the
  core's integer ticks, lots and units.
"""

from __future__ import annotations

import enum
from collections.abc import Callable

import msgspec

from venue import display
from venue.config import (
    VenueConfig,
    account_commands,
    configured_options,
    instrument_from_config,
)
from venue.core import (
    AddInstrument,
    CancelOrder,
    Command,
    Engine,
    Instrument,
    NewOrder,
    OrdType,
    ReplaceOrder,
    Side,
    TimeInForce,
)


def demo_commands(cfg: VenueConfig) -> list[Command]:
    cmds: list[Command] = [
        AddInstrument(instrument=instrument_from_config(i)) for i in cfg.instruments
    ]
    cmds += [AddInstrument(instrument=inst) for inst in configured_options(cfg)]
    cmds += account_commands(cfg)
    btc = instrument_from_config(cfg.instruments[0])
    mid = btc.ref_price
    sym = btc.symbol

    def order(
        firm: str,
        cl_ord_id: str,
        side: Side,
        *,
        qty: int,
        price: int = 0,
        ord_type: OrdType = OrdType.LIMIT,
        tif: TimeInForce = TimeInForce.GTC,
    ) -> NewOrder:
        return NewOrder(
            session=f"{firm}-MM",
            firm=firm,
            account=f"{firm}-1",
            symbol=sym,
            cl_ord_id=cl_ord_id,
            side=side,
            ord_type=ord_type,
            price=price,
            qty=qty,
            tif=tif,
        )

    cmds += [
        order("ALPHA", "A1", Side.BUY, price=mid - 2, qty=1000),
        order("ALPHA", "A2", Side.SELL, price=mid + 2, qty=1000),
        order("BRAVO", "B1", Side.BUY, price=mid + 2, qty=400, tif=TimeInForce.IOC),
        ReplaceOrder(
            session="ALPHA-MM",
            firm="ALPHA",
            cl_ord_id="A3",
            orig_cl_ord_id="A1",
            price=mid - 1,
            qty=1000,
        ),
        order("BRAVO", "B2", Side.SELL, ord_type=OrdType.MARKET, qty=1500),
        CancelOrder(session="ALPHA-MM", firm="ALPHA", cl_ord_id="A4", orig_cl_ord_id="A2"),
        order("BRAVO", "B3", Side.BUY, price=mid * 10, qty=1),
    ]
    return cmds


_PRICES = frozenset({"price", "last_px", "ref_price", "bankruptcy_price", "mark"})
_QTYS = frozenset({"qty", "last_qty", "cum_qty", "leaves_qty", "book_qty", "adl_qty", "size"})
_MONEY = frozenset(
    {"delta", "balance", "amount", "to_insurance_fund", "equity", "maintenance_margin"}
)
_INTERNAL = frozenset({"ts", "cum_notional"})  # raw tick x lot products mean nothing to a reader


def _show(field: str, value: object, inst: Instrument | None) -> str:
    """Prices at the tick, quantities at the lot, money in USD (venue.display); nested structs
    (an instrument) by their symbol; enums by their name."""
    if isinstance(value, int) and not isinstance(value, bool):
        if field in _MONEY:
            return display.money_units(value)
        if inst is not None and field in _PRICES:
            return display.price_ticks(value, inst.tick_size)
        if inst is not None and field in _QTYS:
            return display.qty_lots(value, inst.lot_size)
    if isinstance(value, msgspec.Struct):
        return str(getattr(value, "symbol", type(value).__name__))
    if isinstance(value, enum.Enum):
        return value.name
    return repr(value)


def run_demo(cfg: VenueConfig, out: Callable[[str], None] = print) -> int:
    engine = Engine()
    instruments = {i.symbol: instrument_from_config(i) for i in cfg.instruments}
    ts = 1_767_225_600_000_000_000
    for n, unstamped in enumerate(demo_commands(cfg), start=1):
        cmd = msgspec.structs.replace(unstamped, ts=ts + n)
        out(f"#{n} {type(cmd).__name__}")
        for ev in engine.apply(cmd):
            inst = instruments.get(getattr(ev, "symbol", ""))
            fields = ", ".join(
                f"{f}={_show(f, getattr(ev, f), inst)}"
                for f in ev.__struct_fields__
                if f not in _INTERNAL and getattr(ev, f) not in ("", 0, None)
            )
            out(f"    -> {type(ev).__name__}({fields})")
    out(f"state hash {engine.state_hash()}")
    return 0
