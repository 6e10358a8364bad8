from __future__ import annotations

import pytest
from django.core.management import call_command

from accounts.demo import DEMO_PASSWORD
from accounts.models import Organization, User

pytestmark = pytest.mark.django_db


def test_it_seeds_people_in_four_organizations_of_different_sectors_idempotently(capsys):
    call_command("seed_demo")
    call_command("seed_demo")
    assert Organization.objects.count() == 4
    assert len(set(Organization.objects.values_list("sector", flat=True))) == 4
    facilitator = User.objects.get(username="facilitator")
    assert facilitator.check_password(DEMO_PASSWORD)
    assert facilitator.has_perm("exercises.author_scenario")
    assert facilitator.has_perm("exercises.run_exercise")
    assert not User.objects.get(username="nimbus1").has_perm("exercises.author_scenario")
    printed = capsys.readouterr().out
    assert DEMO_PASSWORD in printed
    assert "nimbus1" in printed
