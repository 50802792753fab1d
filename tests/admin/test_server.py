"""The admin socket itself: framing, malformed and unknown requests, permissions (mode 0600,
SO_PEERCRED uid check, a real other user), stale sockets, several requests per connection."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import socket
import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.admin.conftest import AdminVenue
from venue.admin.cli import EXIT_FORBIDDEN, EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE
from venue.admin.protocol import MAX_LINE
from venue.admin.server import AdminServer, AdminSocketInUse


async def exchange(path: str, *lines: bytes) -> list[dict[str, Any]]:
    reader, writer = await asyncio.open_unix_connection(path, limit=MAX_LINE * 2)
    out = []
    try:
        for line in lines:
            writer.write(line)
            await writer.drain()
            answer = await asyncio.wait_for(reader.readline(), 10)
            if not answer:
                break
            out.append(json.loads(answer))
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    return out


async def test_bad_requests_get_errors_on_one_connection(admin_venue: AdminVenue) -> None:
    answers = await exchange(
        admin_venue.socket,
        b"not json\n",
        b"[1, 2]\n",
        b'{"op": "launch.rockets"}\n',
        b'{"op": "session.show", "args": {"name": 7}}\n',
        b'{"op": "session.show", "args": {"nam": "ALPHA-MM"}}\n',
        b'{"op": "session.show"}\n',
        b'{"op": "ping", "operator": "has space"}\n',
        b'{"op": "ping", "extra": 1}\n',
        b'{"op": "ping", "operator": "alice"}\n',
    )
    codes = [a["error"]["code"] if not a["ok"] else "ok" for a in answers]
    assert codes == [
        "malformed",
        "malformed",
        "unknown_op",
        "bad_args",
        "bad_args",
        "bad_args",
        "bad_args",
        "malformed",
        "ok",
    ]
    assert answers[-1]["result"]["operator"] == "root/alice"
    assert "unknown operation 'launch.rockets'" in answers[2]["error"]["message"]


async def test_overlong_line_is_refused_and_the_server_lives_on(admin_venue: AdminVenue) -> None:
    reader, writer = await asyncio.open_unix_connection(admin_venue.socket)
    writer.write(b"x" * (MAX_LINE + 10) + b"\n")
    with contextlib.suppress(ConnectionError):  # the server may close before reading it all
        await writer.drain()
    answer = json.loads(await asyncio.wait_for(reader.readline(), 10))
    assert answer["error"]["code"] == "malformed"
    assert await asyncio.wait_for(reader.read(), 10) == b""  # then it closes the connection
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    assert (await exchange(admin_venue.socket, b'{"op": "ping"}\n'))[0]["ok"] is True


async def test_an_operation_that_fails_is_internal_not_a_crash(
    admin_venue: AdminVenue, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom() -> list[dict[str, object]]:
        raise ZeroDivisionError("bug")

    assert admin_venue.venue.gateway is not None
    monkeypatch.setattr(admin_venue.venue.gateway, "session_status", boom)
    r = await admin_venue.cli("sessions")
    assert r.code == 1 and "internal" in r.stderr
    r = await admin_venue.cli("instrument", "list")
    assert r.code == EXIT_OK


async def test_socket_is_owner_only(admin_venue: AdminVenue) -> None:
    mode = os.stat(admin_venue.socket).st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o600


async def test_peer_uid_not_allowed_is_refused(admin_venue: AdminVenue) -> None:
    path = str(Path(admin_venue.socket).with_name("other.sock"))
    server = AdminServer(admin_venue.ops, path, allowed_uids={65534})  # we are root, not nobody
    await server.start()
    try:
        r = await admin_venue.cli("--socket", path, "status")
        assert r.code == EXIT_FORBIDDEN
        assert "uid 0 may not use this socket" in r.stderr
        answers = await exchange(path, b'{"op": "ping"}\n')
        assert answers[0]["error"]["code"] == "forbidden"
    finally:
        await server.stop()
    assert not os.path.exists(path)


NOBODY = 65534


def _connect_as(uid: int, path: str) -> bytes:
    """In a forked child that became `uid` (no groups), connect to `path` with the standard
    library alone and ask for a ping; the child reports what happened through a pipe:
    b"refused <errno name>", b"closed" (no answer) or b"answer <first line>". Nothing of the
    checkout is needed by the child, so where the checkout lives cannot matter."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: only system calls, then _exit (never back into pytest)
        outcome = b"error"
        try:
            os.close(read_fd)
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(10)
            try:
                sock.connect(path)
            except OSError as exc:
                outcome = b"refused " + errno.errorcode.get(exc.errno or 0, "?").encode()
            else:
                sock.sendall(b'{"op": "ping"}\n')
                answer = sock.recv(4096)
                outcome = b"answer " + answer.split(b"\n")[0] if answer else b"closed"
        except BaseException as exc:  # report anything else rather than hang the parent
            outcome = b"error " + repr(exc).encode()
        finally:
            os.write(write_fd, outcome)
            os._exit(0)
    os.close(write_fd)
    try:
        os.waitpid(pid, 0)
        with os.fdopen(read_fd, "rb") as pipe:
            return pipe.read()
    except BaseException:
        os.close(read_fd)
        raise


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to run a client as another user")
async def test_another_user_cannot_use_the_admin_socket(admin_venue: AdminVenue) -> None:
    os.chmod(Path(admin_venue.socket).parent, 0o755)  # let nobody reach the socket file itself
    # the check is real: the same client code run as root gets its answer
    mine = await asyncio.to_thread(_connect_as, os.getuid(), admin_venue.socket)
    assert mine.startswith(b"answer ") and b'"ok":true' in mine.replace(b" ", b""), mine
    theirs = await asyncio.to_thread(_connect_as, NOBODY, admin_venue.socket)
    # refused by the file mode (0600); were it reachable, SO_PEERCRED would refuse it
    assert theirs == b"refused EACCES" or (
        theirs == b"closed" or (theirs.startswith(b"answer ") and b'"forbidden"' in theirs)
    ), theirs


async def test_no_venue_is_unavailable(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "venue.admin.cli",
        "--socket",
        str(tmp_path / "none.sock"),
        "status",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _out, err = await proc.communicate()
    assert proc.returncode == EXIT_UNAVAILABLE
    assert b"no venue is listening" in err


async def test_stale_socket_is_replaced_live_one_is_refused(admin_venue: AdminVenue) -> None:
    stale = Path(admin_venue.socket).with_name("stale.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(stale))
    s.close()  # the file stays, nobody listens: what a crash leaves behind
    server = AdminServer(admin_venue.ops, stale)
    await server.start()
    try:
        assert (await exchange(str(stale), b'{"op": "ping"}\n'))[0]["ok"] is True
        with pytest.raises(AdminSocketInUse):
            await AdminServer(admin_venue.ops, stale).start()
    finally:
        await server.stop()
    stale.write_text("not a socket")
    with pytest.raises(AdminSocketInUse):
        await AdminServer(admin_venue.ops, stale).start()


async def test_cli_usage_errors(admin_venue: AdminVenue) -> None:
    r = await admin_venue.cli("frobnicate")
    assert r.code == EXIT_USAGE
    r = await admin_venue.cli("--operator", "bad name", "status")
    assert r.code == EXIT_USAGE
    r = await admin_venue.cli("--help")
    assert r.code == EXIT_OK and "7  not confirmed" in r.stdout
