"""Logon authentication: Ed25519-signed Logons, scrypt passwords, loopback-only sessions.

`authenticate` is a pure decision over (session file, Logon, peer address, now): it reads no clock
and does no I/O. The only state it touches is the `ReplayGuard` it is given (or the process-wide
`DEFAULT_REPLAY_GUARD`), and it changes that only when it accepts a Logon.

Invariants:
- A Logon is accepted only if the session is enabled, the peer address is inside one of the
  session's `allowed_addresses`, the Logon's CompIDs are the session's, and the session's method
  succeeds: "ed25519" (a valid signature), "password" (the scrypt hash matches), or "none"
  (the peer is a loopback address; config.py also refuses "none" with a non-loopback network).
- Ed25519: the signature is base64 text in RawData (96) with RawDataLength (95) equal to the
  length of that text. It signs `logon_signature_payload`, the SOH-joined values of MsgType (35),
  SenderCompID (49), TargetCompID (56), MsgSeqNum (34) and SendingTime (52):
  b"A\\x01SENDER\\x01TARGET\\x01SEQ\\x01SENDINGTIME".
- Replay: a signed Logon is accepted only if its SendingTime is at most `window_ns` (default
  30 s) behind `now_ns` and at most `ahead_ns` (default 5 s) ahead of it, AND its
  (SendingTime, MsgSeqNum) is strictly greater than that of the last Logon accepted for the
  same session (compared as a pair, SendingTime first). A captured Logon is therefore useless
  after 30 s, and useless at once inside those 30 s because the legitimate Logon it copies was
  already accepted. The short forward bound keeps a Logon stamped in the future (which would
  make every later genuine Logon look older, locking the client out) from being accepted.
  A client that reconnects must send a new Logon with a later SendingTime (a fresh timestamp
  always is). The guard's `on_accept` hook lets the gateway journal each accepted pair in the
  batch that answers the Logon, and `seed` gives the saved pairs back at start-up, so the guard
  holds across a restart. Password Logons are not signed, so the guard does not apply to them:
  use TLS.
- Reasons returned in `AuthResult.reason` are short texts fit for a Logout's Text (58); they
  never contain a key, a hash, a password or the received signature.
- Passwords are compared with `hmac.compare_digest` on scrypt outputs (constant time).
  scrypt costs ~50 ms at N=2**14: a caller on an event loop runs `authenticate` for password
  sessions on other threads (the gateway: `logon_limits.PasswordChecks`).
- `FailureLimiter` keeps integer state only, at most `max_addresses` keys (least recently
  failed evicted first), and reads no clock. `venue.gateway.logon_limits` keys it by session
  and by (session, address).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import os
import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from venue.config import SessionConfig
from venue.fix.codec import parse_utc_timestamp

__all__ = [
    "DEFAULT_REPLAY_GUARD",
    "AuthResult",
    "FailureLimiter",
    "LogonFields",
    "ReplayGuard",
    "authenticate",
    "hash_password",
    "load_private_key",
    "logon_signature_payload",
    "public_key_b64",
    "sign_logon",
    "verify_password",
]

DEFAULT_WINDOW_NS = 30 * 10**9  # how far behind the venue's clock a signed Logon may be
DEFAULT_AHEAD_NS = 5 * 10**9  # how far ahead of it (RoE section 2)
_MAX_PASSWORD_BYTES = 1024
_MAX_RAW_DATA = 512  # a base64 Ed25519 signature is 88 characters
_DIGITS = re.compile(rb"^[0-9]{1,18}$")

TAG_MSG_TYPE = 35
TAG_SENDER_COMP_ID = 49
TAG_TARGET_COMP_ID = 56
TAG_MSG_SEQ_NUM = 34
TAG_SENDING_TIME = 52
TAG_RAW_DATA_LENGTH = 95
TAG_RAW_DATA = 96
TAG_USERNAME = 553
TAG_PASSWORD = 554


class LogonFields(Protocol):
    """What `authenticate` needs of a decoded Logon (`venue.fix.codec.FixMessage` fits)."""

    def get(self, tag: int, /) -> bytes | None: ...


@dataclass(frozen=True, slots=True)
class AuthResult:
    ok: bool
    reason: str  # "" when ok; otherwise a short text for Logout Text (58)
    # a failure of the credentials themselves (password, signature, its time or replay), as
    # opposed to one decided before they were looked at (disabled, address, CompIDs)
    credentials: bool = False


_OK = AuthResult(ok=True, reason="")


def _fail(reason: str) -> AuthResult:
    return AuthResult(ok=False, reason=reason)


# ---------------------------------------------------------------------------------------------
# Replay guard


class ReplayGuard:
    """The last accepted (SendingTime ns, MsgSeqNum) of each session, by session name.

    Memory is bounded by the number of configured sessions (keys are session names).
    `on_accept(session, ts_sending, msg_seq_num)` is called for every accepted pair (the gateway
    journals it); `seed` restores saved pairs without calling it.
    """

    __slots__ = ("_last", "_on_accept")

    def __init__(self, on_accept: Callable[[str, int, int], None] | None = None) -> None:
        self._last: dict[str, tuple[int, int]] = {}
        self._on_accept = on_accept

    def seed(self, pairs: Mapping[str, tuple[int, int]]) -> None:
        """Restore saved (SendingTime ns, MsgSeqNum) pairs (never moving one backwards)."""
        for name, pair in pairs.items():
            last = self._last.get(name)
            if last is None or pair > last:
                self._last[name] = pair

    def is_fresh(self, session_name: str, ts_sending: int, msg_seq_num: int) -> bool:
        last = self._last.get(session_name)
        return last is None or (ts_sending, msg_seq_num) > last

    def accept(self, session_name: str, ts_sending: int, msg_seq_num: int) -> None:
        if self._on_accept is not None:
            self._on_accept(session_name, ts_sending, msg_seq_num)
        self._last[session_name] = (ts_sending, msg_seq_num)

    def last_accepted(self, session_name: str) -> tuple[int, int] | None:
        return self._last.get(session_name)


DEFAULT_REPLAY_GUARD = ReplayGuard()


# ---------------------------------------------------------------------------------------------
# Helpers


def _as_bytes(value: str | bytes | int) -> bytes:
    if isinstance(value, bytes):
        return value
    return str(value).encode("ascii")


def logon_signature_payload(
    sender_comp_id: str | bytes,
    target_comp_id: str | bytes,
    msg_seq_num: int | str | bytes,
    sending_time: str | bytes,
    *,
    msg_type: str | bytes = b"A",
) -> bytes:
    """The bytes an Ed25519 Logon signs: values of 35, 49, 56, 34, 52 joined by SOH.

    Values are exactly as they appear on the wire (MsgSeqNum as its decimal text, SendingTime
    as sent, e.g. b"20261121-06:30:00.123").
    """
    return b"\x01".join(
        (
            _as_bytes(msg_type),
            _as_bytes(sender_comp_id),
            _as_bytes(target_comp_id),
            _as_bytes(msg_seq_num),
            _as_bytes(sending_time),
        )
    )


def sign_logon(
    private_key: Ed25519PrivateKey,
    sender_comp_id: str | bytes,
    target_comp_id: str | bytes,
    msg_seq_num: int | str | bytes,
    sending_time: str | bytes,
) -> bytes:
    """Base64 signature for RawData (96); RawDataLength (95) is `len()` of the result."""
    payload = logon_signature_payload(sender_comp_id, target_comp_id, msg_seq_num, sending_time)
    return base64.b64encode(private_key.sign(payload))


def public_key_b64(private_key: Ed25519PrivateKey) -> str:
    """The session file's `auth.public_key` value for this private key (base64, 32 raw bytes)."""
    raw = private_key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return base64.b64encode(raw).decode("ascii")


def load_private_key(pem: bytes) -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM (PKCS#8, unencrypted), as `tools/keygen.py` writes."""
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 private key")
    return key


@lru_cache(maxsize=1024)
def _public_key(b64: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(b64, validate=True))


def hash_password(password: str, *, n: int = 2**14, r: int = 8, p: int = 1) -> str:
    """`scrypt$N$r$p$salt_b64$hash_b64` with a fresh 16-byte salt and a 32-byte hash."""
    salt = os.urandom(16)
    digest = _scrypt(password.encode("utf-8"), salt, n, r, p)
    return "$".join(
        (
            "scrypt",
            str(n),
            str(r),
            str(p),
            base64.b64encode(salt).decode("ascii"),
            base64.b64encode(digest).decode("ascii"),
        )
    )


def _scrypt(password: bytes, salt: bytes, n: int, r: int, p: int, *, dklen: int = 32) -> bytes:
    maxmem = 128 * r * (n + p + 2) + 1024 * 1024  # what scrypt needs, plus headroom
    return hashlib.scrypt(password, salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=dklen)


def verify_password(password: bytes, stored: str) -> bool:
    """True if `password` matches the `scrypt$N$r$p$salt$hash` string (constant-time compare)."""
    try:
        scheme, n_s, r_s, p_s, salt_b64, hash_b64 = stored.split("$")
        if scheme != "scrypt":
            return False
        n, r, p = int(n_s), int(r_s), int(p_s)
        salt = base64.b64decode(salt_b64, validate=True)
        expected = base64.b64decode(hash_b64, validate=True)
        if not expected or len(password) > _MAX_PASSWORD_BYTES:
            return False
        actual = _scrypt(password, salt, n, r, p, dklen=len(expected))
    except (ValueError, binascii.Error, MemoryError):
        return False
    return hmac.compare_digest(actual, expected)


# ---------------------------------------------------------------------------------------------
# Addresses


def _peer_address(peer_ip: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        addr = ipaddress.ip_address(peer_ip.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


@lru_cache(maxsize=1024)
def _networks(
    allowed: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(n, strict=False) for n in allowed)


def address_allowed(session: SessionConfig, peer_ip: str) -> bool:
    addr = _peer_address(peer_ip)
    if addr is None:
        return False
    return any(addr in net for net in _networks(tuple(session.allowed_addresses)))


def _is_loopback(peer_ip: str) -> bool:
    addr = _peer_address(peer_ip)
    return addr is not None and addr.is_loopback


# ---------------------------------------------------------------------------------------------
# The decision


def authenticate(
    session: SessionConfig,
    logon: LogonFields,
    peer_ip: str,
    now_ns: int,
    *,
    window_ns: int = DEFAULT_WINDOW_NS,
    ahead_ns: int = DEFAULT_AHEAD_NS,
    replay_guard: ReplayGuard | None = None,
) -> AuthResult:
    """Decide whether `logon`, received from `peer_ip` at `now_ns`, may log on to `session`.

    `replay_guard` defaults to the process-wide `DEFAULT_REPLAY_GUARD`; tests pass their own.
    """
    if not session.enabled:
        return _fail("session disabled")
    if not address_allowed(session, peer_ip):
        return _fail("address not allowed")
    if logon.get(TAG_MSG_TYPE) != b"A":
        return _fail("not a Logon")
    sender = logon.get(TAG_SENDER_COMP_ID)
    target = logon.get(TAG_TARGET_COMP_ID)
    if sender != session.client_comp_id.encode() or target != session.venue_comp_id.encode():
        return _fail("CompIDs do not match the session")
    method = session.auth.method
    if method == "none":
        return _OK if _is_loopback(peer_ip) else _fail("session allowed from loopback only")
    if method == "password":
        result = _check_password(session, logon)
    else:  # method "ed25519"
        guard = DEFAULT_REPLAY_GUARD if replay_guard is None else replay_guard
        result = _check_signature(session, logon, now_ns, (window_ns, ahead_ns), guard)
    return result if result.ok else AuthResult(ok=False, reason=result.reason, credentials=True)


def _check_password(session: SessionConfig, logon: LogonFields) -> AuthResult:
    username = logon.get(TAG_USERNAME)
    if username is not None and username.decode("latin-1") not in (
        session.name,
        session.client_comp_id,
    ):
        return _fail("Username does not match the session")
    password = logon.get(TAG_PASSWORD)
    if not password:
        return _fail("Password (554) missing")
    stored = session.auth.password_hash
    if stored is None or not verify_password(password, stored):
        return _fail("password invalid")
    return _OK


def _check_signature(
    session: SessionConfig,
    logon: LogonFields,
    now_ns: int,
    window: tuple[int, int],
    guard: ReplayGuard,
) -> AuthResult:
    raw_len = logon.get(TAG_RAW_DATA_LENGTH)
    raw = logon.get(TAG_RAW_DATA)
    if raw_len is None or raw is None:
        return _fail("signature missing: RawDataLength (95) and RawData (96) required")
    if not _DIGITS.match(raw_len) or int(raw_len) != len(raw):
        return _fail("RawDataLength (95) does not match RawData (96)")
    if len(raw) > _MAX_RAW_DATA:
        return _fail("signature invalid")
    try:
        signature = base64.b64decode(raw, validate=True)
    except (ValueError, binascii.Error):
        return _fail("signature is not valid base64")
    if len(signature) != 64:
        return _fail("signature invalid")
    seq_text = logon.get(TAG_MSG_SEQ_NUM)
    sending_time = logon.get(TAG_SENDING_TIME)
    if seq_text is None or not _DIGITS.match(seq_text):
        return _fail("MsgSeqNum (34) missing or invalid")
    ts_sending = parse_utc_timestamp(sending_time) if sending_time is not None else None
    if sending_time is None or ts_sending is None:
        return _fail("SendingTime (52) missing or invalid")
    behind_ns, ahead_ns = window
    if ts_sending - now_ns > ahead_ns:
        return _fail("SendingTime ahead of the venue's clock: check the client's clock")
    if now_ns - ts_sending > behind_ns:
        return _fail("SendingTime outside the logon window")
    payload = logon_signature_payload(
        session.client_comp_id, session.venue_comp_id, seq_text, sending_time
    )
    public_key = session.auth.public_key
    if public_key is None:  # pragma: no cover - config.py requires it for "ed25519"
        return _fail("session has no public key")
    try:
        _public_key(public_key).verify(signature, payload)
    except (InvalidSignature, ValueError):
        return _fail("signature invalid")
    seq = int(seq_text)
    if not guard.is_fresh(session.name, ts_sending, seq):
        return _fail("Logon replayed: SendingTime must be later than the last Logon")
    guard.accept(session.name, ts_sending, seq)
    return _OK


# ---------------------------------------------------------------------------------------------
# Failed-logon back-off


class FailureLimiter:
    """Exponential back-off per key (an address, a session, ...) after failed Logons.

    After k recent failures of a key, `delay_for` is `base * 2**(k-1)` seconds, capped at
    `max_delay`. One failure is forgotten every `decay` since the last failure. At most
    `max_addresses` keys are tracked; the least recently failed is evicted first (so a flood
    from many addresses costs bounded memory; it can only shorten others' back-off).
    """

    __slots__ = ("_base_ns", "_decay_ns", "_entries", "_max_addresses", "_max_delay_ns")

    def __init__(
        self,
        *,
        base_delay_ns: int = 500_000_000,
        max_delay_ns: int = 30 * 10**9,
        decay_ns: int = 60 * 10**9,
        max_addresses: int = 10_000,
    ) -> None:
        if base_delay_ns < 0 or max_delay_ns < base_delay_ns or decay_ns < 1 or max_addresses < 1:
            raise ValueError("need 0 <= base <= max delay, decay >= 1, max_addresses >= 1")
        self._base_ns = base_delay_ns
        self._max_delay_ns = max_delay_ns
        self._decay_ns = decay_ns
        self._max_addresses = max_addresses
        # ip -> (failures, ts of the last failure); ordered least recently failed first
        self._entries: OrderedDict[str, tuple[int, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def _failures(self, ip: str, now_ns: int) -> int:
        entry = self._entries.get(ip)
        if entry is None:
            return 0
        failures, ts_last = entry
        return max(0, failures - max(0, now_ns - ts_last) // self._decay_ns)

    def record_failure(self, ip: str, now_ns: int) -> None:
        failures = min(self._failures(ip, now_ns) + 1, 64)
        self._entries[ip] = (failures, now_ns)
        self._entries.move_to_end(ip)
        while len(self._entries) > self._max_addresses:
            self._entries.popitem(last=False)

    def record_success(self, ip: str) -> None:
        self._entries.pop(ip, None)

    def delay_ns(self, ip: str, now_ns: int) -> int:
        failures = self._failures(ip, now_ns)
        if failures == 0:
            if ip in self._entries:
                del self._entries[ip]  # fully decayed: forget it
            return 0
        return min(self._base_ns << min(failures - 1, 62), self._max_delay_ns)

    def delay_for(self, ip: str, now_ns: int) -> float:
        """Seconds to wait before answering (or accepting) the next Logon from `ip`."""
        return self.delay_ns(ip, now_ns) / 1e9
