"""Admin for staff: scenarios are inspected here, not edited; the rubric is edited here.

Scenarios are authored in the editor (which enforces versioning and validation), so the
admin is read-only for them; staff may only delete draft scenarios.
"""

from __future__ import annotations

from django.contrib import admin

from scenarios import models as m


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class RoleInline(ReadOnlyInline):
    model = m.Role
    fields = ("key", "label", "sector")


class StageInline(ReadOnlyInline):
    model = m.Stage
    fields = ("key", "title", "order")


@admin.register(m.Scenario)
class ScenarioAdmin(ReadOnlyAdmin):
    list_display = ("title", "key", "version", "status", "updated_at")
    list_filter = ("status",)
    search_fields = ("title", "key", "code")
    inlines = [RoleInline, StageInline]

    def has_delete_permission(self, request, obj=None) -> bool:
        # Published versions are referenced by exercises and immutable; drafts may go.
        allowed = admin.ModelAdmin.has_delete_permission(self, request, obj)
        return allowed and (obj is None or not obj.is_published)


@admin.register(m.Stage)
class StageAdmin(ReadOnlyAdmin):
    list_display = ("title", "key", "scenario")
    search_fields = ("title", "key", "scenario__title")


@admin.register(m.Inject)
class InjectAdmin(ReadOnlyAdmin):
    list_display = ("title", "key", "stage", "channel", "severity", "tlp", "audience", "release")
    list_filter = ("channel", "severity", "tlp", "release")
    search_fields = ("title", "key", "scenario__title")


@admin.register(m.Prompt)
class PromptAdmin(ReadOnlyAdmin):
    list_display = ("key", "question", "stage", "kind", "audience")
    search_fields = ("key", "question", "scenario__title")


@admin.register(m.Transition)
class TransitionAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "scenario", "is_default", "label", "order")
    search_fields = ("scenario__title", "label")


@admin.register(m.Role)
class RoleAdmin(ReadOnlyAdmin):
    list_display = ("label", "key", "sector", "scenario")
    list_filter = ("sector",)
    search_fields = ("label", "key", "scenario__title")


@admin.register(m.Option)
class OptionAdmin(ReadOnlyAdmin):
    list_display = ("label", "key", "prompt")
    search_fields = ("label", "key", "prompt__key")


class CriterionInline(admin.TabularInline):
    model = m.Criterion
    extra = 0
    fields = ["order", "key", "title", "group", "reference", "weight", "threshold"]


@admin.register(m.Rubric)
class RubricAdmin(admin.ModelAdmin):
    list_display = ["title", "key", "version"]
    inlines = [CriterionInline]
