"""Unguessable URL codes for improvement items and exports (added nullable, filled, then unique)."""

from django.db import migrations, models

import accounts.models


def fill_codes(apps, schema_editor):
    for name in ("ImprovementItem", "ReportExport"):
        model = apps.get_model("scoring", name)
        for row in model.objects.filter(code__isnull=True).only("id"):
            row.code = accounts.models.new_code()
            row.save(update_fields=["code"])


class Migration(migrations.Migration):
    dependencies = [("scoring", "0002_improvement_draft_key")]

    operations = [
        migrations.AddField(
            model_name="improvementitem",
            name="code",
            field=models.CharField(max_length=16, null=True, editable=False),
        ),
        migrations.AddField(
            model_name="reportexport",
            name="code",
            field=models.CharField(max_length=16, null=True, editable=False),
        ),
        migrations.RunPython(fill_codes, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="improvementitem",
            name="code",
            field=models.CharField(
                default=accounts.models.new_code, editable=False, max_length=16, unique=True
            ),
        ),
        migrations.AlterField(
            model_name="reportexport",
            name="code",
            field=models.CharField(
                default=accounts.models.new_code, editable=False, max_length=16, unique=True
            ),
        ),
    ]
