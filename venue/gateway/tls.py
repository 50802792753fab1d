"""TLS contexts for the FIX acceptor and for the tools and tests that connect to it.

Invariants:
- Both sides negotiate TLS 1.2 or newer only; compression and renegotiation are off.
- The server presents `tls.cert` with `tls.key`; when `tls.client_ca` is set, a client must
  present a certificate signed by that CA (CERT_REQUIRED), otherwise none is asked for.
- The client verifies the server's certificate against `ca_path` and checks its host name (or
  IP address) against the certificate's subjectAltName.
- A missing, unreadable or invalid file raises `ConfigError` naming the file, the setting and
  the reason; never a bare `ssl.SSLError` or `FileNotFoundError`.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path

from venue.config import ConfigError, TlsConfig

__all__ = ["make_client_context", "make_server_context"]


def _check_readable(path: str | os.PathLike[str], key: str) -> str:
    p = Path(path)
    try:
        with p.open("rb") as f:
            f.read(1)
    except FileNotFoundError:
        raise ConfigError(str(p), key, "file not found") from None
    except IsADirectoryError:
        raise ConfigError(str(p), key, "is a directory, not a PEM file") from None
    except OSError as exc:
        raise ConfigError(str(p), key, f"cannot read: {exc.strerror}") from None
    return str(p)


def _harden(ctx: ssl.SSLContext) -> None:
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.options |= ssl.OP_NO_COMPRESSION
    if hasattr(ssl, "OP_NO_RENEGOTIATION"):
        ctx.options |= ssl.OP_NO_RENEGOTIATION


def _load_chain(ctx: ssl.SSLContext, cert: str, key: str, setting: str) -> None:
    cert_path = _check_readable(cert, f"{setting}.cert")
    key_path = _check_readable(key, f"{setting}.key")
    try:
        ctx.load_cert_chain(certfile=cert_path, keyfile=key_path)
    except ssl.SSLError as exc:
        raise ConfigError(
            cert_path,
            f"{setting}.cert",
            f"certificate or key {key_path} invalid, or they do not match ({exc.reason})",
        ) from None


def _load_ca(ctx: ssl.SSLContext, ca: str, key: str) -> None:
    ca_path = _check_readable(ca, key)
    try:
        ctx.load_verify_locations(cafile=ca_path)
    except ssl.SSLError as exc:
        raise ConfigError(ca_path, key, f"not a valid PEM CA certificate ({exc.reason})") from None


def make_server_context(tls: TlsConfig) -> ssl.SSLContext:
    """The acceptor's context from `[gateway.tls]`."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _harden(ctx)
    _load_chain(ctx, tls.cert, tls.key, "gateway.tls")
    if tls.client_ca is not None:
        _load_ca(ctx, tls.client_ca, "gateway.tls.client_ca")
        ctx.verify_mode = ssl.CERT_REQUIRED
    else:
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


def make_client_context(
    ca_path: str | os.PathLike[str],
    cert: str | os.PathLike[str] | None = None,
    key: str | os.PathLike[str] | None = None,
) -> ssl.SSLContext:
    """A client context trusting `ca_path`, presenting `cert`/`key` when given (mutual TLS)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED and check_hostname on
    _harden(ctx)
    _load_ca(ctx, str(ca_path), "ca")
    if (cert is None) != (key is None):
        raise ConfigError(str(cert or key), "cert/key", "a client certificate needs both files")
    if cert is not None and key is not None:
        _load_chain(ctx, str(cert), str(key), "client")
    return ctx
