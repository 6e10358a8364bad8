from __future__ import annotations

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.urls import reverse

from demo.exercises import (
    seed_demo_earlier_exercise,
    seed_demo_exercise,
    seed_demo_played_exercise,
)
from demo.people import DEMO_PASSWORD, seed_demo_people


class Command(BaseCommand):
    help = (
        "Load the shipped rubric and scenarios, create demo users and organizations, a demo "
        "exercise in the lobby and two finished runs with their after-action reports (all "
        "idempotent), and print the credentials."
    )

    def handle(self, *args, **options) -> None:
        call_command("load_fixtures", stdout=self.stdout)
        people = seed_demo_people()
        exercise = seed_demo_exercise(people)
        seed_demo_earlier_exercise(people)
        played = seed_demo_played_exercise(people)
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
        lobby = reverse("exercises:lobby", args=[exercise.code])
        self.stdout.write(
            f"\nDemo exercise {exercise.name!r} is in the lobby at {lobby}: log in as "
            "facilitator, open it and press Start; players open it from their home page."
        )
        report = reverse("scoring:report", args=[played.code])
        self.stdout.write(
            f"Demo exercise {played.name!r} was played to the end: its after-action report "
            f"is at {report} (log in as facilitator, coordinator or evaluator; players see "
            "their own team's part)."
        )
        trends = reverse("scoring:trends")
        self.stdout.write(
            "It was also played a quarter earlier, without the sharing; trends across both "
            f"runs, with the improvement items completed in between, are at {trends}."
        )
