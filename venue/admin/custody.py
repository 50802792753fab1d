"""Custody: four eyes on money. Withdrawals and withdrawal addresses are requests that take
effect only once M of the N configured operators other than the requester approved them with
an Ed25519 signature (`venue.config_custody`).

The state (requests, approvals, each account's address whitelist, what each account withdrew
each UTC day) is a pure function of the journal: every step is a journaled
`RecordAdminAction` with action `custody.request`, `custody.approve` or `custody.done` and a
JSON detail; `Custody.apply(action, detail, ts)` replays one, at start-up from the journal and
live right after `venue.admin.custody_ops` records it. The withdrawal itself is the core's
`Withdraw` command, journaled in the same transaction as its `custody.done` record, and the
core still refuses one that would leave the account below its initial margin.

What an approval signs (UTF-8, lines joined by "\\n"):

    venue-custody-v1
    <request id>          e.g. R7
    <kind>                withdraw | whitelist
    <account>
    <amount in units>     10^-6 USD, an integer; 0 for a whitelist request
    <address>

Invariants:
- Request ids are R1, R2, ... in journal order (the count of requests before it + 1).
- An approver is a configured operator, never the requester, at most once per request, with a
  signature that verifies under that operator's configured key over exactly the text above.
- A withdrawal request needs the address on the account's whitelist and the day's total
  (executed withdrawals + this one) within the account's daily limit, both when requested and
  again when it executes.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from venue.config_custody import CustodyConfig

__all__ = ["DAY_NS", "Custody", "Request", "signing_text"]

DAY_NS = 86_400 * 10**9
PREFIX = "custody."


def signing_text(request_id: str, kind: str, account: str, units: int, address: str) -> bytes:
    return "\n".join(["venue-custody-v1", request_id, kind, account, str(units), address]).encode()


@dataclass
class Request:
    request_id: str
    kind: str  # "withdraw" | "whitelist"
    account: str
    units: int
    address: str
    requester: str
    ts: int
    approvals: list[str] = field(default_factory=list)
    state: str = "pending"  # pending | executed | refused
    outcome: str = ""

    def text(self) -> bytes:
        return signing_text(self.request_id, self.kind, self.account, self.units, self.address)

    def view(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id,
            "kind": self.kind,
            "account": self.account,
            "units": self.units,
            "address": self.address,
            "requester": self.requester,
            "ts": self.ts,
            "approvals": list(self.approvals),
            "state": self.state,
            "outcome": self.outcome,
            "signing_text": self.text().decode(),
        }


def operator_name(operator: str) -> str:
    """The custody name in an admin operator string: `root/alice` -> alice, `root` -> root."""
    return operator.split("/", 1)[1] if "/" in operator else operator


class Custody:
    """See the module docstring."""

    def __init__(self, cfg: CustodyConfig) -> None:
        self.cfg = cfg
        self._keys = {
            op.name: Ed25519PublicKey.from_public_bytes(op.key_bytes()) for op in cfg.operators
        }
        self.requests: dict[str, Request] = {}
        self.whitelist: dict[str, list[str]] = {}
        self._withdrawn: dict[tuple[str, int], int] = {}  # (account, UTC day) -> units

    # -- checks (no state change) --------------------------------------------------------------

    def check_withdrawal(self, account: str, units: int, address: str, ts: int) -> str | None:
        """Why a withdrawal of `units` to `address` may not be requested or executed now."""
        if address not in self.whitelist.get(account, []):
            return f"address {address!r} is not on {account}'s withdrawal whitelist"
        limit = self.cfg.limit_units(account)
        done = self._withdrawn.get((account, ts // DAY_NS), 0)
        if limit and done + units > limit:
            return (
                f"{account} would withdraw {done + units} units today, above its daily "
                f"limit of {limit} units"
            )
        return None

    def check_request(self, requester: str) -> str | None:
        if requester not in self._keys:
            return f"{requester!r} is not a custody operator (give --operator NAME)"
        return None

    def check_approval(self, request_id: str, approver: str, signature_b64: str) -> str | None:
        req = self.requests.get(request_id)
        if req is None:
            return f"unknown request {request_id!r}"
        if req.state != "pending":
            return f"request {request_id} is already {req.state}"
        key = self._keys.get(approver)
        if key is None:
            return f"{approver!r} is not a custody operator"
        if approver == req.requester:
            return "the requester cannot approve their own request"
        if approver in req.approvals:
            return f"{approver} already approved request {request_id}"
        try:
            key.verify(base64.b64decode(signature_b64, validate=True), req.text())
        except (InvalidSignature, binascii.Error, ValueError):
            return f"the signature does not verify under {approver}'s key"
        return None

    def next_id(self) -> str:
        return f"R{len(self.requests) + 1}"

    def approved(self, request_id: str) -> bool:
        return len(self.requests[request_id].approvals) >= self.cfg.approvals_required

    # -- the journaled steps -------------------------------------------------------------------

    def apply(self, action: str, detail: str, ts: int) -> None:
        """Replay one journaled custody record (`RecordAdminAction` action, detail)."""
        d = json.loads(detail)
        if action == "custody.request":
            rid = d["request_id"]
            self.requests[rid] = Request(
                rid, d["kind"], d["account"], int(d["units"]), d["address"], d["requester"], ts
            )
        elif action == "custody.approve":
            self.requests[d["request_id"]].approvals.append(d["approver"])
        elif action == "custody.done":
            req = self.requests[d["request_id"]]
            req.state, req.outcome = d["state"], d["outcome"]
            if req.state == "executed" and req.kind == "whitelist":
                self.whitelist.setdefault(req.account, []).append(req.address)
            elif req.state == "executed":
                key = (req.account, ts // DAY_NS)
                self._withdrawn[key] = self._withdrawn.get(key, 0) + req.units
