"""Inbound FIX requests other than orders: OrderMassCancelRequest (q), OrderStatusRequest (H),
OrderMassStatusRequest (AF) and SecurityListRequest (x). Part of `venue.fix.mapping`.

Invariants:
- Pure and total: each function returns a command, a query or a `Refusal`, and never raises.
- A mass cancel from a session cancels only orders that session entered (`session_only`);
  firm-wide cancels are the kill switch's (admin), never a client's.
- Account (1) filters must name an account the session is entitled to.
"""

from __future__ import annotations

from venue.core.commands import MassCancel
from venue.core.types import Side
from venue.fix.codec import FixMessage
from venue.fix.mapping_types import (
    MAX_ID_LEN,
    SIDES,
    MassStatusQuery,
    Refusal,
    SecurityListQuery,
    SessionContext,
    StatusQuery,
    business_refusal,
    first_missing,
    session_reject,
    text_of,
)

__all__ = [
    "decode_mass_cancel",
    "decode_mass_status",
    "decode_security_list_request",
    "decode_status",
]


def _mass_cancel_refusal(msg: FixMessage, code: str, reject_reason: bytes, text: str) -> Refusal:
    get = msg.get
    fields: list[tuple[int, bytes]] = [
        (11, get(11) or b""),
        (37, b"NONE"),
        (530, get(530) or b"7"),
        (531, b"0"),
        (532, reject_reason),
    ]
    if get(55):
        fields.append((55, get(55) or b""))
    fields.append((58, text.encode("latin-1", "replace")))
    return Refusal(msg_type=b"r", reason=code, fields=tuple(fields))


def _side_filter(value: bytes | None) -> Side | Refusal | None:
    if value is None:
        return None
    side = SIDES.get(value)
    if side is None:
        return Refusal(msg_type=b"", reason="unsupported_side", fields=())
    return side


def decode_mass_cancel(msg: FixMessage, ctx: SessionContext) -> MassCancel | Refusal:
    """Cancels the live orders this session entered (session_only) that match the filters."""
    get = msg.get
    cl_ord_id = get(11)
    req_type = get(530)
    if not cl_ord_id or not req_type:
        return session_reject(msg, first_missing(msg, (11, 530)), "required tag missing")
    if len(cl_ord_id) > MAX_ID_LEN:
        return _mass_cancel_refusal(msg, "id_too_long", b"99", "ClOrdID longer than 64")
    symbol = get(55) or b""
    if req_type == b"1":
        if not symbol:
            return business_refusal(
                msg, 5, "Symbol (55) is required for 530=1", "symbol_missing", cl_ord_id
            )
    elif req_type != b"7":
        return _mass_cancel_refusal(
            msg, "unsupported_mass_cancel_type", b"0", "MassCancelRequestType must be 1 or 7"
        )
    else:
        symbol = b""
    account = get(1) or b""
    if account and text_of(account) not in ctx.accounts:
        return _mass_cancel_refusal(msg, "unknown_account", b"99", "account not entitled")
    side = _side_filter(get(54))
    if isinstance(side, Refusal):
        return _mass_cancel_refusal(msg, "unsupported_side", b"99", "Side (54) must be 1 or 2")
    return MassCancel(
        session=ctx.session,
        firm=ctx.firm,
        cl_ord_id=text_of(cl_ord_id),
        symbol=text_of(symbol),
        account=text_of(account),
        side=side,
        session_only=True,
    )


def decode_status(msg: FixMessage, ctx: SessionContext) -> StatusQuery | Refusal:
    get = msg.get
    cl_ord_id = get(11)
    if not cl_ord_id:
        return session_reject(msg, 11, "required tag missing")
    order_id = 0
    order_id_b = get(37)
    if order_id_b is not None:
        # an OrderID that cannot be ours is answered as unknown, like any other unknown order
        order_id = int(order_id_b) if order_id_b.isdigit() and len(order_id_b) <= 18 else -1
    return StatusQuery(
        session=ctx.session,
        firm=ctx.firm,
        cl_ord_id=text_of(cl_ord_id),
        order_id=order_id,
        symbol=text_of(get(55) or b""),
        side=get(54) or b"1",
        ord_status_req_id=get(790) or b"",
    )


def decode_mass_status(msg: FixMessage, ctx: SessionContext) -> MassStatusQuery | Refusal:
    get = msg.get
    req_id = get(584)
    req_type = get(585)
    if not req_id or not req_type:
        return session_reject(msg, first_missing(msg, (584, 585)), "required tag missing")
    symbol = get(55) or b""
    if req_type == b"1":
        if not symbol:
            return business_refusal(
                msg, 5, "Symbol (55) is required for 585=1", "symbol_missing", req_id
            )
    elif req_type == b"7":
        symbol = b""
    else:
        return business_refusal(
            msg, 0, "MassStatusReqType (585) must be 1 or 7", "unsupported_mass_status_type", req_id
        )
    account = get(1) or b""
    if account and text_of(account) not in ctx.accounts:
        return business_refusal(msg, 6, "account not entitled", "unknown_account", req_id)
    side = _side_filter(get(54))
    if isinstance(side, Refusal):
        return business_refusal(msg, 0, "Side (54) must be 1 or 2", "unsupported_side", req_id)
    return MassStatusQuery(
        session=ctx.session,
        firm=ctx.firm,
        mass_status_req_id=req_id,
        symbol=text_of(symbol),
        account=text_of(account),
        side=side,
    )


def decode_security_list_request(msg: FixMessage) -> SecurityListQuery | Refusal:
    get = msg.get
    req_id = get(320)
    req_type = get(559)
    if not req_id or not req_type:
        return session_reject(msg, first_missing(msg, (320, 559)), "required tag missing")
    if req_type == b"4":
        return SecurityListQuery(security_req_id=req_id, symbol="")
    symbol = get(55)
    if req_type == b"0" and symbol:
        return SecurityListQuery(security_req_id=req_id, symbol=text_of(symbol))
    if req_type == b"0":
        return business_refusal(
            msg, 5, "Symbol (55) is required for 559=0", "symbol_missing", req_id
        )
    fields = ((320, req_id), (322, req_id), (560, b"1"))
    return Refusal(msg_type=b"y", reason="unsupported_security_list_type", fields=fields)
