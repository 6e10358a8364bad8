import pytest

from tests.e2e.conftest import login
from tests.factories import PASSWORD


@pytest.mark.django_db(transaction=True)
def test_it_logs_in_and_shows_the_members_organization(new_context, bob, org_a):
    page = login(new_context(), "bob", PASSWORD)
    assert page.get_by_role("heading", name="Welcome, Bob Cloud").is_visible()
    page.get_by_role("link", name="Nimbus Cloud").first.click()
    assert page.get_by_role("heading", name="Nimbus Cloud").is_visible()
    assert page.get_by_role("cell", name="bob", exact=True).is_visible()
