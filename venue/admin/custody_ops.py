"""The custody operations behind the admin socket (see `venue.admin.custody` for the rules):

    account.withdraw {account, amount, to}     a withdrawal request (replaces the direct one)
    custody.whitelist {account, address}       a request to add a withdrawal address
    custody.approve {request_id, signature}    an operator's signed approval
    custody.show {request_id}, custody.list {} the requests and whitelists

Invariants:
- Every step is one journaled `RecordAdminAction` (`custody.request`, `custody.approve`,
  `custody.done`) applied to the `Custody` state right after it is submitted, from its own
  journaled time, so the state after a restart (rebuilt from the journal) is the same.
- The approval that completes M executes at once, in the same transaction: a withdrawal as the
  core's `Withdraw` (which refuses one that would leave the account below margin: the request
  then ends `refused` with the core's reason), a whitelist request by adding the address.
- Answers come after everything is durable, as for every admin action.
"""

from __future__ import annotations

import json
from typing import Any

from venue.admin.custody import PREFIX, Custody, operator_name
from venue.admin.ops import AdminOps, OpError, _Args
from venue.admin.protocol import ErrorCode
from venue.core import AdminActionRecorded, Command, RecordAdminAction, Withdraw
from venue.journal import Journal
from venue.journal.rows import scan_all

__all__ = ["CustodyOps", "load_custody"]


class _Withdraw(_Args, frozen=True, kw_only=True, forbid_unknown_fields=True):
    account: str
    amount: str
    to: str = ""


class _Whitelist(_Args, frozen=True, kw_only=True, forbid_unknown_fields=True):
    account: str
    address: str


class _Approve(_Args, frozen=True, kw_only=True, forbid_unknown_fields=True):
    request_id: str
    signature: str  # base64 Ed25519 signature of the request's signing text


class _RequestId(_Args, frozen=True, kw_only=True, forbid_unknown_fields=True):
    request_id: str


class _NoArgs(_Args, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


async def load_custody(journal: Journal, custody: Custody) -> None:
    """Rebuild the custody state from the journal's custody records."""
    import msgspec  # noqa: PLC0415 -- start-up only

    decode = msgspec.msgpack.Decoder(Command).decode
    tag = PREFIX.encode()

    def on_chunk(rows: list[Any]) -> None:
        for _seq, ts, raw in rows:
            if tag in raw and b"RecordAdminAction" in raw:
                cmd = decode(raw)
                if isinstance(cmd, RecordAdminAction) and cmd.action.startswith(PREFIX):
                    custody.apply(cmd.action, cmd.detail, ts)

    await scan_all(journal, on_chunk)


class CustodyOps:
    """Registers the custody operations on `ops`."""

    def __init__(self, ops: AdminOps, custody: Custody) -> None:
        self._ops = ops
        self.custody = custody
        ops.add_op("account.withdraw", _Withdraw, self._withdraw)
        ops.add_op("custody.whitelist", _Whitelist, self._whitelist)
        ops.add_op("custody.approve", _Approve, self._approve)
        ops.add_op("custody.show", _RequestId, self._show)
        ops.add_op("custody.list", _NoArgs, self._list)

    def _step(self, operator: str, action: str, **detail: Any) -> int:
        """Journal one custody step and apply it at its journaled time; its seq."""
        text = json.dumps(detail, sort_keys=True, separators=(",", ":"))
        seq, events = self._ops.sequencer.submit(
            RecordAdminAction(operator=operator, action=action, detail=text)
        )
        ts = next((e.ts for e in events if isinstance(e, AdminActionRecorded)), 0)
        self.custody.apply(action, text, ts)
        return seq

    async def _request(
        self, operator: str, kind: str, account: str, units: int, address: str
    ) -> dict[str, Any]:
        c = self.custody
        requester = operator_name(operator)
        why = c.check_request(requester)
        if why is not None:
            raise OpError(ErrorCode.REFUSED, why)
        if self._ops.sequencer.engine.account_view(account) is None:
            raise OpError(ErrorCode.NOT_FOUND, f"unknown account {account!r}")
        if kind == "withdraw":
            why = c.check_withdrawal(account, units, address, self._ops._now_ns())
            if why is not None:
                raise OpError(ErrorCode.REFUSED, why)
        await self._ops.sequencer.wait_ready()
        rid = c.next_id()
        self._step(
            operator, "custody.request", request_id=rid, kind=kind, account=account,
            units=units, address=address, requester=requester,
        )  # fmt: skip
        self._ops.action_commit_ns = await self._ops._committed()
        return {**c.requests[rid].view(), "approvals_required": c.cfg.approvals_required}

    async def _withdraw(self, a: _Withdraw, operator: str) -> Any:
        if not a.to:
            raise OpError(
                ErrorCode.BAD_ARGS,
                "withdrawals are M-of-N approved requests: give the address (--to ADDRESS)",
            )
        units = self._ops._units(a.amount)
        return await self._request(operator, "withdraw", a.account, units, a.to)

    async def _whitelist(self, a: _Whitelist, operator: str) -> Any:
        if not a.address.strip():
            raise OpError(ErrorCode.BAD_ARGS, "address: empty")
        return await self._request(operator, "whitelist", a.account, 0, a.address)

    async def _approve(self, a: _Approve, operator: str) -> Any:
        c = self.custody
        approver = operator_name(operator)
        why = c.check_approval(a.request_id, approver, a.signature)
        if why is not None:
            code = ErrorCode.NOT_FOUND if why.startswith("unknown") else ErrorCode.REFUSED
            raise OpError(code, why)
        await self._ops.sequencer.wait_ready()
        self._step(
            operator, "custody.approve", request_id=a.request_id, approver=approver,
            signature=a.signature,
        )  # fmt: skip
        if c.approved(a.request_id):
            self._execute(operator, a.request_id)
        self._ops.action_commit_ns = await self._ops._committed()
        return c.requests[a.request_id].view()

    def _execute(self, operator: str, request_id: str) -> None:
        req = self.custody.requests[request_id]
        state, outcome = "executed", "whitelisted"
        if req.kind == "withdraw":
            seq = self._ops.sequencer
            why = self.custody.check_withdrawal(
                req.account, req.units, req.address, self._ops._now_ns()
            )
            if why is None:
                by = ",".join([req.requester, *req.approvals])
                wseq, events = seq.submit(
                    Withdraw(account=req.account, amount=req.units, operator=f"custody:{by}")
                )
                refusal = self._ops._refusal(events)
                if refusal is None:
                    outcome = f"withdrawn at seq {wseq}"
                else:
                    state, outcome = "refused", refusal
            else:
                state, outcome = "refused", why
        self._step(operator, "custody.done", request_id=request_id, state=state, outcome=outcome)

    async def _show(self, a: _RequestId, _op: str) -> Any:
        req = self.custody.requests.get(a.request_id)
        if req is None:
            raise OpError(ErrorCode.NOT_FOUND, f"unknown request {a.request_id!r}")
        return req.view()

    async def _list(self, _a: _NoArgs, _op: str) -> Any:
        c = self.custody
        return {
            "approvals_required": c.cfg.approvals_required,
            "operators": [op.name for op in c.cfg.operators],
            "requests": [r.view() for r in c.requests.values()],
            "whitelist": c.whitelist,
        }
