"""Demo people and organizations, so a newcomer can click through in a minute."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from accounts.models import Membership, Organization, Sector, User

DEMO_PASSWORD = "cascade-demo"
FACILITATORS_GROUP = "Facilitators"

# (role key in the shipped scenarios, organization, sector, player usernames)
DEMO_ORGANIZATIONS: list[tuple[str, str, str, list[str]]] = [
    ("cloud", "Nimbus Cloud Services", Sector.CLOUD_IT, ["nimbus1", "nimbus2"]),
    ("hospital", "St. Mary's Regional Hospital", Sector.HEALTHCARE, ["stmarys1", "stmarys2"]),
    ("bank", "Harbor Savings Bank", Sector.FINANCE, ["harbor1", "harbor2"]),
    ("water", "Metro Water Utility", Sector.WATER, ["metrowater1"]),
]
STAFF = {
    "facilitator": "Fran Facilitator",
    "evaluator": "Eve Evaluator",
    "observer": "Olu Observer",
    "coordinator": "Cody Coordinator",
}


@dataclass(frozen=True)
class DemoPeople:
    staff: dict[str, User]
    organizations: dict[str, Organization]
    players: dict[str, list[User]]


def facilitators_group() -> Group:
    """The group whose members may author scenarios, run exercises and create the
    organizations that take part (members still join by accepting an invitation)."""
    group, _ = Group.objects.get_or_create(name=FACILITATORS_GROUP)
    group.permissions.add(
        Permission.objects.get(content_type__app_label="scenarios", codename="author_scenario"),
        Permission.objects.get(content_type__app_label="exercises", codename="run_exercise"),
        Permission.objects.get(content_type__app_label="accounts", codename="add_organization"),
    )
    return group


@transaction.atomic
def seed_demo_people() -> DemoPeople:
    """Create (or reset) the demo users and organizations. Safe to run repeatedly."""
    staff = {username: _user(username, name) for username, name in STAFF.items()}
    staff["facilitator"].groups.add(facilitators_group())
    admin = _user("admin", "Ada Admin")
    admin.is_staff = admin.is_superuser = True
    admin.save(update_fields=["is_staff", "is_superuser"])
    organizations: dict[str, Organization] = {}
    players: dict[str, list[User]] = {}
    for role_key, name, sector, usernames in DEMO_ORGANIZATIONS:
        organization, _ = Organization.objects.get_or_create(name=name, defaults={"sector": sector})
        organizations[role_key] = organization
        players[role_key] = []
        for index, username in enumerate(usernames):
            user = _user(username, f"{name.split()[0]} player {index + 1}")
            Membership.objects.get_or_create(
                user=user, organization=organization, defaults={"is_admin": index == 0}
            )
            players[role_key].append(user)
    return DemoPeople(staff=staff, organizations=organizations, players=players)


def _user(username: str, display_name: str) -> User:
    user, _ = User.objects.get_or_create(username=username)
    user.display_name = display_name
    user.set_password(DEMO_PASSWORD)
    user.save()
    return user
