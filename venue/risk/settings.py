"""The risk monitor's settings: `RiskConfig` is defined with the configuration
(`venue.config_risk`, the `[risk]` table) and re-exported here for `venue.risk`."""

from venue.config_risk import RATE_SCALE, RiskConfig

__all__ = ["RATE_SCALE", "RiskConfig"]
