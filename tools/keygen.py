"""Session credentials: Ed25519 logon keys and scrypt password hashes.

    python tools/keygen.py ed25519 --out KEYFILE
        Writes a new Ed25519 private key (PEM, PKCS#8, mode 0600) to KEYFILE (refuses to
        overwrite) and prints the line to paste into the session file:
            public_key = "<base64 of the 32-byte raw public key>"
        The private key stays with the client; the venue only ever holds the public key.

    python tools/keygen.py ed25519-pub --key KEYFILE
        Prints the public_key line again for an existing private key.

    python tools/keygen.py sign-logon --key KEYFILE --sender ALPHA-TRD --target VENUE \
        --seq 1 --sending-time 20261121-06:30:00.000
        Prints the RawDataLength (95) and RawData (96) fields of that signed Logon, to check a
        client implementation against (see sessions/README.md).

    python tools/keygen.py password [--password-stdin]
        Prompts for a password twice (or reads one line from stdin) and prints
            password_hash = "scrypt$N$r$p$salt$hash"

Invariants: private keys are created with mode 0600 (never world-readable, even for an instant);
nothing secret is printed; the printed lines load with `venue.config.load_session_file`.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

try:
    from venue.gateway.auth import hash_password, load_private_key, public_key_b64, sign_logon
except ModuleNotFoundError:  # run from a checkout where the package is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from venue.gateway.auth import hash_password, load_private_key, public_key_b64, sign_logon


def write_ed25519_key(path: Path) -> str:
    """Create a new key at `path` (0600, must not exist); return the base64 public key."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    os.chmod(path, 0o600)
    return public_key_b64(key)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    ed = sub.add_parser("ed25519", help="new Ed25519 logon key")
    ed.add_argument("--out", required=True, type=Path, help="private key file to create")
    pub = sub.add_parser("ed25519-pub", help="public_key line of an existing key")
    pub.add_argument("--key", required=True, type=Path)
    sign = sub.add_parser("sign-logon", help="RawData (96) of a signed Logon")
    sign.add_argument("--key", required=True, type=Path)
    sign.add_argument("--sender", required=True, help="SenderCompID (49)")
    sign.add_argument("--target", default="VENUE", help="TargetCompID (56)")
    sign.add_argument("--seq", required=True, type=int, help="MsgSeqNum (34)")
    sign.add_argument("--sending-time", required=True, help="SendingTime (52) as sent")
    pw = sub.add_parser("password", help="scrypt hash of a password")
    pw.add_argument("--password-stdin", action="store_true", help="read one line from stdin")
    args = parser.parse_args(argv)

    if args.command == "ed25519":
        try:
            public = write_ed25519_key(args.out)
        except FileExistsError:
            print(f"{args.out}: already exists; not overwriting a key", file=sys.stderr)
            return 1
        print(f'public_key = "{public}"')
        return 0
    if args.command in ("ed25519-pub", "sign-logon"):
        try:
            key = load_private_key(args.key.read_bytes())
        except (OSError, ValueError) as exc:
            print(f"{args.key}: {exc}", file=sys.stderr)
            return 1
        if args.command == "ed25519-pub":
            print(f'public_key = "{public_key_b64(key)}"')
            return 0
        sig = sign_logon(key, args.sender, args.target, args.seq, args.sending_time)
        print(f"95={len(sig)}")
        print(f"96={sig.decode('ascii')}")
        return 0
    # password
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("passwords differ", file=sys.stderr)
            return 1
    if not password:
        print("empty password refused", file=sys.stderr)
        return 1
    print(f'password_hash = "{hash_password(password)}"')
    return 0


if __name__ == "__main__":
    sys.exit(main())
