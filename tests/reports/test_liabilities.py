"""Proof of liabilities: the root, total and inclusion proofs that `venue report liabilities`
publishes, checked by a small verifier written here from the documented procedure
(venue/reports/liabilities.py's docstring, RULES_OF_ENGAGEMENT.md "Proof of liabilities"),
not from the code that builds them."""

from __future__ import annotations

import asyncio
import hashlib
import json
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.surveillance.market import USD, Market
from venue.core import Deposit, Engine, Side, TimeInForce, Withdraw

REPO = Path(__file__).resolve().parents[2]
ACCOUNTS = {"A": ["A-1", "A-2"], "B": ["B-1"], "C": ["C-1", "C-2"]}  # 5 accounts: an odd tree


# -- the member's verifier: only hashlib, struct and the documented procedure ------------------


def member_leaf(name: str, amount_units: int) -> bytes:
    raw = name.encode("utf-8")
    body = b"venue-pol-v1" + struct.pack(">I", len(raw)) + raw + struct.pack(">q", amount_units)
    return hashlib.sha256(b"\x00" + body).digest()


def member_verify(proof: dict[str, Any], published_root: str) -> bool:
    node = member_leaf(proof["account"], proof["amount_units"])
    if node.hex() != proof["leaf"]:
        return False
    for step in proof["proof"]:
        sibling = bytes.fromhex(step["hash"])
        pair = sibling + node if step["side"] == "L" else node + sibling
        node = hashlib.sha256(b"\x01" + pair).digest()
    return node.hex() == published_root


def member_root(amounts: dict[str, int]) -> str:
    """The whole tree, as an auditor with every leaf would rebuild it."""
    level = [member_leaf(n, amounts[n]) for n in sorted(amounts, key=lambda n: n.encode())]
    while len(level) > 1:
        nxt = [
            hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
            for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0].hex()


# -- the scenario --------------------------------------------------------------------------------


def scenario() -> tuple[Market, int]:
    m = Market(ACCOUNTS, balances={"A-1": 1_000, "A-2": 2_000, "B-1": 3_000, "C-1": 4_000,
                                   "C-2": 5_000})  # fmt: skip
    m.order("A-1", Side.SELL, 1000, 2)
    m.order("B-1", Side.BUY, 1000, 2, tif=TimeInForce.IOC)
    middle = m.seq
    m.do(Deposit(account="C-2", amount=7 * USD))
    m.do(Withdraw(account="A-2", amount=500 * USD))
    return m, middle


def balances(engine: Engine) -> dict[str, int]:
    out = {}
    for name in engine.accounts:
        view = engine.account_view(name)
        assert view is not None
        out[name] = view.balance + view.isolated_margin
    return out


def report(path: Path, *args: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "venue", "report", "liabilities", "--db", str(path), *args],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def test_every_accounts_proof_verifies_and_the_root_is_the_documented_tree(
    tmp_path: Path,
) -> None:
    m, _ = scenario()
    path = tmp_path / "venue.db"
    asyncio.run(m.write_journal(path))
    amounts = balances(m.engine)
    top = report(path, "--seq", "0")
    assert top["seq"] == m.seq and top["accounts"] == 5
    assert top["total_units"] == sum(amounts.values())
    assert top["root"] == member_root(amounts)
    for name in amounts:
        proof = report(path, "--seq", str(m.seq), "--account", name)
        assert proof["root"] == top["root"]
        assert proof["amount_units"] == amounts[name]
        assert member_verify(proof, top["root"]), name
        # a proof for another amount does not verify
        assert not member_verify({**proof, "amount_units": proof["amount_units"] + 1}, top["root"])


def test_an_earlier_seq_has_its_own_balances_and_root(tmp_path: Path) -> None:
    m, middle = scenario()
    path = tmp_path / "venue.db"
    asyncio.run(m.write_journal(path))
    early = Engine()
    for _, _, cmd, _ in m.rows[:middle]:
        early.apply(cmd)
    amounts = balances(early)
    at = report(path, "--seq", str(middle), "--account", "C-2")
    assert at["seq"] == middle
    assert at["total_units"] == sum(amounts.values())
    assert at["amount_units"] == 5_000 * USD  # the later deposit is not in it
    assert member_verify(at, member_root(amounts))
    assert at["root"] != report(path, "--seq", "0")["root"]
