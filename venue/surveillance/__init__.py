"""venue.surveillance: market abuse surveillance over committed commands and events.

`Surveillance` (the pure, deterministic engine: wash trades, spoofing and layering, quote
stuffing, marking the close), `LiveSurveillance` (the venue's sequencer subscriber, off the
order path), `AlertStore` (alerts and their cases, in their own SQLite file) and `venue
surveil` (`offline.main`, over a journal file). Imports only `venue.core`, `venue.journal` and
the configuration (DESIGN.md sections 3 and 10).
"""

from venue.surveillance.alerts import Alert
from venue.surveillance.engine import Owners, Surveillance
from venue.surveillance.live import LiveSurveillance
from venue.surveillance.store import AlertStore, AlertStoreError

__all__ = ["Alert", "AlertStore", "AlertStoreError", "LiveSurveillance", "Owners", "Surveillance"]
