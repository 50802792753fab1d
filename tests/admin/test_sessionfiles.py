"""venue-admin session add / rotate-key: files, key permissions, validation; no venue needed."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from tests.venue_process import REPO, write_config
from venue.admin.cli import EXIT_NOT_CONFIRMED, EXIT_OK, EXIT_REFUSED, EXIT_USAGE
from venue.config import load_config, load_session_file
from venue.gateway.auth import load_private_key, public_key_b64, verify_password


def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "venue.admin.cli", *args],
        cwd=REPO,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path]:
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    return write_config(tmp_path, sessions_dir=sessions), sessions


def test_add_ed25519_session(setup: tuple[Path, Path], tmp_path: Path) -> None:
    config, sessions = setup
    key = tmp_path / "new.pem"
    r = cli(
        "--config",
        str(config),
        "--json",
        "session",
        "add",
        "CHARLIE-MM",
        "--role",
        "trading",
        "--firm",
        "ALPHA",
        "--accounts",
        "ALPHA-1",
        "--key-out",
        str(key),
    )
    assert r.returncode == EXIT_OK, r.stderr
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    s = load_session_file(sessions / "CHARLIE-MM.toml")
    assert s.name == "CHARLIE-MM" and s.client_comp_id == "CHARLIE-MM" and s.firm == "ALPHA"
    assert s.auth.method == "ed25519"
    assert s.auth.public_key == public_key_b64(load_private_key(key.read_bytes()))
    assert "PRIVATE" not in r.stdout  # nothing secret printed
    assert any(x.name == "CHARLIE-MM" for x in load_config(config).sessions)
    r = cli(
        "--config",
        str(config),
        "session",
        "add",
        "CHARLIE-MM",
        "--role",
        "trading",
        "--firm",
        "ALPHA",
        "--key-out",
        str(tmp_path / "other.pem"),
    )
    assert r.returncode == EXIT_REFUSED and "already exists" in r.stderr
    assert not (tmp_path / "other.pem").exists()


def test_add_refuses_what_would_not_load(setup: tuple[Path, Path], tmp_path: Path) -> None:
    config, sessions = setup
    key = tmp_path / "k.pem"
    r = cli(
        "--config",
        str(config),
        "session",
        "add",
        "X-MM",
        "--role",
        "trading",
        "--firm",
        "ALPHA",
        "--accounts",
        "BRAVO-1",
        "--key-out",
        str(key),
    )
    assert r.returncode == EXIT_REFUSED and "would not load" in r.stderr
    assert list(sessions.iterdir()) == [] and not key.exists()
    r = cli(
        "--config",
        str(config),
        "session",
        "add",
        "ALPHA-MM",
        "--role",
        "trading",
        "--firm",
        "ALPHA",
        "--auth",
        "none",
    )  # a name the venue configuration already has
    assert r.returncode == EXIT_REFUSED
    r = cli("session", "add", "Y", "--role", "trading", "--firm", "ALPHA")
    assert r.returncode == EXIT_USAGE and "--config" in r.stderr
    r = cli("--config", str(config), "session", "add", "Z", "--role", "trading", "--firm", "ALPHA")
    assert r.returncode == EXIT_REFUSED and "--key-out" in r.stderr


def test_add_password_session(setup: tuple[Path, Path]) -> None:
    config, sessions = setup
    r = cli(
        "--config",
        str(config),
        "session",
        "add",
        "DELTA-DC",
        "--role",
        "dropcopy",
        "--firm",
        "BRAVO",
        "--auth",
        "password",
        "--password-stdin",
        "--allow",
        "198.51.100.0/24",
        stdin="s3cret pass\n",
    )
    assert r.returncode == EXIT_OK, r.stderr
    s = load_session_file(sessions / "DELTA-DC.toml")
    assert s.role == "dropcopy" and s.dropcopy_firms == ["BRAVO"]
    assert s.allowed_addresses == ["198.51.100.0/24"]
    assert s.auth.password_hash is not None
    assert verify_password(b"s3cret pass", s.auth.password_hash)
    assert "s3cret" not in (sessions / "DELTA-DC.toml").read_text()
    r = cli(
        "--config",
        str(config),
        "session",
        "add",
        "E",
        "--role",
        "trading",
        "--firm",
        "BRAVO",
        "--auth",
        "password",
    )  # no terminal to ask on, no --password-stdin
    assert r.returncode == EXIT_USAGE


def test_rotate_key(setup: tuple[Path, Path], tmp_path: Path) -> None:
    config, sessions = setup
    (sessions / "ROT.toml").write_text(
        (REPO / "sessions" / "alpha-trading.toml").read_text().replace("ALPHA-TRD", "ROT-TRD")
    )
    before = load_session_file(sessions / "ROT.toml").auth.public_key
    key = tmp_path / "rot.pem"
    args = ["--config", str(config), "session", "rotate-key", "ROT", "--key-out", str(key)]
    r = cli(*args)
    assert r.returncode == EXIT_NOT_CONFIRMED and not key.exists()
    r = cli("--json", "--yes", *args)
    assert r.returncode == EXIT_OK, r.stderr
    text = (sessions / "ROT.toml").read_text()
    after = load_session_file(sessions / "ROT.toml").auth.public_key
    assert after != before and after == public_key_b64(load_private_key(key.read_bytes()))
    assert "# ALPHA's order-entry session" in text  # comments kept
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    raw = (
        load_private_key(key.read_bytes())
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    assert base64.b64encode(raw).decode() == after
    r = cli("--yes", *args)  # the key file exists: never overwritten
    assert r.returncode == EXIT_REFUSED
    (sessions / "PW.toml").write_text(
        'role = "trading"\nvenue_comp_id = "VENUE"\nclient_comp_id = "PW"\nfirm = "ALPHA"\n'
    )
    r = cli(
        "--yes",
        "--config",
        str(config),
        "session",
        "rotate-key",
        "PW",
        "--key-out",
        str(tmp_path / "pw.pem"),
    )
    assert r.returncode == EXIT_REFUSED and "not 'ed25519'" in r.stderr


async def test_rotate_key_then_reload_into_the_running_venue(tmp_path: Path) -> None:
    from tests.admin.conftest import running_admin_venue

    sessions = tmp_path / "sessions"
    sessions.mkdir()
    (sessions / "ROT.toml").write_text(
        (REPO / "sessions" / "alpha-trading.toml").read_text().replace("ALPHA-TRD", "ROT-TRD")
    )
    async with running_admin_venue(tmp_path, sessions_dir=sessions) as av:
        assert av.venue.gateway is not None
        slot = av.venue.gateway.slots["ROT"]
        before = slot.config.auth.public_key
        key = tmp_path / "rot.pem"
        r = await av.cli(
            "--config", str(av.config), "-y", "session", "rotate-key", "ROT", "--key-out", str(key)
        )
        assert r.code == EXIT_OK, r.stderr
        assert slot.config.auth.public_key == before  # files only, until reloaded
        r = await av.cli("--json", "session", "reload", "ROT")
        assert r.code == EXIT_OK, r.stderr
        assert r.json()["result"] == ["auth"]
        assert slot.config.auth.public_key == public_key_b64(load_private_key(key.read_bytes()))
        path = sessions / "ROT.toml"
        path.write_text(path.read_text().replace('firm = "ALPHA"', 'firm = "BRAVO"'))
        r = await av.cli("session", "reload", "ROT")
        assert r.code == EXIT_REFUSED
        assert "restart" in r.stderr
        r = await av.cli("session", "reload", "ALPHA-MM")  # from venue.toml, not a file
        assert r.code == EXIT_REFUSED
