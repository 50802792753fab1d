"""Instrument commands: `AddInstrument`, `Halt`, `Resume`, `ExpireInstrument`,
`SetReferencePrice`; plain functions of the engine state and the command.

Invariants kept here:
- A refused command changes nothing and consumes no counters (`CommandRejected`).
- An expired instrument stays expired: no state change leaves EXPIRED.
- `ExpireInstrument` cancels the instrument's resting orders in ascending order_id (the order
  index's order), so its events are deterministic.
"""

from __future__ import annotations

import sys

import msgspec

from venue.core.book import Market
from venue.core.commands import AddInstrument, ExpireInstrument, Halt, Resume, SetReferencePrice
from venue.core.events import (
    Event,
    InstrumentAdded,
    InstrumentStateChanged,
    ReferencePriceChanged,
)
from venue.core.rejects import command_rejected
from venue.core.state import EngineState
from venue.core.types import (
    MAX_PRICE,
    MAX_QTY,
    CancelReason,
    Instrument,
    InstrumentKind,
    InstrumentState,
    RejectReason,
)

__all__ = ["add_instrument", "expire_instrument", "halt", "resume", "set_reference_price"]

_OPTION = InstrumentKind.OPTION
_OPEN = InstrumentState.OPEN
_HALTED = InstrumentState.HALTED
_EXPIRED = InstrumentState.EXPIRED


def add_instrument(state: EngineState, cmd: AddInstrument) -> list[Event]:
    inst = cmd.instrument
    reason: RejectReason | None = None
    if inst.symbol in state.markets:
        reason = RejectReason.DUPLICATE_INSTRUMENT
    elif (
        not inst.symbol
        or inst.ref_price <= 0
        or inst.ref_price > MAX_PRICE
        or inst.max_order_qty > MAX_QTY
        or inst.band_ppb < 0
        or inst.max_order_qty <= 0
        or inst.expiry_ts < 0
        or (inst.kind == InstrumentKind.PERPETUAL and inst.expiry_ts != 0)
        or inst.kind not in (InstrumentKind.PERPETUAL, InstrumentKind.FUTURE, _OPTION)
        or not _option_fields_valid(inst)
        or inst.state not in (_OPEN, _HALTED, _EXPIRED)
    ):
        reason = RejectReason.INVALID_INSTRUMENT
    if reason is not None:
        return [command_rejected(cmd, inst.symbol, reason)]
    inst = msgspec.structs.replace(inst, symbol=sys.intern(inst.symbol))
    state.markets[inst.symbol] = Market(inst)
    return [InstrumentAdded(ts=cmd.ts, instrument=inst)]


def _option_fields_valid(inst: Instrument) -> bool:
    """An option has an underlying, a positive strike within MAX_PRICE, a right and an
    expiry; any other kind has none of the option fields."""
    if inst.kind != _OPTION:
        return not inst.underlying and inst.strike == 0 and inst.put_call is None
    return (
        bool(inst.underlying)
        and 0 < inst.strike <= MAX_PRICE
        and inst.put_call is not None
        and inst.expiry_ts > 0
    )


def _set_state(
    state: EngineState,
    cmd: Halt | Resume | ExpireInstrument,
    frm: tuple[InstrumentState, ...],
    to: InstrumentState,
) -> tuple[Market | None, list[Event]]:
    mkt = state.markets.get(cmd.symbol)
    if mkt is None:
        return None, [command_rejected(cmd, cmd.symbol, RejectReason.UNKNOWN_INSTRUMENT)]
    if mkt.state == _EXPIRED:
        return None, [command_rejected(cmd, cmd.symbol, RejectReason.INSTRUMENT_EXPIRED)]
    if mkt.state not in frm:
        return None, [command_rejected(cmd, cmd.symbol, RejectReason.INVALID_STATE_CHANGE)]
    mkt.state = to
    return mkt, [InstrumentStateChanged(ts=cmd.ts, symbol=mkt.instrument.symbol, state=mkt.state)]


def halt(state: EngineState, cmd: Halt) -> list[Event]:
    return _set_state(state, cmd, (_OPEN,), _HALTED)[1]


def resume(state: EngineState, cmd: Resume) -> list[Event]:
    return _set_state(state, cmd, (_HALTED,), _OPEN)[1]


def expire_instrument(state: EngineState, cmd: ExpireInstrument) -> list[Event]:
    mkt, events = _set_state(state, cmd, (_OPEN, _HALTED), _EXPIRED)
    if mkt is not None:
        symbol = mkt.instrument.symbol
        victims = [o for o in state.orders.values() if o.symbol == symbol]
        for o in victims:
            state.cancel_resting(o, cmd.ts, CancelReason.EXPIRED, "", events)
    return events


def set_reference_price(state: EngineState, cmd: SetReferencePrice) -> list[Event]:
    mkt = state.markets.get(cmd.symbol)
    if mkt is None:
        return [command_rejected(cmd, cmd.symbol, RejectReason.UNKNOWN_INSTRUMENT)]
    if cmd.ref_price <= 0 or cmd.ref_price > MAX_PRICE:
        return [command_rejected(cmd, cmd.symbol, RejectReason.INVALID_PRICE)]
    mkt.set_ref_price(cmd.ref_price)
    return [ReferencePriceChanged(ts=cmd.ts, symbol=mkt.instrument.symbol, ref_price=cmd.ref_price)]
