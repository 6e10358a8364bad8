"""Tests against real PostgreSQL and Redis; they run when DATABASE_URL and REDIS_URL are set."""

from __future__ import annotations

import os

import pytest

REAL_SERVICES = bool(os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL"))


def pytest_collection_modifyitems(items):
    skip = pytest.mark.skip(reason="set DATABASE_URL and REDIS_URL to run against real services")
    for item in items:
        if "/services/" in str(item.fspath):
            item.add_marker(pytest.mark.services)
            if not REAL_SERVICES:
                item.add_marker(skip)
