"""Order entry: the application behind the gateway's seam for `trading` sessions.

Reading order: `gateway/` → `fix/session.py` → `fix/mapping.py` → `sequencer.py` → `core/`.
`on_message` decodes one in-sequence message (`venue.fix.mapping.decode`), submits the command
through the sequencer, and answers with the reports of the events it produced, each addressed
to the session that owns the order; the gateway numbers, stores and sends them with the same
batch, so they leave only after the command is durable (DESIGN rule 3).

Invariants:
- Every state change goes through `Sequencer.submit`; this module only reads engine state
  (order status, mass status, security list) and never mutates it.
- A session acts with its own name and firm only; it sees and touches only its firm's orders
  (the core answers another firm's order as unknown; status requests do the same here).
- Reports of commands this module did not submit (admin, risk, expiry) are routed too: the
  sequencer's subscriber sees every committed command and pushes their reports through `send`;
  commands submitted here are answered synchronously and skipped there (`_pending`).
- Cancel on disconnect: when a session with the setting on (config, or Logon tag 5001
  CancelOnDisconnect) loses its connection (or logs out, when `cancel_on_logout`), its resting
  orders are canceled by one sequenced `MassCancel(session_only=True)`.
- ExecIDs: from the core's exec_id, `R<seq>` for journaled rejects, and `E<ts>-<n>` /
  `I<ts>-<n>` for edge refusals and status reports (`ts` = ts_recv, strictly increasing here).
- Memory for PossResend is bounded (`RecentClOrdIds`: the last `max_cl_ord_ids` ClOrdIDs per
  session, `max_cl_ord_ids_total` in all, sessions logged out longest forgotten first).
- Never raises into the gateway on bad input (DESIGN rule 6); a stopped or failed journal is
  answered with BusinessMessageReject 380=4.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import msgspec

from venue.config import SessionConfig
from venue.core.commands import CancelOrder, Command, MassCancel, NewOrder, ReplaceOrder
from venue.core.events import OrderCanceled
from venue.core.types import Instrument, Side
from venue.fix.codec import FixMessage
from venue.fix.mapping import (
    InstrumentSpec,
    InstrumentTable,
    MassStatusQuery,
    Refusal,
    SecurityListQuery,
    SessionContext,
    StatusQuery,
    business_reject,
    decode,
    order_status_report,
    replies,
    security_list,
)
from venue.gateway.application import Outbound, RecentClOrdIds
from venue.journal import JournalFailed
from venue.log import get_logger
from venue.sequencer import SequencerStopped

if TYPE_CHECKING:
    from venue.core.book import Order
    from venue.core.events import Event
    from venue.sequencer import Sequencer

__all__ = ["OrderEntry", "gateway_sender"]

_log = get_logger("venue.order_entry")
_ORDER_COMMANDS = (NewOrder, CancelOrder, ReplaceOrder, MassCancel)
_DUPLICATE_TAGS = (11, 97)  # ClOrdID, PossResend

Send = Callable[[list[Outbound]], None]


class OrderEntry:
    """The order-entry application (see the module docstring). Implements `Application`."""

    def __init__(
        self,
        *,
        sequencer: Sequencer,
        sessions: Iterable[SessionConfig],
        send: Send | None = None,
        max_cl_ord_ids: int = 1_000,
        max_cl_ord_ids_total: int = 50_000,
    ) -> None:
        self._sequencer = sequencer
        self._engine = sequencer.engine
        self.on_submitted: Callable[[int, int], None] | None = None  # (seq, ts_recv) per order
        self._configs = {s.name: s for s in sessions}
        self._contexts = {
            s.name: SessionContext(session=s.name, firm=s.firm, accounts=tuple(s.accounts))
            for s in self._configs.values()
            if s.role == "trading"
        }
        self._cancel_on_disconnect = {
            name: self._configs[name].cancel_on_disconnect for name in self._contexts
        }
        self._send = send
        self._table: InstrumentTable = {}
        self._pending: set[int] = set()  # seqs answered synchronously, not yet seen committed
        self._seen = RecentClOrdIds(per_session=max_cl_ord_ids, total=max_cl_ord_ids_total)
        self._last_token = 0
        self._token_n = 0
        sequencer.subscribe(self._on_committed)

    def attach(self, send: Send) -> None:
        """Where pushed reports go (reports of commands not submitted by `on_message`)."""
        self._send = send

    # -- the Application seam -----------------------------------------------------------------

    def on_logon(self, session: str, logon: FixMessage | None = None) -> None:
        """Logon tag 5001 CancelOnDisconnect (Y/N) overrides the session's setting until the
        next Logon."""
        cfg = self._configs.get(session)
        if cfg is None or session not in self._contexts:
            return
        self._seen.logged_on(session)
        flag = logon.get(5001) if logon is not None else None
        if flag == b"Y":
            self._cancel_on_disconnect[session] = True
        elif flag == b"N":
            self._cancel_on_disconnect[session] = False
        else:
            self._cancel_on_disconnect[session] = cfg.cancel_on_disconnect

    def on_logout(self, session: str, clean: bool = False) -> None:
        """The session's connection is gone. `clean`: it ended with a Logout exchange."""
        self._seen.logged_out(session)
        cfg = self._configs.get(session)
        ctx = self._contexts.get(session)
        if cfg is None or ctx is None or not self._cancel_on_disconnect.get(session, False):
            return
        if clean and not cfg.cancel_on_logout:
            return
        if not self._engine.by_session.get(session):
            return
        cmd = MassCancel(session=session, firm=ctx.firm, session_only=True)
        result = self._submit(cmd)
        if result is None:
            return
        seq, events = result
        _log.info("cancel_on_disconnect", session=session, seq=seq, canceled=len(events) - 1)
        self._push(self._route(seq, events))

    def on_session_reset(self, session: str) -> None:
        self._seen.forget(session)

    def on_message(self, session: str, msg: FixMessage, ts_recv: int) -> list[Outbound]:
        ctx = self._contexts.get(session)
        if ctx is None:
            body = business_reject(
                ref_seq_num=msg.get(34),
                ref_msg_type=msg.msg_type,
                reason=6,
                text="order entry is not permitted on this session",
            )
            return [Outbound(session=session, msg_type=b"j", body=body)]
        if msg.msg_type == b"D" and self._possible_duplicate(session, msg):
            return []
        table = self._table
        if len(self._engine.markets) != len(table):
            table = self._instruments()
        decoded = decode(msg, ctx, table)
        tp = type(decoded)
        if tp is ReplaceOrder:
            refusal = self._check_replace(ctx, decoded, msg)  # type: ignore[arg-type]
            if refusal is not None:
                decoded = refusal
                tp = Refusal
        if tp in _ORDER_COMMANDS:
            result = self._submit(decoded)  # type: ignore[arg-type]
            if result is None:
                return [self._unavailable(session, msg)]
            if self.on_submitted is not None:  # the metrics' acknowledgement latency
                self.on_submitted(result[0], ts_recv)
            return self._route(result[0], result[1], table)
        if tp is Refusal:
            assert isinstance(decoded, Refusal)
            body = decoded.body(self._token(b"E", ts_recv), ts_recv)
            return [Outbound(session=session, msg_type=decoded.msg_type, body=body)]
        if tp is StatusQuery:
            assert isinstance(decoded, StatusQuery)
            return [self._status(decoded, ts_recv)]
        if tp is MassStatusQuery:
            assert isinstance(decoded, MassStatusQuery)
            return self._mass_status(decoded, ts_recv)
        assert isinstance(decoded, SecurityListQuery)
        return [self._security_list(session, decoded)]

    # -- kill switch ----------------------------------------------------------------------------

    def _known_firms(self) -> set[str]:
        """Firms with a session or an account (a firm may trade through either only later)."""
        known = {c.firm for c in self._configs.values()}
        known.update(a.firm for a in self._engine.accounts.values())
        return known

    def cancel_all(
        self,
        *,
        session: str | None = None,
        account: str | None = None,
        firm: str | None = None,
        symbol: str | None = None,
        operator: str = "admin",
    ) -> int:
        """Cancel every live order matching all given filters, through sequenced MassCancels
        (one per firm concerned). Returns the number of orders canceled. With no filter at all,
        cancels everything. Raises ValueError for an unknown session, account, firm or
        instrument: a kill switch given a typo must say so, never quietly cancel nothing."""
        if firm is not None and firm not in self._known_firms():
            raise ValueError(f"unknown firm {firm!r}")
        if symbol is not None and symbol not in self._engine.markets:
            raise ValueError(f"unknown instrument {symbol!r}")
        firms: list[str]
        session_only = False
        if session is not None:
            cfg = self._configs.get(session)
            if cfg is None:
                raise ValueError(f"unknown session {session!r}")
            if firm is not None and firm != cfg.firm:
                return 0
            firms, session_only = [cfg.firm], True
        elif account is not None:
            owners = sorted({c.firm for c in self._configs.values() if account in c.accounts})
            if not owners:
                raise ValueError(f"unknown account {account!r}")
            firms = [f for f in owners if firm is None or f == firm]
        elif firm is not None:
            firms = [firm]
        else:
            firms = sorted({o.firm for o in self._engine.orders.values()})
        total = 0
        pushed: list[Outbound] = []
        for f in firms:
            cmd = MassCancel(
                session=session if session is not None else f"admin:{operator}",
                firm=f,
                symbol=symbol or "",
                account=account or "",
                session_only=session_only,
            )
            result = self._submit(cmd)
            if result is None:
                raise RuntimeError("the journal is not available")
            seq, events = result
            total += sum(1 for ev in events if type(ev) is OrderCanceled)
            pushed += self._route(seq, events)
        self._push(pushed)
        _log.info(
            "cancel_all",
            operator=operator,
            session=session,
            account=account,
            firm=firm,
            symbol=symbol,
            canceled=total,
        )
        return total

    # -- internals ------------------------------------------------------------------------------

    def _submit(self, cmd: Command) -> tuple[int, list[Event]] | None:
        try:
            seq, events = self._sequencer.submit(cmd)
        except (JournalFailed, SequencerStopped, ValueError) as exc:
            # ValueError: a command the journal cannot hold; the FIX edge's range checks should
            # have refused it, so this is a last line of defence (answered as unavailable).
            _log.warning("submit_refused", error=str(exc))
            return None
        self._pending.add(seq)
        return seq, events

    def _on_committed(self, seq: int, ts: int, cmd: Command, events: list[Event]) -> None:
        pending = self._pending
        if seq in pending:
            pending.remove(seq)
            return
        if events:
            self._push(self._route(seq, events))

    def _push(self, outbound: list[Outbound]) -> None:
        if not outbound:
            return
        if self._send is None:
            _log.warning("reports_not_sent", reason="no sender attached", count=len(outbound))
            return
        self._send(outbound)

    def _route(
        self, seq: int, events: list[Event], table: InstrumentTable | None = None
    ) -> list[Outbound]:
        """The replies of the events, but those for sessions that are not order-entry sessions
        (an admin's or a risk process's, or one no longer configured). The mapping's `Reply`
        is an `Outbound`: the list is handed on as it is when every reply stays (the rule)."""
        out = replies(seq, events, self._instruments() if table is None else table)
        contexts = self._contexts
        for r in out:
            if r.session not in contexts:
                return [r for r in out if r.session in contexts]
        return out

    def _instruments(self) -> InstrumentTable:
        markets = self._engine.markets
        if len(markets) != len(self._table):
            self._table = {s: InstrumentSpec(m.instrument) for s, m in markets.items()}
        return self._table

    def _token(self, prefix: bytes, ts_recv: int) -> bytes:
        if ts_recv > self._last_token:
            self._last_token = ts_recv
            self._token_n = 0
        self._token_n += 1
        return b"%s%d-%d" % (prefix, self._last_token, self._token_n)

    def _unavailable(self, session: str, msg: FixMessage) -> Outbound:
        body = business_reject(
            ref_seq_num=msg.get(34),
            ref_msg_type=msg.msg_type,
            reason=4,
            text="application not available",
            ref_id=msg.get(11) or b"",
        )
        return Outbound(session=session, msg_type=b"j", body=body)

    def _possible_duplicate(self, session: str, msg: FixMessage) -> bool:
        """A NewOrderSingle with PossResend (97=Y) whose ClOrdID this FIX session already sent, or
        that names a live order of the session, is ignored (it was answered the first time).
        Remembers the last `max_cl_ord_ids` per session, `max_cl_ord_ids_total` in all
        (`RecentClOrdIds`: sessions logged out longest ago are forgotten first)."""
        cl_ord_id_b, poss_resend = msg.pick(_DUPLICATE_TAGS)
        cl_ord_id = cl_ord_id_b or b""
        if poss_resend == b"Y" and (
            (session, cl_ord_id) in self._seen
            or cl_ord_id.decode("latin-1") in self._engine.by_session.get(session, {})
        ):
            return True
        self._seen.remember(session, cl_ord_id)
        return False

    def _find(self, ctx: SessionContext, order_id: int, cl_ord_id: str) -> Order | None:
        engine = self._engine
        if order_id:
            o = engine.orders.get(order_id)
        else:
            o = engine.by_session.get(ctx.session, {}).get(cl_ord_id)
        if o is None or o.firm != ctx.firm:
            return None
        return o

    def _check_replace(
        self, ctx: SessionContext, cmd: ReplaceOrder, msg: FixMessage
    ) -> Refusal | None:
        """The price and quantity were converted with the scales of the message's Symbol: refuse
        a replace whose Symbol is not the order's (rather than trade at a wrong scale)."""
        o = self._find(ctx, cmd.order_id, cmd.orig_cl_ord_id)
        if o is None or o.symbol == cmd.symbol:
            return None
        fields = (
            (37, msg.get(37) or b"%d" % o.order_id),
            (11, msg.get(11) or b""),
            (41, msg.get(41) or b""),
            (39, b"1" if o.cum_qty else b"0"),
            (434, b"2"),
            (102, b"99"),
            (58, b"Symbol (55) is not the order's symbol"),
        )
        return Refusal(msg_type=b"9", reason="symbol_mismatch", fields=fields)

    def _status(self, q: StatusQuery, ts_recv: int) -> Outbound:
        ctx = self._contexts[q.session]
        o = None if q.order_id < 0 else self._find(ctx, q.order_id, q.cl_ord_id)
        spec = self._instruments().get(o.symbol) if o is not None else None
        body = order_status_report(
            o,
            spec,
            exec_id=self._token(b"I", ts_recv),
            ts=ts_recv,
            cl_ord_id=q.cl_ord_id.encode("latin-1"),
            symbol=q.symbol.encode("latin-1"),
            side=q.side,
            ord_status_req_id=q.ord_status_req_id,
        )
        return Outbound(session=q.session, msg_type=b"8", body=body)

    def _mass_status(self, q: MassStatusQuery, ts_recv: int) -> list[Outbound]:
        """ExecType I for each live order this session entered that matches the filters, in
        order_id order (911 = count, 912 = Y on the last); none: one 'unknown order' report."""
        table = self._instruments()
        side: Side | None = q.side
        orders = sorted(
            (
                o
                for o in self._engine.by_session.get(q.session, {}).values()
                if (not q.symbol or o.symbol == q.symbol)
                and (not q.account or o.account == q.account)
                and (side is None or o.side == side)
            ),
            key=lambda o: o.order_id,
        )
        total = len(orders)
        if total == 0:
            body = order_status_report(
                None,
                None,
                exec_id=self._token(b"I", ts_recv),
                ts=ts_recv,
                symbol=q.symbol.encode("latin-1"),
                mass_status_req_id=q.mass_status_req_id,
                tot_num_reports=0,
                last_report=True,
            )
            return [Outbound(session=q.session, msg_type=b"8", body=body)]
        return [
            Outbound(
                session=q.session,
                msg_type=b"8",
                body=order_status_report(
                    o,
                    table.get(o.symbol),
                    exec_id=self._token(b"I", ts_recv),
                    ts=ts_recv,
                    mass_status_req_id=q.mass_status_req_id,
                    tot_num_reports=total,
                    last_report=n == total,
                ),
            )
            for n, o in enumerate(orders, start=1)
        ]

    def _security_list(self, session: str, q: SecurityListQuery) -> Outbound:
        markets = self._engine.markets
        symbols = [q.symbol] if q.symbol else list(markets)
        instruments: list[Instrument] = []
        for symbol in symbols:
            mkt = markets.get(symbol)
            if mkt is None:
                continue
            inst = mkt.instrument
            if inst.state != mkt.state or inst.ref_price != mkt.ref_price:
                inst = msgspec.structs.replace(inst, state=mkt.state, ref_price=mkt.ref_price)
            instruments.append(inst)
        body = security_list(
            instruments,
            security_req_id=q.security_req_id,
            security_response_id=q.security_req_id,
            result=0 if instruments else 2,
        )
        return Outbound(session=session, msg_type=b"y", body=body)


def gateway_sender(gateway: Any) -> Send:
    """A `send` for `OrderEntry.attach`: the gateway's own `send` when it has one, else one
    built on the acceptor's pieces. The latter drops reports for a session that is not logged
    on (the session machine numbers messages only for a logged-on session), where the venue
    should store them for resend: that needs the gateway's `send`."""

    public = getattr(gateway, "send", None)
    if callable(public):
        return public  # type: ignore[no-any-return]

    def send(outbound: list[Outbound]) -> None:
        now = gateway.clock.now_ns()
        for out in outbound:
            slot = gateway.slots.get(out.session)
            conn = slot.connection if slot is not None else None
            if slot is None or conn is None:
                _log.warning("outbound_dropped", session=out.session, reason="not connected")
                continue
            conn._execute(slot.session.send_application(out.msg_type, out.body, now))

    return send
