"""Personas shared by every test: a facilitator, players of two organizations, an outsider."""

from __future__ import annotations

import pytest

from accounts.models import Sector
from tests import factories


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Run browser tests last.

    Playwright's sync API keeps an asyncio loop running in the main thread while the
    session-wide browser lives; any async test after it would fail to start its loop.
    """
    items.sort(key=lambda item: "/e2e/" in str(item.fspath))


@pytest.fixture
def alice(db):
    """Facilitator."""
    return factories.make_user("alice", display_name="Alice Facilitator")


@pytest.fixture
def org_a(db):
    return factories.make_organization("Nimbus Cloud", sector=Sector.CLOUD_IT)


@pytest.fixture
def org_b(db):
    return factories.make_organization("St. Mary's Hospital", sector=Sector.HEALTHCARE)


@pytest.fixture
def bob(db, org_a):
    """Player of organization A."""
    user = factories.make_user("bob", display_name="Bob Cloud")
    factories.add_member(user, org_a, is_admin=True)
    return user


@pytest.fixture
def carol(db, org_b):
    """Player of organization B."""
    user = factories.make_user("carol", display_name="Carol Hospital")
    factories.add_member(user, org_b, is_admin=True)
    return user


@pytest.fixture
def mallory(db):
    """An outsider: a logged-in user with no organization and no seat."""
    return factories.make_user("mallory")
