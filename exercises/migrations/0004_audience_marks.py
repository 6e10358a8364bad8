from django.db import migrations, models


def mark_existing_timelines(apps, schema_editor):
    """Fold every exercise's timeline into its marks (the rule of
    ``exercises.events.advance_marks``, copied: a migration keeps the rule of its day)."""
    Exercise = apps.get_model("exercises", "Exercise")
    Event = apps.get_model("exercises", "Event")
    for exercise in Exercise.objects.filter(last_seq__gt=0).iterator():
        teams, latest_all, team = 0, 0, {}
        rows = Event.objects.filter(exercise=exercise).order_by("seq")
        for seq, visibility, team_ids in rows.values_list("seq", "visibility", "team_ids"):
            if visibility in ("all", "teams"):
                teams, team = seq, {}
                if visibility == "all":
                    latest_all = seq
            elif visibility == "some":
                team.update({str(tid): seq for tid in team_ids})
        exercise.audience_marks = {"teams": teams, "all": latest_all, "team": team}
        exercise.save(update_fields=["audience_marks"])


class Migration(migrations.Migration):
    dependencies = [
        ("exercises", "0003_authoring_permissions"),
    ]

    operations = [
        migrations.AddField(
            model_name="exercise",
            name="audience_marks",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.RunPython(mark_existing_timelines, migrations.RunPython.noop),
    ]
