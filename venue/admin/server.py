"""The admin control server: a Unix socket only the venue's owner can use.

Framing and messages are in `venue.admin.protocol` (newline-delimited msgspec JSON); the
operations themselves are in `venue.admin.ops`.

Invariants:
- The socket file is created with mode 0600 (bound under umask 0o177, then chmod'ed), so other
  users cannot open it; in addition every connection's peer uid (SO_PEERCRED) must be in
  `allowed_uids` (default: the venue process's own uid), otherwise the peer gets one
  `forbidden` error line and is disconnected before any request is read.
- The operator of a request is the peer's OS user name, plus `/NAME` when the request names
  one (`root/alice`); clients cannot choose the OS part.
- Requests on one connection are answered one at a time, in order. Nothing a client sends can
  raise out of the connection handler: bad input is answered with an error response, a bug in
  an operation with `internal` (and a logged traceback).
- A stale socket file (nobody listening) is replaced at start; a live one (another venue) is an
  error (`AdminSocketInUse`). `stop()` closes every connection and removes the socket file.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import re
import socket
import stat
import struct
from collections.abc import Callable, Collection
from pathlib import Path

import msgspec

from venue.admin.ops import Operations, OpError
from venue.admin.protocol import (
    MAX_LINE,
    ErrorCode,
    Request,
    Response,
    decode_request,
    encode,
    error,
)
from venue.log import get_logger

__all__ = ["AdminServer", "AdminSocketInUse", "peer_uid"]

_log = get_logger("venue.admin")
_OPERATOR = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}")
_UCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid


class AdminSocketInUse(Exception):
    """Another process is listening on the configured admin socket."""


def peer_uid(sock: socket.socket) -> int:
    """The uid of the process at the other end of a Unix stream socket (SO_PEERCRED)."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    return int(_UCRED.unpack(raw)[1])


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid{uid}"


class AdminServer:
    """`await start()` listens on `path`; `await stop()` closes and removes it."""

    def __init__(
        self,
        ops: Operations,
        path: str | Path,
        *,
        allowed_uids: Collection[int] | None = None,
        uid_of: Callable[[socket.socket], int] = peer_uid,
    ) -> None:
        self.ops = ops
        self.path = Path(path)
        self.allowed_uids = set(allowed_uids) if allowed_uids is not None else {os.getuid()}
        self._uid_of = uid_of
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Listen. Raises AdminSocketInUse, or OSError when the path cannot be bound."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        await self._remove_stale()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            old = os.umask(0o177)  # no instant in which the socket is open to others
            try:
                sock.bind(str(self.path))
            finally:
                os.umask(old)
            os.chmod(self.path, 0o600)
            sock.setblocking(False)
            self._server = await asyncio.start_unix_server(self._serve, sock=sock, limit=MAX_LINE)
        except BaseException:
            sock.close()
            raise
        _log.info("admin_listening", socket=str(self.path))

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._clients):
            task.cancel()
        for task in list(self._clients):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            self._server = None
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()

    async def _remove_stale(self) -> None:
        try:
            mode = self.path.lstat().st_mode
        except FileNotFoundError:
            return
        if not stat.S_ISSOCK(mode):
            raise AdminSocketInUse(f"{self.path} exists and is not a socket")
        try:
            _, writer = await asyncio.open_unix_connection(str(self.path))
        except OSError:
            self.path.unlink()  # nobody listening: left over from a crash
            return
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        raise AdminSocketInUse(f"another process is listening on {self.path}")

    # -- connections ----------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._clients.add(task)
        try:
            await self._conversation(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass
        except Exception:
            _log.exception("admin_connection_failed")
        finally:
            self._clients.discard(task)
            writer.close()

    async def _conversation(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        sock = writer.get_extra_info("socket")
        try:
            uid = self._uid_of(sock)
        except OSError as exc:
            _log.warning("admin_peer_unknown", error=str(exc))
            uid = -1
        if uid not in self.allowed_uids:
            _log.warning("admin_peer_refused", uid=uid)
            writer.write(encode(error(ErrorCode.FORBIDDEN, f"uid {uid} may not use this socket")))
            await writer.drain()
            return
        user = _user_name(uid)
        while True:
            try:
                line = await reader.readline()
            except (asyncio.LimitOverrunError, ValueError):
                writer.write(encode(error(ErrorCode.MALFORMED, f"line longer than {MAX_LINE}")))
                await writer.drain()
                return
            if not line:
                return
            if not line.strip():
                continue
            response = await self.handle_line(line, user)
            writer.write(encode(response))
            await writer.drain()

    async def handle_line(self, line: bytes, user: str) -> Response:
        """Decode and run one request line for OS user `user`; never raises."""
        try:
            request = decode_request(line)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            return error(ErrorCode.MALFORMED, f"not a request: {exc}")
        return await self.handle(request, user)

    async def handle(self, request: Request, user: str) -> Response:
        operator = user
        if request.operator:
            if not _OPERATOR.fullmatch(request.operator):
                return error(ErrorCode.BAD_ARGS, "operator: 1-64 letters, digits, _ . @ -")
            operator = f"{user}/{request.operator}"
        try:
            result = await self.ops.run(request.op, request.args, operator)
        except OpError as exc:
            return error(exc.code, exc.message)
        except Exception:
            _log.exception("admin_op_failed", op=request.op, operator=operator)
            return error(ErrorCode.INTERNAL, f"{request.op} failed; see the venue log")
        return Response(ok=True, result=result)
