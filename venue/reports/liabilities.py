"""Proof of liabilities: a Merkle tree over every account's balance at a journal seq.

The procedure (also in the Rules of Engagement, "Proof of liabilities", for members):

- State: the journal replayed into a fresh core engine up to and including seq N.
- Amount of an account: its balance plus the margin held on its isolated positions, in money
  units of 10^-6 USD (a signed integer; unrealized PnL is not included).
- Leaves: one per account known at seq N, in ascending order of the account name's UTF-8
  bytes. leaf = SHA-256( 0x00 || "venue-pol-v1" || len(name) as 4-byte big-endian unsigned ||
  name as UTF-8 || amount as 8-byte big-endian two's complement ).
- Tree: a level's nodes are paired left to right; a pair's parent is
  SHA-256( 0x01 || left || right ); an odd last node is carried up unchanged (never paired
  with itself). The root is the single node left; with no account at all it is 32 zero bytes.
- Total: the sum of all amounts, published with the root.
- Inclusion proof of an account: its leaf's index, amount, and the list of steps from the leaf
  up, each a sibling hash and its side: "L" (the sibling is the left child:
  parent = SHA-256(0x01 || sibling || node)) or "R" (parent = SHA-256(0x01 || node || sibling)).
  Levels where the node is carried up unchanged give no step. The proof is valid when folding
  the steps over the leaf gives the published root.

Invariants: deterministic (the same journal and seq give the same root); read only. Amounts
are not blinded: a leaf hash can be tested against a guessed (name, amount).
"""

from __future__ import annotations

import hashlib
from typing import Any

from venue.reports.format import money
from venue.reports.replay import replay

__all__ = ["LEAF_TAG", "leaf_hash", "liabilities_at", "merkle_levels", "prove"]

LEAF_TAG = b"venue-pol-v1"


def leaf_hash(name: str, amount: int) -> bytes:
    raw = name.encode()
    return hashlib.sha256(
        b"\x00"
        + LEAF_TAG
        + len(raw).to_bytes(4, "big")
        + raw
        + amount.to_bytes(8, "big", signed=True)
    ).digest()


def _parent(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def merkle_levels(leaves: list[bytes]) -> list[list[bytes]]:
    """Every level, the leaves first and the root's level (one node) last."""
    levels = [leaves]
    while len(levels[-1]) > 1:
        cur = levels[-1]
        nxt = [_parent(cur[i], cur[i + 1]) for i in range(0, len(cur) - 1, 2)]
        if len(cur) % 2:
            nxt.append(cur[-1])
        levels.append(nxt)
    return levels


def prove(levels: list[list[bytes]], index: int) -> list[dict[str, str]]:
    steps = []
    for level in levels[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            side = "L" if sibling < index else "R"
            steps.append({"side": side, "hash": level[sibling].hex()})
        index //= 2
    return steps


async def liabilities_at(path: str, seq: int, account: str | None = None) -> dict[str, Any] | None:
    """The root and total at `seq` (0: the journal's last), with `account`'s inclusion proof
    when given (None when that account does not exist at `seq`)."""
    engine, at_seq, at_ts = await replay(path, until_seq=seq or None)
    if seq and at_seq != seq:
        raise ValueError(f"the journal ends at seq {at_seq}, before seq {seq}")
    amounts: list[tuple[bytes, str, int]] = []
    for name in list(engine.accounts):
        view = engine.account_view(name)
        assert view is not None
        amounts.append((name.encode(), name, view.balance + view.isolated_margin))
    amounts.sort()
    leaves = [leaf_hash(name, amount) for _, name, amount in amounts]
    levels = merkle_levels(leaves)
    root = levels[-1][0] if leaves else bytes(32)
    total = sum(a for _, _, a in amounts)
    out: dict[str, Any] = {
        "seq": at_seq,
        "ts": at_ts,
        "accounts": len(leaves),
        "total_units": total,
        "total": money(total),
        "root": root.hex(),
    }
    if account is None:
        return out
    names = [name for _, name, _ in amounts]
    if account not in names:
        return None
    index = names.index(account)
    amount = amounts[index][2]
    out.update(
        account=account,
        amount_units=amount,
        amount=money(amount),
        index=index,
        leaf=leaves[index].hex(),
        proof=prove(levels, index),
    )
    return out
