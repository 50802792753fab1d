"""Development certificates: a CA, a server certificate and a client certificate.

    python tools/certs.py --out var/certs [--hosts 127.0.0.1,localhost] [--client-name ALPHA-MM]

Writes into DIR: ca.pem, ca.key, server.pem, server.key, client.pem, client.key. Keys are EC
P-256, written 0600 (created with that mode, never world-readable even for an instant);
certificates 0644. For development and tests only: production certificates come from the
operator's own CA. Use them in venue.toml as

    [gateway.tls]
    cert = "var/certs/server.pem"
    key = "var/certs/server.key"
    client_ca = "var/certs/ca.pem"   # optional: require client certificates (mutual TLS)

Invariants: the server certificate names every --hosts entry in subjectAltName (IP addresses as
IP entries); certificates are valid from one hour ago for `--days` days.
"""

from __future__ import annotations

import argparse
import datetime as dt
import ipaddress
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class CertFiles:
    ca: Path
    ca_key: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


def _write(path: Path, data: bytes, mode: int) -> None:
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, mode)  # in case the umask removed bits we wanted


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "venue development"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _san(hosts: list[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for h in hosts:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(h)))
        except ValueError:
            entries.append(x509.DNSName(h))
    return x509.SubjectAlternativeName(entries)


def _issue(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
    issuer_key: ec.EllipticCurvePrivateKey,
    days: int,
    *,
    hosts: list[str] | None = None,
    client: bool = False,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    is_ca = issuer is None
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(subject) if issuer is None else issuer.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=is_ca, path_length=0 if is_ca else None), True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )
    if is_ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        assert issuer is not None
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False
        ).add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        if hosts:
            builder = builder.add_extension(_san(hosts), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def generate(
    out: Path,
    hosts: list[str] | None = None,
    *,
    client_name: str = "venue-client",
    days: int = 30,
) -> CertFiles:
    """Write a CA, a server certificate for `hosts` and a client certificate into `out`."""
    hosts = hosts or ["127.0.0.1", "localhost"]
    out.mkdir(parents=True, exist_ok=True)
    files = CertFiles(
        ca=out / "ca.pem",
        ca_key=out / "ca.key",
        server_cert=out / "server.pem",
        server_key=out / "server.key",
        client_cert=out / "client.pem",
        client_key=out / "client.key",
    )
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _issue("venue development CA", ca_key, None, ca_key, days)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = _issue(hosts[0], server_key, ca, ca_key, days, hosts=hosts)
    client_key = ec.generate_private_key(ec.SECP256R1())
    client = _issue(client_name, client_key, ca, ca_key, days, hosts=[client_name], client=True)
    pem = serialization.Encoding.PEM
    _write(files.ca_key, _key_pem(ca_key), 0o600)
    _write(files.ca, ca.public_bytes(pem), 0o644)
    _write(files.server_key, _key_pem(server_key), 0o600)
    _write(files.server_cert, server.public_bytes(pem), 0o644)
    _write(files.client_key, _key_pem(client_key), 0o600)
    _write(files.client_cert, client.public_bytes(pem), 0o644)
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="directory to write into")
    parser.add_argument(
        "--hosts",
        default="127.0.0.1,localhost",
        help="comma-separated names/IPs for the server certificate (default: %(default)s)",
    )
    parser.add_argument("--client-name", default="venue-client", help="client certificate CN")
    parser.add_argument("--days", type=int, default=30, help="validity (default: %(default)s)")
    args = parser.parse_args(argv)
    hosts = [h.strip() for h in args.hosts.split(",") if h.strip()]
    if not hosts:
        parser.error("--hosts needs at least one name or address")
    files = generate(args.out, hosts, client_name=args.client_name, days=args.days)
    for path in vars(files).values():
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
