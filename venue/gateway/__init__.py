"""venue.gateway: the FIX acceptor (see DESIGN.md section 3).

Public surface: `Gateway` (the acceptor), the application seam (`Application`, `Outbound`,
`PreOpenApplication`). Authentication, TLS and throttles live in `auth`, `tls`, `throttle`.
"""

from venue.gateway.acceptor import Gateway, SessionSlot, settings_for
from venue.gateway.application import Application, Outbound, PreOpenApplication

__all__ = [
    "Application",
    "Gateway",
    "Outbound",
    "PreOpenApplication",
    "SessionSlot",
    "settings_for",
]
