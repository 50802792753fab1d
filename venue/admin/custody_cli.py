"""`venue-admin custody ...`: withdrawal addresses and approvals (see `venue.admin.custody`).

    venue-admin --operator NAME custody whitelist ACCOUNT ADDRESS   # a request to add it
    venue-admin --operator NAME custody approve REQUEST --key my-key.pem
    venue-admin custody list | show REQUEST
    venue-admin --operator NAME account withdraw ACCOUNT AMOUNT --to ADDRESS   # a request

Invariants: the private key never leaves this process: `approve` reads the request from the
venue, shows what it approves, signs the request's signing text locally and sends only the
signature; `--operator` must be the custody operator whose key it is.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from venue.admin import render
from venue.admin.context import EXIT_OK, EXIT_USAGE, Ctx, Fail, done

__all__ = ["register", "sign"]


def register(sub: Any) -> None:
    cu = sub.add_parser("custody", help="withdrawal whitelist and approvals").add_subparsers(
        dest="custody_command", required=True
    )
    sp = cu.add_parser("whitelist", help="request a withdrawal address for an account")
    sp.add_argument("account")
    sp.add_argument("address")
    sp.set_defaults(func=cmd_whitelist)
    sp = cu.add_parser("approve", help="approve a request with your Ed25519 key")
    sp.add_argument("request_id")
    sp.add_argument("--key", required=True, help="your private key (PEM, PKCS#8)")
    sp.set_defaults(func=cmd_approve)
    cu.add_parser("list", help="requests and whitelists").set_defaults(func=cmd_list)
    sp = cu.add_parser("show", help="one request")
    sp.add_argument("request_id")
    sp.set_defaults(func=cmd_show)


def sign(key_path: Path, text: bytes) -> str:
    """Base64 Ed25519 signature of `text` with the PEM private key at `key_path`."""
    try:
        key = load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise Fail(EXIT_USAGE, f"cannot read the private key {key_path}: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise Fail(EXIT_USAGE, f"{key_path} is not an Ed25519 private key")
    return base64.b64encode(key.sign(text)).decode()


def _show(req: dict[str, Any]) -> None:
    render.print_kv(f"request {req['request_id']}", list(req.items()))


def cmd_whitelist(ctx: Ctx) -> int:
    a = ctx.args
    ctx.out(ctx.call("custody.whitelist", account=a.account, address=a.address), _show)
    return EXIT_OK


def cmd_approve(ctx: Ctx) -> int:
    a = ctx.args
    req = ctx.call("custody.show", request_id=a.request_id)
    ctx.confirm(
        f"approve {req['kind']} request {req['request_id']}: {req['account']} "
        f"{req['units']} units to {req['address']!r} (by {req['requester']})"
    )
    signature = sign(Path(a.key), req["signing_text"].encode())
    ctx.out(ctx.call("custody.approve", request_id=a.request_id, signature=signature), _show)
    return EXIT_OK


def cmd_list(ctx: Ctx) -> int:
    ctx.out(ctx.call("custody.list"), done)
    return EXIT_OK


def cmd_show(ctx: Ctx) -> int:
    ctx.out(ctx.call("custody.show", request_id=ctx.args.request_id), _show)
    return EXIT_OK
