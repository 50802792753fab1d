"""The `venue-admin` command context: exit statuses, where the socket is, confirmation.

Invariants:
- Every failure a command can meet becomes a `Fail(exit_status, one_line)`; `venue.admin.cli`
  prints the line on stderr and exits with the status (table in `venue.admin.cli`'s docstring).
- `confirm` never prompts without a terminal: a destructive action then needs `--yes`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from venue import display
from venue.admin import render
from venue.admin.client import AdminClient, AdminForbidden, AdminUnavailable
from venue.admin.protocol import ErrorCode, Response
from venue.config import ConfigError, VenueConfig, load_config

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_REFUSED = 4
EXIT_UNAVAILABLE = 5
EXIT_FORBIDDEN = 6
EXIT_NOT_CONFIRMED = 7
EXIT_DIVERGED = 8

_EXIT_FOR = {
    ErrorCode.MALFORMED: EXIT_USAGE,
    ErrorCode.UNKNOWN_OP: EXIT_USAGE,
    ErrorCode.BAD_ARGS: EXIT_USAGE,
    ErrorCode.NOT_FOUND: EXIT_NOT_FOUND,
    ErrorCode.REFUSED: EXIT_REFUSED,
    ErrorCode.UNAVAILABLE: EXIT_UNAVAILABLE,
    ErrorCode.FORBIDDEN: EXIT_FORBIDDEN,
    ErrorCode.INTERNAL: EXIT_INTERNAL,
}
DEFAULT_SOCKET = "var/venue-admin.sock"


class Fail(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


# -- context ------------------------------------------------------------------------------------


class Ctx:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.json: bool = args.json
        self._config: VenueConfig | None = None

    def config(self, required: bool = False) -> VenueConfig | None:
        if self._config is None and self.args.config:
            try:
                self._config = load_config(self.args.config)
            except ConfigError as exc:
                raise Fail(EXIT_USAGE, f"configuration: {exc}") from None
        if self._config is None and required:
            raise Fail(EXIT_USAGE, "this command needs --config venue.toml")
        return self._config

    def socket_path(self) -> str:
        if self.args.socket:
            return str(self.args.socket)
        cfg = self.config()
        if cfg is not None:
            return cfg.admin.socket
        return os.environ.get("VENUE_ADMIN_SOCKET", DEFAULT_SOCKET)

    def client(self) -> AdminClient:
        try:
            return AdminClient(
                self.socket_path(), timeout=self.args.timeout, operator=self.args.operator or ""
            )
        except AdminForbidden as exc:
            raise Fail(EXIT_FORBIDDEN, str(exc)) from None
        except AdminUnavailable as exc:
            raise Fail(EXIT_UNAVAILABLE, str(exc)) from None

    def call(self, op: str, **args: Any) -> Any:
        with self.client() as client:
            return result(request(client, op, **args))

    def confirm(self, what: str) -> None:
        if self.args.yes:
            return
        if not (sys.stdin.isatty() and sys.stderr.isatty()):
            raise Fail(EXIT_NOT_CONFIRMED, f"{what}: destructive; add --yes to confirm")
        sys.stderr.write(f"{what}? [y/N] ")
        sys.stderr.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            raise Fail(EXIT_NOT_CONFIRMED, f"{what}: not confirmed")

    def out(self, value: Any, human: Callable[[Any], None]) -> None:
        if self.json:
            render.print_json(value)
        else:
            human(value)


def request(client: AdminClient, op: str, **args: Any) -> Response:
    try:
        return client.request(op, **args)
    except AdminForbidden as exc:
        raise Fail(EXIT_FORBIDDEN, str(exc)) from None
    except AdminUnavailable as exc:
        raise Fail(EXIT_UNAVAILABLE, str(exc)) from None


def result(response: Response) -> Any:
    if response.ok:
        return response.result
    err = response.error
    if err is None:
        raise Fail(EXIT_INTERNAL, "the venue answered neither a result nor an error")
    raise Fail(_EXIT_FOR.get(err.code, EXIT_INTERNAL), f"{err.code}: {err.message}")


_INTERNAL = frozenset({"units", "ticks"})  # the core's integers: for --json, not for people


def done(value: Any) -> None:
    if not isinstance(value, dict):
        render.print_kv("done", [("result", value)])
        return
    pairs = [
        (k, display.money(v) if k == "amount" else v)
        for k, v in value.items()
        if k not in _INTERNAL
    ]
    render.print_kv("done", pairs)
