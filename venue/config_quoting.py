"""Session files' `[[quoting.mmp]]` entries → the `SetMmp` commands the venue submits at
start-up (as `venue.config.account_commands` does for accounts).

Invariants:
- A setting already in force in the engine (after recovery) is not submitted again, so a
  restart journals nothing when the files did not change.
- `max_qty` is a decimal in the size units of the underlying's instruments; it must be a
  whole number of their lot, and the underlying's instruments must share one lot size (the
  core counts lots across them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation

from venue.config import ConfigError, SessionConfig
from venue.core.mmp_state import MmpState
from venue.core.quote_types import SetMmp, underlying
from venue.core.types import Instrument, InstrumentKind

__all__ = ["mmp_commands"]


def mmp_commands(
    sessions: Iterable[SessionConfig],
    instruments: Iterable[Instrument],
    existing: Mapping[str, Mapping[str, MmpState]],
) -> list[SetMmp]:
    lots: dict[str, set[str]] = {}
    for inst in instruments:
        if inst.kind is not InstrumentKind.OPTION:  # options are outside MMP for now (RoE 19)
            lots.setdefault(underlying(inst.symbol), set()).add(inst.lot_size)
    out: list[SetMmp] = []
    for s in sessions:
        for i, m in enumerate(s.quoting.mmp):
            where = f"quoting.mmp[{i}]"
            sizes = lots.get(m.underlying)
            if not sizes or len(sizes) != 1:
                raise ConfigError(
                    s.source or s.name,
                    f"{where}.underlying",
                    f"{m.underlying!r}: no instruments, or instruments with different lot sizes",
                )
            if m.account not in s.accounts:
                raise ConfigError(s.source or s.name, f"{where}.account", "not a session account")
            (lot,) = sizes
            try:
                units = Decimal(m.max_qty) / Decimal(lot)
            except InvalidOperation:
                raise ConfigError(s.source or s.name, f"{where}.max_qty", "not a decimal") from None
            if units != units.to_integral_value() or units < 0:
                raise ConfigError(
                    s.source or s.name, f"{where}.max_qty", f"not a multiple of {lot}"
                )
            cmd = SetMmp(
                account=m.account,
                underlying=m.underlying,
                window_ms=m.window_ms,
                max_qty=int(units),
                max_fills=m.max_fills,
                freeze_ms=m.freeze_ms,
                operator=f"config:{s.name}",
            )
            now = existing.get(m.account, {}).get(m.underlying)
            if now is not None and (now.window_ms, now.max_qty, now.max_fills, now.freeze_ms) == (
                cmd.window_ms,
                cmd.max_qty,
                cmd.max_fills,
                cmd.freeze_ms,
            ):
                continue
            out.append(cmd)
    return out
