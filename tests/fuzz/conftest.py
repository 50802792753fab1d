"""The order-entry fixtures (a real venue in-process, FIX traders) for the fuzz regressions."""

from tests.orderentry.conftest import traders, venue_factory

__all__ = ["traders", "venue_factory"]
