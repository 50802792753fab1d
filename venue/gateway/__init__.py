"""venue.gateway: the FIX acceptor (see DESIGN.md section 3).

Public surface: `Gateway` (the acceptor), the application seam (`Application`, `Outbound`,
`PreOpenApplication`). Authentication, TLS and throttles live in `auth`, `tls`, `throttle`.
"""

from venue.gateway.acceptor import Gateway, settings_for
from venue.gateway.application import Application, Outbound, PreOpenApplication
from venue.gateway.slot import SessionSlot

__all__ = [
    "Application",
    "Gateway",
    "Outbound",
    "PreOpenApplication",
    "SessionSlot",
    "settings_for",
]
