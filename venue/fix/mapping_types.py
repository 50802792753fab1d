"""Types shared by the inbound half of the FIX order-entry mapping (`venue.fix.mapping`).

Invariants:
- Everything here is immutable and pure; the helpers build answers, they never raise.
- `Refusal.fields` never holds ExecID (17) or TransactTime (60): `Refusal.body` adds them, from
  the caller, who alone knows a stable identifier and the time.
"""

from __future__ import annotations

import msgspec

from venue.core.types import OrdType, Side, StpMode, TimeInForce
from venue.fix.codec import FixMessage, format_utc_timestamp
from venue.fix.mapping_out import Body, business_reject

__all__ = [
    "MAX_ID_LEN",
    "MassStatusQuery",
    "Refusal",
    "SecurityListQuery",
    "SessionContext",
    "StatusQuery",
]

MAX_ID_LEN = 64
"""Longest ClOrdID / OrigClOrdID / request id accepted (bytes)."""


class SessionContext(msgspec.Struct, frozen=True, kw_only=True):
    """Who is speaking: the session's name, its firm and the accounts it may use (in order)."""

    session: str
    firm: str
    accounts: tuple[str, ...]


class StatusQuery(msgspec.Struct, frozen=True, kw_only=True):
    """OrderStatusRequest (H): the order by `order_id` if nonzero, else by (session, cl_ord_id)."""

    session: str
    firm: str
    cl_ord_id: str
    order_id: int
    symbol: str
    side: bytes
    ord_status_req_id: bytes


class MassStatusQuery(msgspec.Struct, frozen=True, kw_only=True):
    """OrderMassStatusRequest (AF): live orders of the session, filtered (empty/None = any)."""

    session: str
    firm: str
    mass_status_req_id: bytes
    symbol: str
    account: str
    side: Side | None


class SecurityListQuery(msgspec.Struct, frozen=True, kw_only=True):
    """SecurityListRequest (x): one symbol, or all instruments when `symbol` is empty."""

    security_req_id: bytes
    symbol: str


class Refusal(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to a message the FIX edge will not pass on.

    `reason` is a short stable code for logs and tests; `fields` is the body without ExecID
    (17) and TransactTime (60), which `body()` adds for ExecutionReports (and 60 for 9 and r).
    """

    msg_type: bytes
    reason: str
    fields: tuple[tuple[int, bytes], ...]

    def body(self, exec_id: bytes, ts: int) -> Body:
        out = list(self.fields)
        if self.msg_type == b"8":
            out.insert(2, (17, exec_id))
            out.append((60, format_utc_timestamp(ts)))
        elif self.msg_type in (b"9", b"r"):
            out.append((60, format_utc_timestamp(ts)))
        return out


SIDES = {b"1": Side.BUY, b"2": Side.SELL}
ORD_TYPES = {b"1": OrdType.MARKET, b"2": OrdType.LIMIT}
TIFS = {
    b"0": TimeInForce.DAY,
    b"1": TimeInForce.GTC,
    b"3": TimeInForce.IOC,
    b"4": TimeInForce.FOK,
    b"6": TimeInForce.GTD,
}
STP_MODES = {
    b"1": StpMode.CANCEL_RESTING,
    b"2": StpMode.CANCEL_AGGRESSOR,
    b"3": StpMode.CANCEL_BOTH,
}
MAX_STP_ID = 2**63 - 1

UNSUPPORTED = 11  # OrdRejReason: unsupported order characteristic
UNKNOWN_SYMBOL = 1
INCORRECT_QTY = 13
UNKNOWN_ACCOUNT = 15
OTHER = 99


def text_of(value: bytes) -> str:
    return value.decode("latin-1")


def session_reject(msg: FixMessage, tag: int, text: str) -> Refusal:
    fields: list[tuple[int, bytes]] = []
    ref_seq = msg.get(34)
    if ref_seq:
        fields.append((45, ref_seq))
    fields += [(371, b"%d" % tag), (372, msg.msg_type), (373, b"1"), (58, text.encode())]
    return Refusal(msg_type=b"3", reason="required_field_missing", fields=tuple(fields))


def business_refusal(msg: FixMessage, reason: int, text: str, code: str, ref_id: bytes) -> Refusal:
    body = business_reject(
        ref_seq_num=msg.get(34), ref_msg_type=msg.msg_type, reason=reason, text=text, ref_id=ref_id
    )
    return Refusal(msg_type=b"j", reason=code, fields=tuple(body))


def first_missing(msg: FixMessage, tags: tuple[int, ...]) -> int:
    """First tag of `tags` absent or empty in `msg`, else 0."""
    for tag in tags:
        if not msg.get(tag):
            return tag
    return 0
