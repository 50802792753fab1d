"""fix_specs/RULES_OF_ENGAGEMENT.md cannot rot: its test vector is recomputed, its example
messages are framed, validated and (the order) mapped through the real code, and its reason
tables are compared with the mapping's tables."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from venue.config import account_commands, instrument_from_config, load_config
from venue.core import AddInstrument, Engine, MassCancel
from venue.core.types import RejectReason
from venue.fix.codec import FixMessage, Framer, encode
from venue.fix.dictionary import load_dictionary
from venue.fix.mapping import SessionContext, decode, instrument_table, replies
from venue.fix.mapping_out import CXL_REJ_REASON, ORD_REJ_REASON, REJECT_TEXT
from venue.fix.validate import validate
from venue.gateway.auth import logon_signature_payload, public_key_b64, sign_logon

DOC = Path(__file__).resolve().parents[1] / "fix_specs" / "RULES_OF_ENGAGEMENT.md"
TEXT = DOC.read_text(encoding="utf-8")
ADMIN_ONLY = {
    RejectReason.DUPLICATE_INSTRUMENT,
    RejectReason.INVALID_INSTRUMENT,
    RejectReason.INVALID_STATE_CHANGE,
    # account, price, funding, liquidation and settlement commands (never an order's answer)
    RejectReason.DUPLICATE_ACCOUNT,
    RejectReason.INVALID_ACCOUNT,
    RejectReason.INVALID_AMOUNT,
    RejectReason.WITHDRAWAL_EXCEEDS_AVAILABLE,
    RejectReason.NOT_LIQUIDATABLE,
    RejectReason.INSTRUMENT_NOT_EXPIRED,
    RejectReason.NOT_A_PERPETUAL,
    RejectReason.ALREADY_SETTLED,
    RejectReason.NOT_AN_OPTION,
    RejectReason.OPTIONS_CROSS_ONLY,
}


def blocks(kind: str) -> list[str]:
    return re.findall(r"```" + kind + r"\n(.*?)```", TEXT, flags=re.S)


def vector() -> dict[str, str]:
    (block,) = blocks("test-vector")
    out: dict[str, str] = {}
    for line in block.strip().splitlines():
        label, _, value = line.partition(":")
        out[label.strip()] = value.strip()
    return out


def examples() -> list[FixMessage]:
    msgs: list[FixMessage] = []
    for block in blocks("fix-example"):
        for line in block.strip().splitlines():
            framer = Framer()
            (item,) = framer.feed(line.strip().replace("|", "\x01").encode())
            assert isinstance(item, FixMessage), (line, item)
            msgs.append(item)
    return msgs


def test_the_logon_test_vector() -> None:
    v = vector()
    key = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(v["private key seed (hex)"]))
    assert public_key_b64(key) == v["public key (base64)"]
    payload = logon_signature_payload(
        v["SenderCompID (49)"],
        v["TargetCompID (56)"],
        int(v["MsgSeqNum (34)"]),
        v["SendingTime (52)"],
    )
    assert payload == v["payload (| = SOH)"].replace("|", "\x01").encode()
    signature = sign_logon(
        key,
        v["SenderCompID (49)"],
        v["TargetCompID (56)"],
        int(v["MsgSeqNum (34)"]),
        v["SendingTime (52)"],
    )
    assert signature.decode() == v["RawData (96)"]
    assert len(signature) == int(v["RawDataLength (95)"])
    key.public_key().verify(base64.b64decode(signature), payload)


def test_examples_are_valid_frames_and_the_logon_carries_the_vector() -> None:
    msgs = examples()
    assert [m.msg_type for m in msgs] == [b"A", b"D", b"8", b"q"]
    dictionary = load_dictionary()
    for m in msgs:
        assert validate(m, dictionary) is None, m
    logon = msgs[0]
    v = vector()
    assert logon.get(96) == v["RawData (96)"].encode()
    assert logon.get(49) == v["SenderCompID (49)"].encode()
    assert logon.get(52) == v["SendingTime (52)"].encode()


def test_the_order_example_is_what_the_venue_answers() -> None:
    _, nos, er, _ = examples()
    cfg = load_config(None)
    instruments = [instrument_from_config(i) for i in cfg.instruments]
    engine = Engine()
    for inst in instruments:
        engine.apply(AddInstrument(ts=1, instrument=inst))
    for cmd in account_commands(cfg):
        engine.apply(cmd)
    session = next(s for s in cfg.sessions if s.name == "ALPHA-MM")
    ctx = SessionContext(session=session.name, firm=session.firm, accounts=tuple(session.accounts))
    table = instrument_table(instruments)
    cmd = decode(nos, ctx, table)
    ts = 1_795_242_600_001_000_000  # the example's TransactTime
    events = engine.apply(msgspec.structs.replace(cmd, ts=ts))
    (reply,) = replies(1, events, table)
    raw = encode(
        b"8",
        begin_string=b"FIX.4.4",
        sender=b"VENUE",
        target=b"ALPHA-MM",
        seq=int(er.get(34) or 0),
        sending_time=er.get(52) or b"",
        body=reply.body,
    )
    assert raw == er.raw


def _reason_rows() -> dict[str, tuple[int, int, str]]:
    rows: dict[str, tuple[int, int, str]] = {}
    for line in TEXT.splitlines():
        m = re.fullmatch(r"\| ([A-Z_]+) \| (\d+) \| (\d+) \| (.+) \|", line.strip())
        if m:
            rows[m.group(1)] = (int(m.group(2)), int(m.group(3)), m.group(4))
    return rows


def test_reason_table_matches_the_code() -> None:
    rows = _reason_rows()
    expected = [r for r in RejectReason if r not in ADMIN_ONLY]
    assert sorted(rows) == sorted(r.name for r in expected)
    for reason in expected:
        ord_rej, cxl_rej, text = rows[reason.name]
        assert ord_rej == ORD_REJ_REASON.get(reason, 99), reason
        assert cxl_rej == CXL_REJ_REASON.get(reason, 99), reason
        assert text == REJECT_TEXT[reason], reason


@pytest.mark.parametrize("tag", [1, 11, 18, 38, 40, 44, 54, 55, 59, 60, 126, 5001, 7928, 8000])
def test_documented_tags_exist_in_the_dictionary(tag: int) -> None:
    assert load_dictionary().name(tag) is not None
    assert f"| {tag} |" in TEXT


def test_the_mass_cancel_example_decodes_with_its_account_filter() -> None:
    *_, mass = examples()
    cfg = load_config(None)
    table = instrument_table([instrument_from_config(i) for i in cfg.instruments])
    session = next(s for s in cfg.sessions if s.name == "BRAVO-MM")
    ctx = SessionContext(session=session.name, firm=session.firm, accounts=tuple(session.accounts))
    cmd = decode(mass, ctx, table)
    assert isinstance(cmd, MassCancel), cmd
    assert (cmd.account, cmd.symbol, cmd.session_only) == ("BRAVO-1", "BTC-PERP", True)
