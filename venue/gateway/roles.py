"""Routing application messages by session role: order entry, drop copy, market data.

The gateway has one application seam; this router puts several applications behind it, each
serving the sessions of some roles and, optionally, only some message types.

Invariants:
- A message goes to exactly one application: the first registration whose roles include the
  session's role and whose message types (if given) include the message's; otherwise to the
  default application (order entry, which refuses what a session's role may not do).
- Session events (logon, logout, reset) go once to every application that serves the session's
  role, and to the default, in registration order; so each keeps its own per-session state.
- The routing table is fixed after start-up; routing costs one dict lookup per message (the
  answer per (session, message type) is remembered, at most `_MAX_ROUTES` of them, and
  forgotten by `register`).
"""

from __future__ import annotations

from collections.abc import Iterable

from venue.config import SessionConfig
from venue.fix.codec import FixMessage
from venue.gateway.application import Application, Outbound

__all__ = ["RoleRouter"]

_MAX_ROUTES = 4096  # remembered (session, message type) routes; cleared when full


class RoleRouter:
    """An `Application` that dispatches to other applications by session role."""

    def __init__(self, sessions: Iterable[SessionConfig], default: Application) -> None:
        self._role = {s.name: s.role for s in sessions}
        self._default = default
        self._routes: list[tuple[frozenset[str], frozenset[bytes] | None, Application]] = []
        self._by_session: dict[str, list[Application]] = {}
        self._by_type: dict[tuple[str, bytes], Application] = {}  # route() answers, bounded

    def register(
        self,
        app: Application,
        *,
        roles: Iterable[str],
        msg_types: Iterable[bytes] | None = None,
    ) -> None:
        """Send messages of sessions with one of `roles` (and of `msg_types`, if given) to `app`."""
        types = frozenset(msg_types) if msg_types is not None else None
        self._routes.append((frozenset(roles), types, app))
        self._by_session.clear()
        self._by_type.clear()

    def _apps(self, session: str) -> list[Application]:
        apps = self._by_session.get(session)
        if apps is None:
            role = self._role.get(session, "")
            apps = [self._default]
            for roles, _types, app in self._routes:
                if role in roles and all(a is not app for a in apps):
                    apps.append(app)
            self._by_session[session] = apps
        return apps

    def route(self, session: str, msg_type: bytes) -> Application:
        key = (session, msg_type)
        app = self._by_type.get(key)
        if app is None:
            app = self._route(session, msg_type)
            if len(self._by_type) >= _MAX_ROUTES:  # message types come from the wire
                self._by_type.clear()
            self._by_type[key] = app
        return app

    def _route(self, session: str, msg_type: bytes) -> Application:
        role = self._role.get(session, "")
        for roles, types, app in self._routes:
            if role in roles and (types is None or msg_type in types):
                return app
        return self._default

    # -- the Application seam -----------------------------------------------------------------

    def on_logon(self, session: str, logon: FixMessage | None = None) -> None:
        for app in self._apps(session):
            app.on_logon(session, logon)

    def on_logout(self, session: str, clean: bool = False) -> None:
        for app in self._apps(session):
            app.on_logout(session, clean)

    def on_session_reset(self, session: str) -> None:
        for app in self._apps(session):
            app.on_session_reset(session)

    def on_message(self, session: str, msg: FixMessage, ts_recv: int) -> list[Outbound]:
        app = self._by_type.get((session, msg.msg_type))  # `route`'s remembered answer
        if app is None:
            app = self.route(session, msg.msg_type)
        return app.on_message(session, msg, ts_recv)
