"""Observations get an unguessable code (their evaluator edits them by it) and the time
of their last revision. Existing rows get a code each before the column turns unique."""

from django.db import migrations, models

import accounts.models


def give_codes(apps, schema_editor):
    Observation = apps.get_model("exercises", "Observation")
    for observation in Observation.objects.filter(code__isnull=True).only("pk"):
        observation.code = accounts.models.new_code()
        observation.save(update_fields=["code"])


class Migration(migrations.Migration):
    dependencies = [("exercises", "0002_collaboration")]

    operations = [
        migrations.AddField(
            model_name="observation",
            name="code",
            field=models.CharField(editable=False, max_length=16, null=True),
        ),
        migrations.RunPython(give_codes, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="observation",
            name="code",
            field=models.CharField(
                default=accounts.models.new_code, editable=False, max_length=16, unique=True
            ),
        ),
        migrations.AddField(
            model_name="observation",
            name="revised_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
