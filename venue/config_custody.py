"""Custody settings: the `[custody]` table of `venue.toml` (four eyes on money).

    [custody]
    approvals_required = 2                 # M: distinct operators who must approve
    daily_limit = "250000"                 # USD per account per UTC day ("0": no limit)
    account_daily_limits = { "ALPHA-1" = "1000000" }
    [[custody.operators]]                  # N: who may approve, with their Ed25519 keys
    name = "alice"
    public_key = "base64 of the raw 32-byte key"

Invariants:
- Custody is on when at least one operator is configured; then withdrawals only happen as
  approved requests (`venue.admin.custody`). Off, `account withdraw` acts at once, as before.
- `validate()` names the first bad key: operator names unique, keys 32 raw bytes in base64,
  1 <= approvals_required <= number of operators - 1 (a requester never approves their own
  request, so M others must exist), limits exact non-negative USD amounts.
"""

from __future__ import annotations

import base64
import binascii
from decimal import Decimal, InvalidOperation

import msgspec

from venue.core.types import MONEY_SCALE

__all__ = ["CustodyConfig", "CustodyOperator", "usd_units"]


class CustodyOperator(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    public_key: str  # Ed25519 raw public key, base64 (32 bytes)

    def key_bytes(self) -> bytes:
        return base64.b64decode(self.public_key, validate=True)


class CustodyConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    approvals_required: int = 2
    operators: list[CustodyOperator] = []
    daily_limit: str = "0"
    account_daily_limits: dict[str, str] = {}

    @property
    def enabled(self) -> bool:
        return bool(self.operators)

    def limit_units(self, account: str) -> int:
        """The account's daily withdrawal limit in money units (0: none)."""
        return usd_units(self.account_daily_limits.get(account, self.daily_limit))

    def validate(self) -> str | None:
        names: set[str] = set()
        for idx, op in enumerate(self.operators):
            if not op.name or op.name in names:
                return f"operators[{idx}].name: empty or duplicated"
            names.add(op.name)
            try:
                if len(op.key_bytes()) != 32:
                    return f"operators[{idx}].public_key: not 32 bytes"
            except (binascii.Error, ValueError):
                return f"operators[{idx}].public_key: not base64"
        if self.operators and not 1 <= self.approvals_required <= len(self.operators) - 1:
            return (
                "approvals_required: must be at least 1 and below the number of operators "
                "(a requester cannot approve their own request)"
            )
        for key, text in [("daily_limit", self.daily_limit), *(
            (f"account_daily_limits.{a}", t) for a, t in self.account_daily_limits.items()
        )]:  # fmt: skip
            try:
                usd_units(text)
            except ValueError as exc:
                return f"{key}: {exc}"
        return None


def usd_units(text: str) -> int:
    """An exact non-negative USD amount in money units; raises ValueError."""
    try:
        value = Decimal(text) * MONEY_SCALE
    except InvalidOperation:
        raise ValueError(f"{text!r} is not a decimal amount") from None
    if not value.is_finite() or value < 0 or value != value.to_integral_value():
        raise ValueError(f"{text!r}: a non-negative USD amount with at most 6 decimals")
    return int(value)
