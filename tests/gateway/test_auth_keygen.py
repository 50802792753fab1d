"""tools/keygen.py: keys written 0600, printed lines usable in a session file."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

from venue.config import load_session_file
from venue.gateway.auth import (
    ReplayGuard,
    authenticate,
    load_private_key,
    public_key_b64,
    sign_logon,
    verify_password,
)

REPO = Path(__file__).resolve().parents[2]
KEYGEN = str(REPO / "tools" / "keygen.py")


def keygen(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, KEYGEN, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def session_file(tmp_path: Path, auth_line: str, method: str) -> Path:
    path = tmp_path / "s.toml"
    path.write_text(
        'role = "trading"\nvenue_comp_id = "VENUE"\nclient_comp_id = "C1"\nfirm = "F"\n'
        f'[auth]\nmethod = "{method}"\n{auth_line}\n'
    )
    return path


def test_ed25519_key_file_and_public_key_line(tmp_path: Path) -> None:
    key_path = tmp_path / "client.key"
    proc = keygen("ed25519", "--out", str(key_path))
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(key_path.stat().st_mode) == 0o600
    line = proc.stdout.strip()
    assert line.startswith('public_key = "')
    key = load_private_key(key_path.read_bytes())
    assert line == f'public_key = "{public_key_b64(key)}"'
    assert "PRIVATE" not in proc.stdout
    session = load_session_file(session_file(tmp_path, line, "ed25519"))
    now = 1_795_242_600_000_000_000
    sig = sign_logon(key, "C1", "VENUE", 1, b"20261121-06:30:00.000")
    fields = {35: b"A", 49: b"C1", 56: b"VENUE", 34: b"1", 52: b"20261121-06:30:00.000"}
    fields |= {95: str(len(sig)).encode(), 96: sig}

    class Logon:
        def get(self, tag: int, /) -> bytes | None:
            return fields.get(tag)

    assert authenticate(session, Logon(), "127.0.0.1", now, replay_guard=ReplayGuard()).ok
    # the same public key is printed again from the key file; an existing file is not overwritten
    assert keygen("ed25519-pub", "--key", str(key_path)).stdout.strip() == line
    again = keygen("ed25519", "--out", str(key_path))
    assert again.returncode == 1
    assert "already exists" in again.stderr
    assert load_private_key(key_path.read_bytes()) is not None


def test_password_hash_line(tmp_path: Path) -> None:
    proc = keygen("password", "--password-stdin", stdin="open sesame\n")
    assert proc.returncode == 0, proc.stderr
    line = proc.stdout.strip()
    assert line.startswith('password_hash = "scrypt$16384$8$1$')
    assert "open sesame" not in proc.stdout
    session = load_session_file(session_file(tmp_path, line, "password"))
    assert session.auth.password_hash is not None
    assert verify_password(b"open sesame", session.auth.password_hash)
    assert not verify_password(b"open sesame\n", session.auth.password_hash)


def test_empty_password_is_refused() -> None:
    proc = keygen("password", "--password-stdin", stdin="\n")
    assert proc.returncode == 1
    assert "empty" in proc.stderr


def test_sign_logon_reproduces_the_test_vector(tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from tests.gateway.test_auth import VECTOR_SEED, VECTOR_SIGNATURE

    key_path = tmp_path / "vector.key"
    key_path.write_bytes(
        Ed25519PrivateKey.from_private_bytes(VECTOR_SEED).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    proc = keygen(
        "sign-logon",
        "--key",
        str(key_path),
        "--sender",
        "ALPHA-TRD",
        "--seq",
        "1",
        "--sending-time",
        "20261121-06:30:00.000",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["95=88", f"96={VECTOR_SIGNATURE.decode()}"]
