"""Logon authentication: Ed25519 signatures, replay, passwords, loopback-only, addresses."""

from __future__ import annotations

import base64

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from venue.config import AuthConfig, SessionConfig
from venue.fix.codec import FixMessage, Framer, encode, format_utc_timestamp
from venue.gateway.auth import (
    AuthResult,
    ReplayGuard,
    authenticate,
    hash_password,
    logon_signature_payload,
    public_key_b64,
    sign_logon,
    verify_password,
)

# --- The test vector quoted by the Rules of Engagement. Do not change without changing both. ---
VECTOR_SEED = bytes(range(32))  # Ed25519 private key seed 00 01 02 ... 1f
VECTOR_PUBLIC_KEY = "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="
VECTOR_SENDER, VECTOR_TARGET, VECTOR_SEQ = "ALPHA-TRD", "VENUE", 1
VECTOR_SENDING_TIME = "20261121-06:30:00.000"
VECTOR_PAYLOAD = b"A\x01ALPHA-TRD\x01VENUE\x011\x0120261121-06:30:00.000"
VECTOR_SIGNATURE = (
    b"84saAOV2rs72QjLPRbS9EQXTgB5BgMr3cNmO0VVw+yQj5BPtzJdKg4nlY/lGK7rPvlqf06Qc6bl53CEA9OIkAw=="
)

KEY = Ed25519PrivateKey.from_private_bytes(VECTOR_SEED)
T0 = 1_795_242_600_000_000_000  # 2026-11-21 06:30:00 UTC, the vector's SendingTime
SECOND = 1_000_000_000


class Logon:
    """A stand-in for FixMessage: only `.get(tag)` is used by `authenticate`."""

    def __init__(self, fields: dict[int, bytes]) -> None:
        self.fields = fields

    def get(self, tag: int, /) -> bytes | None:
        return self.fields.get(tag)


def session(**auth: str) -> SessionConfig:
    return SessionConfig(
        name="alpha-trading",
        role="trading",
        venue_comp_id="VENUE",
        client_comp_id="ALPHA-TRD",
        firm="ALPHA",
        allowed_addresses=["127.0.0.0/8", "::1/128", "198.51.100.0/24"],
        auth=AuthConfig(**auth),  # type: ignore[arg-type]
    )


ED = session(method="ed25519", public_key=VECTOR_PUBLIC_KEY)


def signed_logon(
    *,
    key: Ed25519PrivateKey = KEY,
    seq: int = 1,
    ts_ns: int = T0,
    sender: str = "ALPHA-TRD",
    target: str = "VENUE",
) -> Logon:
    sending_time = format_utc_timestamp(ts_ns)
    signature = sign_logon(key, sender, target, seq, sending_time)
    return Logon(
        {
            35: b"A",
            49: sender.encode(),
            56: target.encode(),
            34: str(seq).encode(),
            52: sending_time,
            95: str(len(signature)).encode(),
            96: signature,
            98: b"0",
            108: b"30",
        }
    )


def check(
    logon: Logon, *, now: int = T0, peer: str = "127.0.0.1", guard: ReplayGuard | None = None
) -> AuthResult:
    return authenticate(ED, logon, peer, now, replay_guard=guard or ReplayGuard())


def rejected(result: AuthResult, reason_part: str) -> bool:
    return not result.ok and reason_part in result.reason


# --- the test vector ------------------------------------------------------------------------


def test_vector_payload_signature_and_public_key() -> None:
    assert public_key_b64(KEY) == VECTOR_PUBLIC_KEY
    payload = logon_signature_payload(VECTOR_SENDER, VECTOR_TARGET, VECTOR_SEQ, VECTOR_SENDING_TIME)
    assert payload == VECTOR_PAYLOAD
    assert (
        base64.b64encode(KEY.sign(VECTOR_PAYLOAD)) == VECTOR_SIGNATURE
    )  # Ed25519 is deterministic
    sig = sign_logon(KEY, VECTOR_SENDER, VECTOR_TARGET, VECTOR_SEQ, VECTOR_SENDING_TIME)
    assert sig == VECTOR_SIGNATURE
    assert len(sig) == 88  # RawDataLength (95)
    KEY.public_key().verify(base64.b64decode(VECTOR_SIGNATURE), VECTOR_PAYLOAD)
    assert format_utc_timestamp(T0).decode() == VECTOR_SENDING_TIME


def test_vector_logon_is_accepted() -> None:
    logon = Logon(
        {
            35: b"A",
            49: b"ALPHA-TRD",
            56: b"VENUE",
            34: b"1",
            52: VECTOR_SENDING_TIME.encode(),
            95: b"88",
            96: VECTOR_SIGNATURE,
        }
    )
    assert check(logon) == AuthResult(ok=True, reason="")


# --- Ed25519 --------------------------------------------------------------------------------


def test_a_valid_signature_through_the_real_codec_is_accepted() -> None:
    sending_time = format_utc_timestamp(T0 + 5 * SECOND)
    sig = sign_logon(KEY, "ALPHA-TRD", "VENUE", 7, sending_time)
    frame = encode(
        b"A",
        begin_string=b"FIX.4.4",
        sender=b"ALPHA-TRD",
        target=b"VENUE",
        seq=7,
        sending_time=sending_time,
        body=[(98, b"0"), (108, b"30"), (95, b"%d" % len(sig)), (96, sig)],
    )
    (msg,) = Framer().feed(frame)
    assert isinstance(msg, FixMessage)
    assert check(msg, now=T0) == AuthResult(ok=True, reason="")  # type: ignore[arg-type]


def test_wrong_key_is_rejected() -> None:
    other = Ed25519PrivateKey.from_private_bytes(bytes(32))
    assert rejected(check(signed_logon(key=other)), "signature invalid")


@pytest.mark.parametrize(
    ("tag", "value"),
    [(34, b"2"), (52, b"20261121-06:30:00.001"), (35, b"A")],
)
def test_a_tampered_signed_field_is_rejected(tag: int, value: bytes) -> None:
    logon = signed_logon()
    if tag == 35:  # MsgType cannot change without changing the message: tamper the signature
        sig = bytearray(base64.b64decode(logon.fields[96]))
        sig[0] ^= 1
        logon.fields[96] = base64.b64encode(bytes(sig))
    else:
        logon.fields[tag] = value
    assert rejected(check(logon), "signature invalid")


def test_compids_other_than_the_sessions_are_rejected() -> None:
    # Correctly signed by the key, but for another CompID pair: bound to the session's CompIDs.
    assert rejected(check(signed_logon(sender="BRAVO-TRD")), "CompIDs do not match")
    assert rejected(check(signed_logon(target="OTHER")), "CompIDs do not match")


@pytest.mark.parametrize("offset", [-31 * SECOND, -3600 * SECOND])
def test_stale_sending_time_is_rejected(offset: int) -> None:
    result = check(signed_logon(ts_ns=T0 + offset), now=T0)
    assert result == AuthResult(
        ok=False, reason="SendingTime outside the logon window", credentials=True
    )


@pytest.mark.parametrize(
    "offset", [5 * SECOND + 1_000_000, 25 * SECOND, 30 * SECOND, 86400 * SECOND]
)
def test_sending_time_more_than_5_s_ahead_is_rejected(offset: int) -> None:
    """RoE section 2: at most 5 s ahead. A Logon stamped 25 s ahead, once accepted, made every
    genuine Logon of the next 25 s look replayed (the client locked out)."""
    guard = ReplayGuard()
    result = check(signed_logon(ts_ns=T0 + offset), now=T0, guard=guard)
    assert rejected(result, "ahead of the venue's clock")
    assert guard.last_accepted("alpha-trading") is None
    assert check(signed_logon(ts_ns=T0 + SECOND), now=T0 + SECOND, guard=guard).ok


@pytest.mark.parametrize("offset", [-30 * SECOND, 5 * SECOND, 0])
def test_sending_time_at_the_edge_of_the_window_is_accepted(offset: int) -> None:
    assert check(signed_logon(ts_ns=T0 + offset), now=T0).ok


def test_a_seeded_guard_refuses_the_logon_accepted_before_a_restart() -> None:
    saved: list[tuple[str, int, int]] = []
    before = ReplayGuard(on_accept=lambda *pair: saved.append(pair))
    logon = signed_logon(seq=7, ts_ns=T0)
    assert check(logon, now=T0, guard=before).ok
    assert saved == [("alpha-trading", T0, 7)]
    after = ReplayGuard()  # a new process: only what was saved
    after.seed({name: (ts, seq) for name, ts, seq in saved})
    assert rejected(check(logon, now=T0 + 2 * SECOND, guard=after), "replayed")
    after.seed({"alpha-trading": (T0 - SECOND, 1)})  # an older saved pair never moves it back
    assert after.last_accepted("alpha-trading") == (T0, 7)
    assert check(signed_logon(seq=1, ts_ns=T0 + SECOND), now=T0 + 2 * SECOND, guard=after).ok


def test_the_window_is_a_parameter() -> None:
    logon = signed_logon(ts_ns=T0 - 10 * SECOND)
    assert authenticate(
        ED, logon, "127.0.0.1", T0, window_ns=5 * SECOND, replay_guard=ReplayGuard()
    ).reason == ("SendingTime outside the logon window")


def test_a_replayed_logon_within_the_window_is_rejected() -> None:
    guard = ReplayGuard()
    logon = signed_logon(seq=1, ts_ns=T0)
    assert check(logon, now=T0, guard=guard).ok
    assert rejected(check(logon, now=T0 + SECOND, guard=guard), "replayed")
    # an older (captured earlier) Logon is refused too, even if still inside the window
    older = signed_logon(seq=5, ts_ns=T0 - 2 * SECOND)
    assert rejected(check(older, now=T0 + SECOND, guard=guard), "replayed")
    # a new Logon with a later SendingTime is fine, even with the sequence number reset to 1
    assert check(signed_logon(seq=1, ts_ns=T0 + 2 * SECOND), now=T0 + 2 * SECOND, guard=guard).ok
    # same SendingTime, higher MsgSeqNum: a different Logon, accepted
    assert check(signed_logon(seq=2, ts_ns=T0 + 2 * SECOND), now=T0 + 2 * SECOND, guard=guard).ok
    assert guard.last_accepted("alpha-trading") == (T0 + 2 * SECOND, 2)


def test_a_rejected_logon_does_not_advance_the_replay_guard() -> None:
    guard = ReplayGuard()
    forged = signed_logon(key=Ed25519PrivateKey.generate(), ts_ns=T0 + 10 * SECOND)
    assert not check(forged, now=T0, guard=guard).ok
    assert guard.last_accepted("alpha-trading") is None
    assert check(signed_logon(ts_ns=T0), now=T0, guard=guard).ok


def test_the_default_replay_guard_is_used_when_none_is_given() -> None:
    logon = signed_logon(seq=3, ts_ns=T0 + 17 * SECOND)
    assert authenticate(ED, logon, "127.0.0.1", T0 + 17 * SECOND).ok
    assert "replayed" in authenticate(ED, logon, "127.0.0.1", T0 + 17 * SECOND).reason


@pytest.mark.parametrize("missing", [95, 96])
def test_missing_raw_data_fields_are_rejected(missing: int) -> None:
    logon = signed_logon()
    del logon.fields[missing]
    assert rejected(check(logon), "signature missing")


def test_bad_base64_is_rejected() -> None:
    logon = signed_logon()
    bad = b"!" + logon.fields[96][1:]
    logon.fields[96] = bad
    assert check(logon) == AuthResult(
        ok=False, reason="signature is not valid base64", credentials=True
    )


def test_base64_of_the_wrong_length_is_rejected() -> None:
    logon = signed_logon()
    short = base64.b64encode(b"x" * 63)
    logon.fields[96], logon.fields[95] = short, str(len(short)).encode()
    assert rejected(check(logon), "signature invalid")


@pytest.mark.parametrize("length", [b"87", b"89", b"0", b"-88", b"x", b""])
def test_raw_data_length_mismatch_is_rejected(length: bytes) -> None:
    logon = signed_logon()
    logon.fields[95] = length
    assert rejected(check(logon), "RawDataLength (95) does not match")


@pytest.mark.parametrize(
    ("tag", "value", "reason"),
    [
        (52, None, "SendingTime (52) missing"),
        (52, b"2026-11-21 06:30:00", "SendingTime (52) missing or invalid"),
        (52, b"20261321-06:30:00", "SendingTime (52) missing or invalid"),
        (34, None, "MsgSeqNum (34) missing"),
        (34, b"one", "MsgSeqNum (34) missing or invalid"),
    ],
)
def test_missing_or_bad_header_fields_are_rejected(
    tag: int, value: bytes | None, reason: str
) -> None:
    logon = signed_logon()
    if value is None:
        del logon.fields[tag]
    else:
        logon.fields[tag] = value
    assert rejected(check(logon), reason)


def test_not_a_logon_is_rejected() -> None:
    logon = signed_logon()
    logon.fields[35] = b"D"
    assert check(logon) == AuthResult(ok=False, reason="not a Logon")


def test_reasons_never_contain_secrets() -> None:
    logon = signed_logon(key=Ed25519PrivateKey.generate())
    result = check(logon)
    assert not result.ok
    for secret in (logon.fields[96].decode(), VECTOR_PUBLIC_KEY):
        assert secret not in result.reason


# --- addresses and "none" -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("peer", "ok"),
    [
        ("127.0.0.1", True),
        ("127.5.6.7", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("198.51.100.77", True),
        ("::ffff:198.51.100.77", True),
        ("198.51.101.1", False),
        ("10.0.0.1", False),
        ("2001:db8::1", False),
        ("not-an-address", False),
        ("", False),
    ],
)
def test_allowed_addresses(peer: str, ok: bool) -> None:
    result = check(signed_logon(), peer=peer)
    assert result.ok is ok
    if not ok:
        assert result.reason == "address not allowed"


def test_method_none_is_accepted_from_loopback_only() -> None:
    open_session = msgspec.structs.replace(
        session(method="none"), allowed_addresses=["0.0.0.0/0", "::/0"]
    )  # config.py refuses this; authenticate must refuse it too
    logon = Logon({35: b"A", 49: b"ALPHA-TRD", 56: b"VENUE", 34: b"1", 52: b"20261121-06:30:00"})
    assert authenticate(open_session, logon, "127.0.0.1", T0).ok
    assert authenticate(open_session, logon, "::1", T0).ok
    result = authenticate(open_session, logon, "198.51.100.1", T0)
    assert result == AuthResult(ok=False, reason="session allowed from loopback only")


def test_a_disabled_session_is_refused() -> None:
    disabled = msgspec.structs.replace(ED, enabled=False)
    assert authenticate(disabled, signed_logon(), "127.0.0.1", T0).reason == "session disabled"


# --- passwords ------------------------------------------------------------------------------

FAST = {"n": 2**4, "r": 8, "p": 1}  # cheap scrypt for tests; the default is N=2**14


@pytest.fixture(scope="module")
def password_session() -> SessionConfig:
    return session(method="password", password_hash=hash_password("correct horse", **FAST))


def password_logon(password: bytes | None, username: bytes | None = None) -> Logon:
    fields = {35: b"A", 49: b"ALPHA-TRD", 56: b"VENUE", 34: b"1", 52: b"20261121-06:30:00"}
    if password is not None:
        fields[554] = password
    if username is not None:
        fields[553] = username
    return Logon(fields)


def test_hash_password_format_and_verify() -> None:
    stored = hash_password("s3cret", n=2**4)
    scheme, n, r, p, salt, digest = stored.split("$")
    assert (scheme, n, r, p) == ("scrypt", "16", "8", "1")
    assert len(base64.b64decode(salt)) == 16
    assert len(base64.b64decode(digest)) == 32
    assert verify_password(b"s3cret", stored)
    assert not verify_password(b"s3cret ", stored)
    assert hash_password("s3cret", n=2**4) != stored  # fresh salt every time
    # the default cost works too and loads through config validation
    default = hash_password("x")
    assert default.startswith("scrypt$16384$8$1$")
    assert verify_password(b"x", default)


@pytest.mark.parametrize(
    "stored",
    [
        "",
        "scrypt$16$8$1$AAAA",
        "bcrypt$16$8$1$AAAA$AAAA",
        "scrypt$x$8$1$AAAA$AAAA",
        "scrypt$15$8$1$AAAA$AAAA",
        "scrypt$16$8$1$!!$AAAA",
    ],
)
def test_verify_password_with_a_malformed_hash_is_false(stored: str) -> None:
    assert verify_password(b"anything", stored) is False


def test_good_password_is_accepted(password_session: SessionConfig) -> None:
    assert authenticate(password_session, password_logon(b"correct horse"), "127.0.0.1", T0).ok
    for user in (b"alpha-trading", b"ALPHA-TRD"):
        assert authenticate(
            password_session, password_logon(b"correct horse", user), "198.51.100.2", T0
        ).ok


def test_bad_password_is_rejected(password_session: SessionConfig) -> None:
    result = authenticate(password_session, password_logon(b"correct horsE"), "127.0.0.1", T0)
    assert result == AuthResult(ok=False, reason="password invalid", credentials=True)
    result = authenticate(password_session, password_logon(b"x" * 5000), "127.0.0.1", T0)
    assert result == AuthResult(ok=False, reason="password invalid", credentials=True)


def test_missing_password_is_rejected(password_session: SessionConfig) -> None:
    for logon in (password_logon(None), password_logon(b"")):
        result = authenticate(password_session, logon, "127.0.0.1", T0)
        assert result == AuthResult(ok=False, reason="Password (554) missing", credentials=True)


def test_wrong_username_is_rejected(password_session: SessionConfig) -> None:
    result = authenticate(
        password_session, password_logon(b"correct horse", b"BRAVO-TRD"), "127.0.0.1", T0
    )
    assert result == AuthResult(
        ok=False, reason="Username does not match the session", credentials=True
    )


def test_password_session_checks_the_address_first(password_session: SessionConfig) -> None:
    result = authenticate(password_session, password_logon(b"correct horse"), "10.1.1.1", T0)
    assert result == AuthResult(ok=False, reason="address not allowed", credentials=False)


# --- properties -----------------------------------------------------------------------------

SIGNED_TAGS = [35, 49, 56, 34, 52, 95, 96]


@settings(max_examples=300, deadline=None)
@given(tag=st.sampled_from(SIGNED_TAGS), data=st.data())
def test_any_change_to_a_signed_field_or_the_signature_is_rejected(
    tag: int, data: st.DataObject
) -> None:
    logon = signed_logon()
    original = logon.fields[tag]
    new = data.draw(st.binary(max_size=120).filter(lambda b: b != original), label="value")
    logon.fields[tag] = new
    assert not check(logon).ok


@settings(max_examples=300, deadline=None)
@given(
    fields=st.dictionaries(
        st.sampled_from([*SIGNED_TAGS, 553, 554]), st.binary(max_size=200), max_size=9
    ),
    peer=st.one_of(
        st.sampled_from(["127.0.0.1", "::1", "::ffff:127.0.0.1", "fe80::1%eth0"]),
        st.text(max_size=40),
    ),
    now=st.integers(min_value=-(2**63), max_value=2**63),
)
def test_authenticate_never_raises(fields: dict[int, bytes], peer: str, now: int) -> None:
    for method_session in (ED, session(method="password", password_hash="scrypt$16$8$1$AAAA$AAAA")):
        result = authenticate(method_session, Logon(fields), peer, now, replay_guard=ReplayGuard())
        assert isinstance(result.ok, bool)
        assert result.ok is False or fields.get(35) == b"A"
