"""Fixtures for the journal and sequencer tests: a fresh database path per test."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "venue.db"
