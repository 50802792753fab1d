"""TLS: real handshakes on 127.0.0.1 between make_server_context and make_client_context."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import ssl
import stat
import subprocess
import sys
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from venue.config import ConfigError, TlsConfig
from venue.gateway.tls import make_client_context, make_server_context

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 10.0


def _load_tool(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"tools_{name}", REPO / "tools" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building the class
    spec.loader.exec_module(module)
    return module


certs_tool = _load_tool("certs")


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return certs_tool.generate(tmp_path_factory.mktemp("certs"), ["127.0.0.1", "localhost"])


@pytest.fixture(scope="module")
def other_certs(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return certs_tool.generate(tmp_path_factory.mktemp("other"), ["127.0.0.1"])


class Server:
    """An asyncio TLS server that answers each connection with b"hello " + its first line."""

    def __init__(self) -> None:
        self.served = 0
        self.peer_certs: list[dict[str, Any] | None] = []
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), TIMEOUT)
            self.peer_certs.append(writer.get_extra_info("peercert"))
            writer.write(b"hello " + line)
            await writer.drain()
            self.served += 1
        except (OSError, ssl.SSLError, TimeoutError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await writer.wait_closed()

    @property
    def port(self) -> int:
        assert self.server is not None
        port: int = self.server.sockets[0].getsockname()[1]
        return port


def plain(certs: Any) -> ssl.SSLContext:
    return make_server_context(TlsConfig(cert=str(certs.server_cert), key=str(certs.server_key)))


@pytest.fixture
async def make_server() -> AsyncIterator[Any]:
    servers: list[Server] = []

    async def start(ctx: ssl.SSLContext) -> Server:
        srv = Server()
        srv.server = await asyncio.start_server(srv.handle, "127.0.0.1", 0, ssl=ctx)
        servers.append(srv)
        return srv

    yield start
    for srv in servers:
        assert srv.server is not None
        srv.server.close()
        await srv.server.wait_closed()


async def round_trip(port: int, ctx: ssl.SSLContext, server_hostname: str | None = None) -> bytes:
    reader, writer = await asyncio.wait_for(
        asyncio.open_connection("127.0.0.1", port, ssl=ctx, server_hostname=server_hostname),
        TIMEOUT,
    )
    try:
        writer.write(b"FIX\n")
        await writer.drain()
        return await asyncio.wait_for(reader.read(100), TIMEOUT)
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()


async def test_handshake_and_round_trip(certs: Any, make_server: Any) -> None:
    srv = await make_server(plain(certs))
    assert await round_trip(srv.port, make_client_context(certs.ca)) == b"hello FIX\n"
    assert srv.served == 1
    assert srv.peer_certs == [None]  # no client certificate asked for


async def test_negotiates_tls_12_or_newer(certs: Any, make_server: Any) -> None:
    server_ctx = plain(certs)
    assert server_ctx.minimum_version == ssl.TLSVersion.TLSv1_2
    srv = await make_server(server_ctx)
    client_ctx = make_client_context(certs.ca)
    client_ctx.maximum_version = ssl.TLSVersion.TLSv1_2  # a TLS 1.2-only client still works
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.port, ssl=client_ctx)
    assert writer.get_extra_info("ssl_object").version() == "TLSv1.2"
    writer.write(b"x\n")
    assert await asyncio.wait_for(reader.read(100), TIMEOUT) == b"hello x\n"
    writer.close()
    await writer.wait_closed()


async def test_tls_11_is_refused(certs: Any, make_server: Any) -> None:
    srv = await make_server(plain(certs))
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.load_verify_locations(cafile=str(certs.ca))
    try:  # let OpenSSL offer TLS 1.1 at all (security level 0), so the *server* must refuse it
        old.set_ciphers("DEFAULT:@SECLEVEL=0")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.1 on purpose
            old.minimum_version = ssl.TLSVersion.TLSv1_1
            old.maximum_version = ssl.TLSVersion.TLSv1_1
    except (ValueError, ssl.SSLError):
        pytest.skip("this OpenSSL cannot even offer TLS 1.1")
    with pytest.raises((ssl.SSLError, ConnectionError)):
        await round_trip(srv.port, old)
    assert srv.served == 0


async def test_client_rejects_a_server_from_another_ca(
    certs: Any, other_certs: Any, make_server: Any
) -> None:
    srv = await make_server(plain(other_certs))
    with pytest.raises(ssl.SSLCertVerificationError):
        await round_trip(srv.port, make_client_context(certs.ca))


async def test_client_checks_the_host_name(certs: Any, make_server: Any) -> None:
    srv = await make_server(plain(certs))
    assert await round_trip(srv.port, make_client_context(certs.ca), "localhost") == b"hello FIX\n"
    with pytest.raises(ssl.SSLCertVerificationError):
        await round_trip(srv.port, make_client_context(certs.ca), "venue.example.com")


def _mutual(certs: Any) -> ssl.SSLContext:
    return make_server_context(
        TlsConfig(cert=str(certs.server_cert), key=str(certs.server_key), client_ca=str(certs.ca))
    )


async def test_mutual_tls_with_a_client_certificate(certs: Any, make_server: Any) -> None:
    server_ctx = _mutual(certs)
    assert server_ctx.verify_mode == ssl.CERT_REQUIRED
    srv = await make_server(server_ctx)
    client_ctx = make_client_context(certs.ca, certs.client_cert, certs.client_key)
    assert await round_trip(srv.port, client_ctx) == b"hello FIX\n"
    (peer,) = srv.peer_certs
    assert peer is not None
    assert ((("commonName", "venue-client"),)) in peer["subject"]


async def _refused(port: int, ctx: ssl.SSLContext) -> None:
    """The connection fails at the handshake (TLS 1.2) or on the first read (TLS 1.3)."""
    try:
        answer = await round_trip(port, ctx)
    except (ssl.SSLError, ConnectionError):
        return
    assert answer == b""


async def test_mutual_tls_without_a_client_certificate_is_refused(
    certs: Any, make_server: Any
) -> None:
    srv = await make_server(_mutual(certs))
    await _refused(srv.port, make_client_context(certs.ca))
    assert srv.served == 0


async def test_mutual_tls_with_a_certificate_from_another_ca_is_refused(
    certs: Any, other_certs: Any, make_server: Any
) -> None:
    srv = await make_server(_mutual(certs))
    ctx = make_client_context(certs.ca, other_certs.client_cert, other_certs.client_key)
    await _refused(srv.port, ctx)
    assert srv.served == 0


# --- errors name the file -------------------------------------------------------------------


def test_missing_cert_file_names_file_and_setting(certs: Any, tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    with pytest.raises(ConfigError) as err:
        make_server_context(TlsConfig(cert=str(missing), key=str(certs.server_key)))
    assert (err.value.file, err.value.key, err.value.reason) == (
        str(missing),
        "gateway.tls.cert",
        "file not found",
    )


def test_missing_key_and_client_ca_name_their_setting(certs: Any, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"gateway\.tls\.key: file not found"):
        make_server_context(TlsConfig(cert=str(certs.server_cert), key=str(tmp_path / "k")))
    with pytest.raises(ConfigError, match=r"gateway\.tls\.client_ca: file not found"):
        make_server_context(
            TlsConfig(
                cert=str(certs.server_cert),
                key=str(certs.server_key),
                client_ca=str(tmp_path / "c"),
            )
        )


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file(certs: Any, tmp_path: Path) -> None:
    locked = tmp_path / "locked.pem"
    locked.write_bytes(Path(certs.server_cert).read_bytes())
    locked.chmod(0)
    with pytest.raises(ConfigError, match="cannot read"):
        make_server_context(TlsConfig(cert=str(locked), key=str(certs.server_key)))


def test_a_path_through_a_file_cannot_be_read(certs: Any) -> None:
    inside_a_file = f"{certs.server_cert}/server.pem"  # NotADirectoryError, even for root
    with pytest.raises(ConfigError) as err:
        make_server_context(TlsConfig(cert=inside_a_file, key=str(certs.server_key)))
    assert (err.value.file, err.value.key) == (inside_a_file, "gateway.tls.cert")
    assert err.value.reason == "cannot read: Not a directory"


def test_a_directory_is_not_a_pem_file(certs: Any, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a directory"):
        make_server_context(TlsConfig(cert=str(tmp_path), key=str(certs.server_key)))


def test_garbage_or_mismatched_pem_is_a_config_error(
    certs: Any, other_certs: Any, tmp_path: Path
) -> None:
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"not a certificate\n")
    with pytest.raises(ConfigError) as err:
        make_server_context(TlsConfig(cert=str(garbage), key=str(certs.server_key)))
    assert str(garbage) in str(err.value)
    with pytest.raises(ConfigError, match="do not match"):
        make_server_context(TlsConfig(cert=str(certs.server_cert), key=str(other_certs.server_key)))
    with pytest.raises(ConfigError, match="not a valid PEM CA certificate") as err:
        make_client_context(garbage)
    assert err.value.file == str(garbage)


def test_client_context_needs_both_cert_and_key(certs: Any) -> None:
    with pytest.raises(ConfigError, match="both"):
        make_client_context(certs.ca, cert=certs.client_cert)
    with pytest.raises(ConfigError, match="file not found"):
        make_client_context(Path("/nonexistent/ca.pem"))


# --- tools/certs.py -------------------------------------------------------------------------


def test_certs_cli_writes_keys_0600(tmp_path: Path) -> None:
    out = tmp_path / "certs"
    proc = subprocess.run(
        [
            sys.executable,
            str(REPO / "tools" / "certs.py"),
            "--out",
            str(out),
            "--hosts",
            "127.0.0.1,venue.test",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    names = {p.name: stat.S_IMODE(p.stat().st_mode) for p in out.iterdir()}
    assert names == {
        "ca.pem": 0o644,
        "ca.key": 0o600,
        "server.pem": 0o644,
        "server.key": 0o600,
        "client.pem": 0o644,
        "client.key": 0o600,
    }
    from cryptography import x509

    cert = x509.load_pem_x509_certificate((out / "server.pem").read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert san.get_values_for_type(x509.DNSName) == ["venue.test"]
