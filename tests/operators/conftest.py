"""The admin tests' in-process venue, for the operator-facing tests here."""

from tests.admin.conftest import admin_venue

__all__ = ["admin_venue"]
