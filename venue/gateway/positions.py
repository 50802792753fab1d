"""Positions and collateral over FIX: the application answering RequestForPositions (AN) and
CollateralInquiry (BB) for `trading` sessions (registered on the role router for those two
message types).

Invariants:
- Read-only: answers come from the engine's read-only views (`account_view`, `position_view`)
  at the moment the request is processed; nothing is submitted, nothing is mutated.
- Entitlement: a session sees only accounts of its own firm (the engine's record of the
  account's firm). An unknown account and another firm's account get the same answer
  (BusinessMessageReject 380=6 "unknown account"), so nothing leaks about other firms.
- Report ids (PosMaintRptID 721, CollRptID 908) are `P<ts>-<n>` / `C<ts>-<n>`, `ts` = ts_recv
  made strictly increasing here, so ids never repeat within a process.
- Never raises into the gateway on bad input (DESIGN rule 6).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from venue.config import SessionConfig
from venue.fix.codec import FixMessage
from venue.fix.mapping_num import InstrumentSpec
from venue.fix.mapping_out import business_reject
from venue.fix.mapping_positions import (
    CollateralQuery,
    PositionsQuery,
    collateral_report,
    decode_collateral_inquiry,
    decode_request_for_positions,
    not_authorized,
    position_report,
    positions_none_report,
)
from venue.fix.mapping_types import Refusal, SessionContext
from venue.gateway.application import Outbound

if TYPE_CHECKING:
    from venue.core import Engine

__all__ = ["MSG_TYPES", "PositionsApplication"]

MSG_TYPES = (b"AN", b"BB")
"""The message types to route here (`RoleRouter.register(..., msg_types=MSG_TYPES)`)."""


class PositionsApplication:
    """Answers AN with AP and BB with BA for trading sessions. Implements `Application`."""

    def __init__(self, *, engine: Engine, sessions: Iterable[SessionConfig]) -> None:
        self._engine = engine
        self._contexts = {
            s.name: SessionContext(session=s.name, firm=s.firm, accounts=tuple(s.accounts))
            for s in sessions
            if s.role == "trading"
        }
        self._specs: dict[str, InstrumentSpec] = {}
        self._last_ts = 0
        self._n = 0

    # -- the Application seam -----------------------------------------------------------------

    def on_logon(self, session: str, logon: FixMessage | None = None) -> None:
        """Nothing to keep per session."""

    def on_logout(self, session: str, clean: bool = False) -> None:
        """Nothing to keep per session."""

    def on_session_reset(self, session: str) -> None:
        """Nothing to keep per session."""

    def on_message(self, session: str, msg: FixMessage, ts_recv: int) -> list[Outbound]:
        ctx = self._contexts.get(session)
        if ctx is None:
            body = business_reject(
                ref_seq_num=msg.get(34),
                ref_msg_type=msg.msg_type,
                reason=6,
                text="positions and collateral are for trading sessions",
            )
            return [Outbound(session=session, msg_type=b"j", body=body)]
        if msg.msg_type == b"AN":
            q = decode_request_for_positions(msg, ctx)
            if isinstance(q, Refusal):
                return [self._refusal(session, q, ts_recv)]
            return self._positions(session, msg, q, ts_recv)
        if msg.msg_type == b"BB":
            c = decode_collateral_inquiry(msg, ctx)
            if isinstance(c, Refusal):
                return [self._refusal(session, c, ts_recv)]
            return self._collateral(session, msg, c, ts_recv)
        body = business_reject(
            ref_seq_num=msg.get(34),
            ref_msg_type=msg.msg_type,
            reason=3,
            text="Unsupported Message Type",
        )
        return [Outbound(session=session, msg_type=b"j", body=body)]

    # -- internals ------------------------------------------------------------------------------

    def _id(self, prefix: bytes, ts_recv: int) -> bytes:
        if ts_recv > self._last_ts:
            self._last_ts = ts_recv
            self._n = 0
        self._n += 1
        return b"%s%d-%d" % (prefix, self._last_ts, self._n)

    def _refusal(self, session: str, r: Refusal, ts_recv: int) -> Outbound:
        return Outbound(session=session, msg_type=r.msg_type, body=r.body(b"", ts_recv))

    def _entitled(self, firm: str, account: str) -> bool:
        acct = self._engine.accounts.get(account)
        return acct is not None and acct.firm == firm

    def _spec(self, symbol: str) -> InstrumentSpec | None:
        spec = self._specs.get(symbol)
        if spec is None:
            mkt = self._engine.markets.get(symbol)
            if mkt is None:
                return None
            spec = self._specs[symbol] = InstrumentSpec(mkt.instrument)
        return spec

    def _positions(
        self, session: str, msg: FixMessage, q: PositionsQuery, ts_recv: int
    ) -> list[Outbound]:
        if not self._entitled(q.firm, q.account):
            return [self._refusal(session, not_authorized(msg, q.pos_req_id), ts_recv)]
        engine = self._engine
        symbols = [q.symbol] if q.symbol else list(engine.markets)
        found = []
        for symbol in symbols:
            spec = self._spec(symbol)
            if spec is None:
                continue
            pos = engine.position_view(q.account, symbol)
            if pos is not None and pos.size != 0:
                found.append((pos, spec))
        if not found:
            body = positions_none_report(q, report_id=self._id(b"P", ts_recv), ts=ts_recv)
            return [Outbound(session=session, msg_type=b"AP", body=body)]
        total = len(found)
        return [
            Outbound(
                session=session,
                msg_type=b"AP",
                body=position_report(
                    q, pos, spec, report_id=self._id(b"P", ts_recv), total=total, ts=ts_recv
                ),
            )
            for pos, spec in found
        ]

    def _collateral(
        self, session: str, msg: FixMessage, q: CollateralQuery, ts_recv: int
    ) -> list[Outbound]:
        engine = self._engine
        if q.account:
            if not self._entitled(q.firm, q.account):
                return [self._refusal(session, not_authorized(msg, q.coll_inquiry_id), ts_recv)]
            accounts = [q.account]
        else:
            accounts = [a for a, acct in engine.accounts.items() if acct.firm == q.firm]
        views = [v for v in map(engine.account_view, accounts) if v is not None]
        if not views:
            return [self._refusal(session, not_authorized(msg, q.coll_inquiry_id), ts_recv)]
        total = len(views)
        return [
            Outbound(
                session=session,
                msg_type=b"BA",
                body=collateral_report(
                    q, view, report_id=self._id(b"C", ts_recv), total=total, last=n == total
                ),
            )
            for n, view in enumerate(views, start=1)
        ]
