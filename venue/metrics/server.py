"""`/metrics` over HTTP on a loopback port, served from the event loop.

The exposition is `prometheus_client.generate_latest` of the venue's registry; only the
transport is ours: a tiny HTTP/1.1 responder on asyncio, so scraping runs on the loop's
thread and reads the engine between two commands (prometheus_client's own server would read it
from another thread while the loop changes it).

Invariants:
- Answers `GET /metrics` with the text format (`CONTENT_TYPE_LATEST`), anything else with 404
  or 405, a request line or headers over 8 KB or slower than 5 s with nothing; one request per
  connection (`Connection: close`). Bad requests never raise out of the handler.
- Listens only where configured (loopback by `MetricsConfig.validate`).
"""

from __future__ import annotations

import asyncio
import contextlib

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from venue.log import get_logger

__all__ = ["MetricsServer"]

_log = get_logger("venue.metrics")
_LIMIT = 8192
_TIMEOUT_S = 5.0


class MetricsServer:
    def __init__(self, registry: CollectorRegistry, host: str, port: int) -> None:
        self.registry = registry
        self.host = host
        self._port = port
        self._server: asyncio.Server | None = None
        self.scrapes = 0

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        """Listen. Raises OSError when the port cannot be opened."""
        self._server = await asyncio.start_server(self._serve, self.host, self._port, limit=_LIMIT)
        _log.info("metrics_listening", url=f"http://{self.host}:{self.port}/metrics")

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(_TIMEOUT_S):
                request = await reader.readuntil(b"\r\n\r\n")
            method, _, rest = request.partition(b" ")
            path = rest.partition(b" ")[0].partition(b"?")[0]
            if method != b"GET":
                await _answer(writer, 405, b"text/plain", b"GET only\n")
            elif path not in (b"/metrics", b"/metrics/"):
                await _answer(writer, 404, b"text/plain", b"see /metrics\n")
            else:
                self.scrapes += 1
                body = generate_latest(self.registry)
                await _answer(writer, 200, CONTENT_TYPE_LATEST.encode(), body)
        except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        except ConnectionError:
            pass
        except Exception:
            _log.exception("metrics_request_failed")
        finally:
            writer.close()


async def _answer(writer: asyncio.StreamWriter, status: int, ctype: bytes, body: bytes) -> None:
    reason = {200: b"OK", 404: b"Not Found", 405: b"Method Not Allowed"}[status]
    head = (
        b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
        % (status, reason, ctype, len(body))
    )
    writer.write(head + body)
    await writer.drain()
