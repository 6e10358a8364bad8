from __future__ import annotations

from django.core.management.base import BaseCommand

from accounts.demo import DEMO_PASSWORD, seed_demo_people


class Command(BaseCommand):
    help = "Create demo users and organizations (idempotent) and print their credentials."

    def handle(self, *args, **options) -> None:
        people = seed_demo_people()
        self.stdout.write(self.style.SUCCESS("Demo ready. Every demo account's password is:"))
        self.stdout.write(f"    {DEMO_PASSWORD}\n")
        rows = [("admin", "site admin (Django admin at /admin/)")]
        rows += [(user.username, user.display_name) for user in people.staff.values()]
        for role_key, users in people.players.items():
            organization = people.organizations[role_key]
            rows += [(user.username, f"player, {organization}") for user in users]
        width = max(len(username) for username, _ in rows)
        for username, what in rows:
            self.stdout.write(f"    {username.ljust(width)}  {what}")
