"""Admin for the improvement plan; computed rows are read-only."""

from __future__ import annotations

from django.contrib import admin

from scoring.models import Gap, ImprovementItem, ReportExport, Score


@admin.register(ImprovementItem)
class ImprovementItemAdmin(admin.ModelAdmin):
    list_display = ["criterion", "organization", "exercise", "status", "completion_date"]
    list_filter = ["status", "capability_element"]
    search_fields = ["observation", "corrective_action", "point_of_contact"]
    readonly_fields = ["code", "draft_key", "gap", "exercise", "criterion"]


class ComputedAdmin(admin.ModelAdmin):
    """Scores, gaps and exports are computed: look, never edit."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Score)
class ScoreAdmin(ComputedAdmin):
    list_display = ["exercise", "team", "criterion", "value", "computed_at"]


@admin.register(Gap)
class GapAdmin(ComputedAdmin):
    list_display = ["exercise", "kind", "criterion", "team", "severity"]
    list_filter = ["kind"]


@admin.register(ReportExport)
class ReportExportAdmin(ComputedAdmin):
    list_display = ["exercise", "format", "status", "progress", "requested_by", "created_at"]
