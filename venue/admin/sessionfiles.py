"""`venue-admin session add` and `session rotate-key`: session files and their credentials.

These write files only. The running venue loads `sessions/*.toml` at start-up: an added session
takes effect at the next restart; a rotated key (or changed addresses) of an existing session
with `venue-admin session reload NAME`, which re-reads its file into the running gateway.

Invariants:
- A private key is created with mode 0600 from the first instant (O_CREAT|O_EXCL, never
  overwriting a file); nothing secret is printed; the public key is base64 of the raw 32 bytes,
  the password hash `scrypt$N$r$p$salt$hash`, the formats `venue.gateway.auth` checks (this
  module cannot import the gateway: see the import contracts, so the few lines are repeated).
- A session file is written atomically (temporary file, then rename) and checked with
  `venue.config.load_session_file` (and against the venue configuration when one is given)
  before it replaces anything; a file that would not load is never left behind.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
from pathlib import Path

import msgspec
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from venue.config import ConfigError, VenueConfig, load_session_file, validate

__all__ = [
    "SessionFileError",
    "add_session",
    "hash_password",
    "rotate_key",
    "write_ed25519_key",
]

_PUBLIC_KEY_LINE = re.compile(r'^(\s*public_key\s*=\s*)"[^"]*"', re.MULTILINE)


class SessionFileError(Exception):
    """A session file cannot be written as asked (exists, invalid, wrong auth method)."""


def write_ed25519_key(path: Path) -> str:
    """Create a new private key at `path` (PEM PKCS#8, 0600, must not exist); return the
    base64 raw public key."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise SessionFileError(f"{path}: already exists; not overwriting a key") from None
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    os.chmod(path, 0o600)
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode("ascii")


def hash_password(password: str, *, n: int = 2**14, r: int = 8, p: int = 1) -> str:
    salt = os.urandom(16)
    maxmem = 128 * r * (n + p + 2) + 1024 * 1024
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=32
    )
    b64 = base64.b64encode
    return f"scrypt${n}${r}${p}${b64(salt).decode()}${b64(digest).decode()}"


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


def session_toml(
    *,
    role: str,
    venue_comp_id: str,
    client_comp_id: str,
    firm: str,
    accounts: list[str],
    allowed_addresses: list[str],
    auth_method: str,
    public_key: str | None = None,
    password_hash: str | None = None,
    operator: str = "",
) -> str:
    lines = [
        f"# Written by venue-admin session add{f' ({operator})' if operator else ''}.",
        f"role = {json.dumps(role)}",
        f"venue_comp_id = {json.dumps(venue_comp_id)}",
        f"client_comp_id = {json.dumps(client_comp_id)}",
        f"firm = {json.dumps(firm)}",
        f"accounts = {_toml_list(accounts)}",
    ]
    if role == "dropcopy":
        lines.append(f"dropcopy_firms = {_toml_list([firm])}")
        lines.append("cancel_on_disconnect = false")
    lines += [f"allowed_addresses = {_toml_list(allowed_addresses)}", "", "[auth]"]
    lines.append(f"method = {json.dumps(auth_method)}")
    if public_key is not None:
        lines.append(f"public_key = {json.dumps(public_key)}")
    if password_hash is not None:
        lines.append(f"password_hash = {json.dumps(password_hash)}")
    return "\n".join(lines) + "\n"


def _check(path: Path, text: str, venue: VenueConfig | None, *, replacing: bool) -> None:
    """Write `text` to a temporary file next to `path`, load it, then move it into place."""
    tmp = path.with_name(f"{path.name}.new")  # not *.toml: a starting venue never loads it
    tmp.write_text(text)
    try:
        session = load_session_file(tmp)
        session = msgspec.structs.replace(session, name=path.stem, source=str(path))
        if venue is not None:
            others = [s for s in venue.sessions if s.name != session.name]
            if not replacing and len(others) != len(venue.sessions):
                raise SessionFileError(f"session {session.name} already exists")
            validate(msgspec.structs.replace(venue, sessions=[*others, session]))
    except ConfigError as exc:
        tmp.unlink()
        raise SessionFileError(f"the new session file would not load: {exc.reason}") from None
    except BaseException:
        tmp.unlink()
        raise
    tmp.replace(path)


def add_session(
    sessions_dir: Path,
    name: str,
    *,
    role: str,
    firm: str,
    accounts: list[str],
    venue_comp_id: str,
    client_comp_id: str,
    allowed_addresses: list[str],
    auth_method: str,
    key_out: Path | None = None,
    password: str | None = None,
    venue: VenueConfig | None = None,
    operator: str = "",
) -> dict[str, str]:
    """Write `sessions_dir/NAME.toml` (and the private key for ed25519). Returns what was
    written: {"session_file", "private_key"?, "public_key"?}."""
    path = sessions_dir / f"{name}.toml"
    if path.exists():
        raise SessionFileError(f"{path} already exists")
    out: dict[str, str] = {"session": name, "session_file": str(path), "auth": auth_method}
    public_key = password_hash = None
    if auth_method == "ed25519":
        if key_out is None:
            raise SessionFileError("--key-out PATH is needed for an ed25519 key")
        public_key = write_ed25519_key(key_out)
        out["private_key"] = str(key_out)
        out["public_key"] = public_key
    elif auth_method == "password":
        if not password:
            raise SessionFileError("a password is needed for method 'password'")
        password_hash = hash_password(password)
    text = session_toml(
        role=role,
        venue_comp_id=venue_comp_id,
        client_comp_id=client_comp_id,
        firm=firm,
        accounts=accounts,
        allowed_addresses=allowed_addresses,
        auth_method=auth_method,
        public_key=public_key,
        password_hash=password_hash,
        operator=operator,
    )
    try:
        _check(path, text, venue, replacing=False)
    except BaseException:
        if key_out is not None and "private_key" in out:
            key_out.unlink()
        raise
    return out


def rotate_key(
    sessions_dir: Path, name: str, *, key_out: Path, venue: VenueConfig | None = None
) -> dict[str, str]:
    """Replace the session's Ed25519 public key with a new key pair's (private key written to
    `key_out`). The file keeps its comments and other settings."""
    path = sessions_dir / f"{name}.toml"
    try:
        current = load_session_file(path)
    except ConfigError as exc:
        raise SessionFileError(str(exc)) from None
    if current.auth.method != "ed25519":
        raise SessionFileError(f"session {name} uses {current.auth.method!r}, not 'ed25519'")
    text = path.read_text()
    if not _PUBLIC_KEY_LINE.search(text):
        raise SessionFileError(f"{path}: no public_key line to replace")
    public_key = write_ed25519_key(key_out)
    new_text = _PUBLIC_KEY_LINE.sub(lambda m: f'{m.group(1)}"{public_key}"', text, count=1)
    try:
        _check(path, new_text, venue, replacing=True)
    except BaseException:
        key_out.unlink()
        raise
    return {
        "session": name,
        "session_file": str(path),
        "private_key": str(key_out),
        "public_key": public_key,
        "previous_public_key": current.auth.public_key or "",
    }
