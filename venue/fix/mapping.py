"""FIX order-entry messages ⇄ core commands and events: the inbound half, and the public surface.

`decode(msg, ctx, instruments)` turns one in-sequence application message into exactly one of:
a core command (`NewOrder`, `CancelOrder`, `ReplaceOrder`, `MassCancel`) to submit, a query
(`StatusQuery`, `MassStatusQuery`, `SecurityListQuery`) to answer from state, or a `Refusal`
(the FIX answer to send instead). Outbound bodies live in `venue.fix.mapping_out`, decimal
conversion in `venue.fix.mapping_num`; both are re-exported here.

Invariants:
- Pure: no clock, no I/O, no engine state. Given the same message, session context and
  instruments, the answer is the same. Never raises on any input (DESIGN rule 6).
- A command is stamped with the session's own name and firm (`SessionContext`), never with
  values taken from the message, so one session cannot act for another or for another firm.
- Account (1) must be one the session is entitled to; absent, the session's first account.
- Prices and quantities are converted exactly (`mapping_num`): a price off the tick or a
  quantity off the lot is refused with a specific Text, never rounded (DESIGN rule 5).
- Every refusal has the answer FIX names: ExecutionReport 39=8 with OrdRejReason (103) for D,
  OrderCancelReject (9) with CxlRejReason (102) and CxlRejResponseTo (434) for F/G, an
  OrderMassCancelReport with 531=0 for q, a SecurityList with SecurityRequestResult for x,
  BusinessMessageReject (j) for a conditionally required field missing (380=5), an
  unsupported message type (380=3) or an unsupported request (380=0), and a session Reject (3,
  373=1) if a required field got past validation.
- Refusals carry no ExecID and no TransactTime: the caller supplies them (`Refusal.body`),
  because only the caller knows a stable identifier and the time (see `mapping_out`).
"""

from __future__ import annotations

from venue.core.commands import CancelOrder, MassCancel, NewOrder, ReplaceOrder
from venue.core.types import OrdType, StpMode, TimeInForce
from venue.fix.codec import FixMessage, parse_utc_timestamp
from venue.fix.mapping_num import (
    OFF_GRID,
    TOO_LARGE,
    InstrumentSpec,
    InstrumentTable,
    Scale,
    instrument_table,
)
from venue.fix.mapping_out import (
    Body,
    LiveOrder,
    Reply,
    business_reject,
    cancel_reject,
    execution_report,
    mass_cancel_report,
    order_status_report,
    replies,
    security_list,
)
from venue.fix.mapping_requests import (
    decode_mass_cancel,
    decode_mass_status,
    decode_security_list_request,
    decode_status,
)
from venue.fix.mapping_types import (
    INCORRECT_QTY,
    MAX_ID_LEN,
    MAX_STP_ID,
    ORD_TYPES,
    OTHER,
    SIDES,
    STP_MODES,
    TIFS,
    UNKNOWN_ACCOUNT,
    UNKNOWN_SYMBOL,
    UNSUPPORTED,
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
    "MAX_ID_LEN",
    "Body",
    "Decoded",
    "InstrumentSpec",
    "InstrumentTable",
    "LiveOrder",
    "MassStatusQuery",
    "Refusal",
    "Reply",
    "Scale",
    "SecurityListQuery",
    "SessionContext",
    "StatusQuery",
    "business_reject",
    "cancel_reject",
    "decode",
    "decode_cancel",
    "decode_mass_cancel",
    "decode_mass_status",
    "decode_new_order_single",
    "decode_replace",
    "decode_security_list_request",
    "decode_status",
    "execution_report",
    "instrument_table",
    "mass_cancel_report",
    "order_status_report",
    "replies",
    "security_list",
]

Decoded = (
    NewOrder
    | CancelOrder
    | ReplaceOrder
    | MassCancel
    | StatusQuery
    | MassStatusQuery
    | SecurityListQuery
    | Refusal
)

# Log codes of the refusals of a quantity or price that `Scale.to_units` did not convert.
_QTY_CODE: dict[object, str] = {
    OFF_GRID: "qty_off_lot",
    TOO_LARGE: "qty_too_large",
    None: "bad_qty",
}
_PRICE_CODE: dict[object, str] = {
    OFF_GRID: "price_off_tick",
    TOO_LARGE: "price_too_large",
    None: "bad_price",
}
_MAX_TS = 2**63 - 1  # the journal (msgpack) holds signed 64-bit nanoseconds: until 2262
# Enum members bound once: reading one off its class costs ~130 ns in Python 3.11.
_DAY = TimeInForce.DAY
_GTD = TimeInForce.GTD
_MARKET = OrdType.MARKET
_LIMIT = OrdType.LIMIT
_CANCEL_AGGRESSOR = StpMode.CANCEL_AGGRESSOR

# ---------------------------------------------------------------------------------------------
# NewOrderSingle (D): the hot path

# Every field the decoder reads, in one `FixMessage.pick`: ClOrdID, Symbol, Side, OrderQty,
# OrdType, TimeInForce, Account, Price, ExpireTime, ExecInst, SelfMatchPrevention ID and mode.
_NOS_TAGS = (11, 55, 54, 38, 40, 59, 1, 44, 126, 18, 7928, 8000)


def _order_refusal(
    msg: FixMessage, code: str, ord_rej_reason: int, text: str, account: bytes = b""
) -> Refusal:
    get = msg.get
    fields: list[tuple[int, bytes]] = [
        (37, b"NONE"),
        (11, get(11) or b""),
        (150, b"8"),
        (39, b"8"),
        (103, b"%d" % ord_rej_reason),
    ]
    acct = account or get(1)
    if acct:
        fields.append((1, acct))
    fields += [(55, get(55) or b""), (54, get(54) or b"1")]
    for tag in (38, 40, 44, 59):
        value = get(tag)
        if value:
            fields.append((tag, value))
    fields += [(151, b"0"), (14, b"0"), (6, b"0"), (58, text.encode("latin-1", "replace"))]
    return Refusal(msg_type=b"8", reason=code, fields=tuple(fields))


def decode_new_order_single(
    msg: FixMessage, ctx: SessionContext, instruments: InstrumentTable
) -> NewOrder | Refusal:
    """NewOrderSingle → `NewOrder`, or the refusal the venue answers it with."""
    (
        cl_ord_id,
        symbol_b,
        side_b,
        qty_b,
        ord_type_b,
        tif_b,
        account_b,
        price_b,
        expire_b,
        exec_inst,
        stp_b,
        mode_b,
    ) = msg.pick(_NOS_TAGS)
    if not (cl_ord_id and symbol_b and side_b and ord_type_b):
        return session_reject(msg, first_missing(msg, (11, 55, 54, 40)), "required tag missing")
    if not qty_b:  # OrderQtyData is required, the field in it only conditionally (FIX 4.4)
        return business_refusal(msg, 5, "OrderQty (38) is required", "qty_missing", cl_ord_id)
    if len(cl_ord_id) > MAX_ID_LEN:
        return _order_refusal(msg, "cl_ord_id_too_long", OTHER, "ClOrdID (11) longer than 64")
    side = SIDES.get(side_b)
    if side is None:
        return _order_refusal(msg, "unsupported_side", UNSUPPORTED, "Side (54) must be 1 or 2")
    ord_type = ORD_TYPES.get(ord_type_b)
    if ord_type is None:
        return _order_refusal(
            msg, "unsupported_ord_type", UNSUPPORTED, "OrdType (40) must be 1 or 2"
        )
    if tif_b is None:
        tif: TimeInForce = _DAY
    else:
        tif_or_none = TIFS.get(tif_b)
        if tif_or_none is None:
            return _order_refusal(
                msg, "unsupported_tif", UNSUPPORTED, "TimeInForce (59) must be 0, 1, 3, 4 or 6"
            )
        tif = tif_or_none
    spec = instruments.get(symbol_b.decode("latin-1"))
    if spec is None:
        return _order_refusal(msg, "unknown_symbol", UNKNOWN_SYMBOL, "unknown symbol")
    accounts = ctx.accounts
    if account_b:
        account = account_b.decode("latin-1")
        if account not in accounts:
            return _order_refusal(
                msg, "unknown_account", UNKNOWN_ACCOUNT, "account not entitled on this session"
            )
    elif accounts:
        account = accounts[0]
        account_b = account.encode("latin-1")
    else:
        return _order_refusal(msg, "unknown_account", UNKNOWN_ACCOUNT, "session has no account")
    qty = spec.lot.to_units(qty_b)
    if type(qty) is not int:
        text = spec.lot.refusal_text("OrderQty (38)", qty)
        return _order_refusal(msg, _QTY_CODE[qty], INCORRECT_QTY, text, account_b)
    price = 0
    if price_b is not None:
        p = spec.tick.to_units(price_b)
        if type(p) is not int:
            text = spec.tick.refusal_text("Price (44)", p)
            return _order_refusal(msg, _PRICE_CODE[p], OTHER, text, account_b)
        price = p
        if ord_type is _MARKET:
            return _order_refusal(
                msg, "market_with_price", UNSUPPORTED, "market order with a Price (44)", account_b
            )
    elif ord_type is _LIMIT:
        return business_refusal(
            msg, 5, "Price (44) is required for a limit order", "price_missing", cl_ord_id
        )
    expire_ts = 0
    if tif is _GTD:
        if not expire_b:
            return business_refusal(
                msg, 5, "ExpireTime (126) is required for GTD", "expire_time_missing", cl_ord_id
            )
        parsed = parse_utc_timestamp(expire_b)
        if parsed is None or parsed > _MAX_TS:  # ns after 2262 do not fit the journal's int64
            return _order_refusal(
                msg, "bad_expire_time", UNSUPPORTED, "ExpireTime (126) is not a UTC timestamp"
            )
        expire_ts = parsed
    elif expire_b is not None:
        return _order_refusal(
            msg, "expire_time_not_gtd", UNSUPPORTED, "ExpireTime (126) is only for GTD orders"
        )
    post_only = reduce_only = False
    if exec_inst:
        for code in exec_inst.split(b" "):
            if code == b"6":
                post_only = True
            elif code == b"E":
                reduce_only = True
            elif code:
                return _order_refusal(
                    msg,
                    "unsupported_exec_inst",
                    UNSUPPORTED,
                    "ExecInst (18) supports 6 (post-only) and E (reduce-only)",
                )
    stp_id = 0
    stp_mode = _CANCEL_AGGRESSOR
    if stp_b is not None:
        if not stp_b.isdigit() or len(stp_b) > 19 or not 0 < int(stp_b) <= MAX_STP_ID:
            return _order_refusal(
                msg,
                "bad_stp_id",
                UNSUPPORTED,
                "SelfMatchPreventionID (7928) must be a positive integer",
            )
        stp_id = int(stp_b)
    if mode_b is not None:
        mode = STP_MODES.get(mode_b)
        if mode is None:
            return _order_refusal(
                msg,
                "unsupported_stp_mode",
                UNSUPPORTED,
                "SelfMatchPreventionMode (8000) must be 1, 2 or 3",
            )
        stp_mode = mode
    return NewOrder(
        session=ctx.session,
        firm=ctx.firm,
        account=account,
        cl_ord_id=cl_ord_id.decode("latin-1"),
        symbol=spec.symbol,
        side=side,
        ord_type=ord_type,
        price=price,
        qty=qty,
        tif=tif,
        expire_ts=expire_ts,
        post_only=post_only,
        reduce_only=reduce_only,
        stp_id=stp_id,
        stp_mode=stp_mode,
    )


# ---------------------------------------------------------------------------------------------
# OrderCancelRequest (F) and OrderCancelReplaceRequest (G)


def _cancel_refusal(
    msg: FixMessage, code: str, cxl_rej_reason: int, text: str, is_replace: bool
) -> Refusal:
    get = msg.get
    fields = (
        (37, get(37) or b"NONE"),
        (11, get(11) or b""),
        (41, get(41) or b"NONE"),
        (39, b"8"),
        (434, b"2" if is_replace else b"1"),
        (102, b"%d" % cxl_rej_reason),
        (58, text.encode("latin-1", "replace")),
    )
    return Refusal(msg_type=b"9", reason=code, fields=fields)


def _order_ref(
    msg: FixMessage,
    is_replace: bool,
    cl_ord_id: bytes | None,
    orig: bytes | None,
    order_id_b: bytes | None,
) -> tuple[str, str, int] | Refusal:
    """(cl_ord_id, orig_cl_ord_id, order_id) of a cancel or replace request, from the values
    of its ClOrdID (11), OrigClOrdID (41) and OrderID (37)."""
    if not cl_ord_id or not orig:
        return session_reject(msg, first_missing(msg, (41, 11)), "required tag missing")
    if len(cl_ord_id) > MAX_ID_LEN or len(orig) > MAX_ID_LEN:
        return _cancel_refusal(msg, "id_too_long", 99, "ClOrdID longer than 64", is_replace)
    order_id = 0
    if order_id_b is not None:
        if not order_id_b.isdigit() or len(order_id_b) > 18:
            return _cancel_refusal(msg, "unknown_order_id", 1, "unknown OrderID", is_replace)
        order_id = int(order_id_b)
    return cl_ord_id.decode("latin-1"), orig.decode("latin-1"), order_id


_CANCEL_TAGS = (11, 41, 37, 55)
_REPLACE_TAGS = (11, 41, 37, 55, 40, 38, 44)


def decode_cancel(msg: FixMessage, ctx: SessionContext) -> CancelOrder | Refusal:
    cl_ord_id_b, orig_b, order_id_b, symbol_b = msg.pick(_CANCEL_TAGS)
    ref = _order_ref(msg, False, cl_ord_id_b, orig_b, order_id_b)
    if isinstance(ref, Refusal):
        return ref
    cl_ord_id, orig, order_id = ref
    return CancelOrder(
        session=ctx.session,
        firm=ctx.firm,
        cl_ord_id=cl_ord_id,
        orig_cl_ord_id=orig,
        order_id=order_id,
        symbol=text_of(symbol_b or b""),
    )


def decode_replace(
    msg: FixMessage, ctx: SessionContext, instruments: InstrumentTable
) -> ReplaceOrder | Refusal:
    """Only Price (44) and OrderQty (38) change; Side, TimeInForce and ExecInst are the order's."""
    cl_ord_id_b, orig_b, order_id_b, symbol_b, ord_type_b, qty_b, price_b = msg.pick(_REPLACE_TAGS)
    ref = _order_ref(msg, True, cl_ord_id_b, orig_b, order_id_b)
    if isinstance(ref, Refusal):
        return ref
    cl_ord_id, orig, order_id = ref
    spec = instruments.get(text_of(symbol_b or b""))
    if spec is None:
        return _cancel_refusal(msg, "unknown_symbol", 1, "unknown symbol", True)
    if ord_type_b not in (None, b"2"):
        return _cancel_refusal(msg, "unsupported_ord_type", 99, "OrdType (40) must be 2", True)
    if not qty_b:
        return business_refusal(
            msg, 5, "OrderQty (38) is required", "qty_missing", cl_ord_id_b or b""
        )
    if not price_b:
        return business_refusal(
            msg, 5, "Price (44) is required for a replace", "price_missing", cl_ord_id_b or b""
        )
    qty = spec.lot.to_units(qty_b)
    if type(qty) is not int:
        text = spec.lot.refusal_text("OrderQty (38)", qty)
        return _cancel_refusal(msg, _QTY_CODE[qty], 99, text, True)
    price = spec.tick.to_units(price_b)
    if type(price) is not int:
        text = spec.tick.refusal_text("Price (44)", price)
        return _cancel_refusal(msg, _PRICE_CODE[price], 99, text, True)
    return ReplaceOrder(
        session=ctx.session,
        firm=ctx.firm,
        cl_ord_id=cl_ord_id,
        orig_cl_ord_id=orig,
        order_id=order_id,
        symbol=spec.symbol,
        price=price,
        qty=qty,
    )


# ---------------------------------------------------------------------------------------------
# Dispatch


def decode(msg: FixMessage, ctx: SessionContext, instruments: InstrumentTable) -> Decoded:
    """One inbound application message → command, query or refusal. Never raises."""
    try:
        mt = msg.msg_type
        if mt == b"D":
            return decode_new_order_single(msg, ctx, instruments)
        if mt == b"F":
            return decode_cancel(msg, ctx)
        if mt == b"G":
            return decode_replace(msg, ctx, instruments)
        if mt == b"q":
            return decode_mass_cancel(msg, ctx)
        if mt == b"H":
            return decode_status(msg, ctx)
        if mt == b"AF":
            return decode_mass_status(msg, ctx)
        if mt == b"x":
            return decode_security_list_request(msg)
        return business_refusal(
            msg,
            3,
            "message type not supported on an order-entry session",
            "unsupported_msg_type",
            b"",
        )
    except Exception:  # rule 6: a message we did not foresee costs its sender an answer only
        return business_refusal(msg, 0, "message could not be processed", "internal_error", b"")
