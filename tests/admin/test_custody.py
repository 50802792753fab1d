"""Custody: withdrawals and withdrawal addresses are M-of-N Ed25519-approved requests, journaled;
the requester cannot approve; daily limits; the core still refuses a withdrawal below margin;
the state comes back from the journal after a restart. A real venue in-process (its admin
operations called as the socket server calls them) and one run of the real CLI."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.venue_process import REPO, write_config
from venue.admin.ops import AdminOps, OpError
from venue.admin.protocol import ErrorCode
from venue.app import Venue
from venue.config import load_config
from venue.core import MONEY_SCALE, RecordAdminAction, Withdraw

NAMES = ("alice", "bob", "carol")


def signing_text(req: dict[str, Any]) -> bytes:
    """As documented in venue/admin/custody.py (written out here, not imported)."""
    lines = [
        "venue-custody-v1",
        req["request_id"],
        req["kind"],
        req["account"],
        str(req["units"]),
        req["address"],
    ]
    return "\n".join(lines).encode()


class Desk:
    def __init__(self, tmp_path: Path) -> None:
        self.keys = {n: Ed25519PrivateKey.generate() for n in NAMES}
        ops_toml = "".join(
            f'[[custody.operators]]\nname = "{n}"\npublic_key = "{self.pub(n)}"\n' for n in NAMES
        )
        extra = (
            '\n[custody]\napprovals_required = 2\ndaily_limit = "0"\n'
            'account_daily_limits = { "ALPHA-2" = "150" }\n' + ops_toml
        )
        self.short = Path(tempfile.mkdtemp(prefix="vc", dir="/tmp"))
        path = write_config(tmp_path, extra=extra)
        path.write_text(
            path.read_text().replace(str(tmp_path / "admin.sock"), str(self.short / "a.sock"))
        )
        self.config = path
        self.venue: Venue | None = None

    def pub(self, name: str) -> str:
        raw = (
            self.keys[name]
            .public_key()
            .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        )
        return base64.b64encode(raw).decode()

    async def start(self) -> AdminOps:
        self.venue = Venue(load_config(self.config))
        await self.venue.start()
        assert self.venue.admin is not None
        return self.venue.admin.ops

    async def stop(self) -> None:
        if self.venue is not None:
            await self.venue.stop()

    def sig(self, name: str, req: dict[str, Any]) -> str:
        return base64.b64encode(self.keys[name].sign(signing_text(req))).decode()

    def balance(self, account: str) -> int:
        assert self.venue is not None and self.venue.sequencer is not None
        view = self.venue.sequencer.engine.account_view(account)
        assert view is not None
        return view.balance


async def refused(coro: Any, code: ErrorCode, text: str) -> None:
    with pytest.raises(OpError) as info:
        await coro
    assert info.value.code == code and text in info.value.message, info.value.message


async def test_whitelist_then_withdraw_with_two_of_three(tmp_path: Path) -> None:
    desk = Desk(tmp_path)
    ops = await desk.start()
    try:
        run = ops.run
        # no direct withdrawal any more, and none to an address not on the whitelist
        await refused(
            run("account.withdraw", {"account": "ALPHA-1", "amount": "100"}, "root/alice"),
            ErrorCode.BAD_ARGS,
            "M-of-N",
        )
        w = {"account": "ALPHA-1", "amount": "100", "to": "bc1-alpha"}
        await refused(run("account.withdraw", w, "root/alice"), ErrorCode.REFUSED, "whitelist")
        await refused(
            run("account.withdraw", w, "root/mallory"), ErrorCode.REFUSED, "not a custody operator"
        )
        # adding the address is itself a request: alice asks, alice cannot approve it
        req = await run(
            "custody.whitelist", {"account": "ALPHA-1", "address": "bc1-alpha"}, "root/alice"
        )
        assert (req["request_id"], req["state"], req["units"]) == ("R1", "pending", 0)
        approve = {"request_id": "R1", "signature": desk.sig("alice", req)}
        await refused(
            run("custody.approve", approve, "root/alice"),
            ErrorCode.REFUSED,
            "cannot approve their own",
        )
        forged = {"request_id": "R1", "signature": desk.sig("carol", req)}  # carol's key...
        await refused(
            run("custody.approve", forged, "root/bob"), ErrorCode.REFUSED, "does not verify"
        )  # ...is not bob's
        one = await run(
            "custody.approve", {"request_id": "R1", "signature": desk.sig("bob", req)}, "root/bob"
        )
        assert one["state"] == "pending" and one["approvals"] == ["bob"]
        await refused(
            run(
                "custody.approve",
                {"request_id": "R1", "signature": desk.sig("bob", req)},
                "root/bob",
            ),
            ErrorCode.REFUSED,
            "already approved",
        )
        two = await run(
            "custody.approve",
            {"request_id": "R1", "signature": desk.sig("carol", req)},
            "root/carol",
        )
        assert (two["state"], two["outcome"]) == ("executed", "whitelisted")
        # now the withdrawal: requested by bob, approved by alice and carol
        before = desk.balance("ALPHA-1")
        wreq = await run("account.withdraw", w, "root/bob")
        assert (wreq["request_id"], wreq["units"]) == ("R2", 100 * MONEY_SCALE)
        assert desk.balance("ALPHA-1") == before  # nothing moves before M approvals
        await run(
            "custody.approve",
            {"request_id": "R2", "signature": desk.sig("alice", wreq)},
            "root/alice",
        )
        assert desk.balance("ALPHA-1") == before
        done = await run(
            "custody.approve",
            {"request_id": "R2", "signature": desk.sig("carol", wreq)},
            "root/carol",
        )
        assert done["state"] == "executed" and done["outcome"].startswith("withdrawn at seq")
        assert desk.balance("ALPHA-1") == before - 100 * MONEY_SCALE
        await refused(
            run(
                "custody.approve",
                {"request_id": "R2", "signature": desk.sig("bob", wreq)},
                "root/bob",
            ),
            ErrorCode.REFUSED,
            "already executed",
        )
        # a pending request survives a restart (rebuilt from the journal)
        pending = await run("account.withdraw", w, "root/alice")
        assert pending["request_id"] == "R3"
    finally:
        await desk.stop()
    ops = await desk.start()
    try:
        listed = await ops.run("custody.list", {}, "root")
        assert [(r["request_id"], r["state"]) for r in listed["requests"]] == [
            ("R1", "executed"),
            ("R2", "executed"),
            ("R3", "pending"),
        ]
        assert listed["whitelist"] == {"ALPHA-1": ["bc1-alpha"]}
        r3 = await ops.run("custody.show", {"request_id": "R3"}, "root")
        await ops.run(
            "custody.approve", {"request_id": "R3", "signature": desk.sig("bob", r3)}, "root/bob"
        )
        # the journal holds each step and the Withdraw with who approved it
        assert desk.venue is not None and desk.venue.journal is not None
        actions: list[str] = []
        withdraws: list[str] = []

        def on_chunk(rows: list[Any]) -> None:
            import msgspec

            from venue.core import Command

            for _, _, raw in rows:
                cmd = msgspec.msgpack.decode(raw, type=Command)
                if isinstance(cmd, RecordAdminAction) and cmd.action.startswith("custody."):
                    actions.append(cmd.action)
                if isinstance(cmd, Withdraw):
                    withdraws.append(cmd.operator)

        await desk.venue.sequencer.journal.scan(0, on_chunk)  # type: ignore[union-attr]
        assert actions[:5] == [
            "custody.request",
            "custody.approve",
            "custody.approve",
            "custody.done",
            "custody.request",
        ]
        assert withdraws == ["custody:bob,alice,carol"]
    finally:
        await desk.stop()


async def test_daily_limit_and_margin_refusals(tmp_path: Path) -> None:
    desk = Desk(tmp_path)
    ops = await desk.start()
    try:
        run = ops.run

        async def approved(kind: str, args: dict[str, Any]) -> dict[str, Any]:
            req = await run(kind, args, "root/alice")
            for name in ("bob", "carol"):
                out = await run(
                    "custody.approve",
                    {"request_id": req["request_id"], "signature": desk.sig(name, req)},
                    f"root/{name}",
                )
            return out  # type: ignore[no-any-return]

        await approved("custody.whitelist", {"account": "ALPHA-2", "address": "addr2"})
        await approved("custody.whitelist", {"account": "ALPHA-1", "address": "addr1"})
        out = await approved(
            "account.withdraw", {"account": "ALPHA-2", "amount": "100", "to": "addr2"}
        )
        assert out["state"] == "executed"
        # ALPHA-2's limit is 150 USD a day: 100 + 60 is refused at once
        await refused(
            run(
                "account.withdraw",
                {"account": "ALPHA-2", "amount": "60", "to": "addr2"},
                "root/alice",
            ),
            ErrorCode.REFUSED,
            "daily limit",
        )
        # more than the account has: approved by two, refused by the core (as without custody)
        before = desk.balance("ALPHA-1")
        out = await approved(
            "account.withdraw", {"account": "ALPHA-1", "amount": "20000000", "to": "addr1"}
        )
        assert (out["state"], out["outcome"]) == ("refused", "WITHDRAWAL_EXCEEDS_AVAILABLE")
        assert desk.balance("ALPHA-1") == before
    finally:
        await desk.stop()


async def test_cli_approve_signs_locally(tmp_path: Path) -> None:
    desk = Desk(tmp_path)
    ops = await desk.start()
    key_file = tmp_path / "bob.pem"
    key_file.write_bytes(
        desk.keys["bob"].private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    try:
        await ops.run("custody.whitelist", {"account": "ALPHA-1", "address": "a1"}, "root/alice")
        sock = str(desk.short / "a.sock")
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "venue.admin.cli",
            "--socket",
            sock,
            "--json",
            "--yes",
            "--operator",
            "bob",
            "custody",
            "approve",
            "R1",
            "--key",
            str(key_file),
            cwd=str(REPO),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, err.decode()
        assert json.loads(out)["approvals"] == ["bob"]
    finally:
        await desk.stop()
        shutil.rmtree(desk.short, ignore_errors=True)
