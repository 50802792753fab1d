"""Prometheus metrics: `VenueMetrics` keeps the numbers, `MetricsServer` serves `/metrics`.

See `venue.metrics.collector` and `venue.metrics.server` for the invariants.
"""

from venue.metrics.collector import Histogram, VenueMetrics
from venue.metrics.server import MetricsServer

__all__ = ["Histogram", "MetricsServer", "VenueMetrics"]
