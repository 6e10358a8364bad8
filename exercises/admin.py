"""Admin for staff: scenarios and live runs are inspected here, not edited.

Scenarios are authored in the editor (which enforces versioning and validation) and
exercises change only through the engine (which writes the timeline), so the admin is
read-only for both; staff may only delete draft scenarios and whole exercises.
"""

from __future__ import annotations

from django.contrib import admin

from exercises import models as m


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


class TeamInline(ReadOnlyInline):
    model = m.Team
    fields = ("role", "organization")


class ParticipantInline(ReadOnlyInline):
    model = m.Participant
    fields = ("user", "kind", "team")


@admin.register(m.Exercise)
class ExerciseAdmin(ReadOnlyAdmin):
    list_display = ("name", "scenario", "status", "created_at", "started_at", "ended_at")
    list_filter = ("status",)
    search_fields = ("name", "code", "scenario__title")
    inlines = [TeamInline, ParticipantInline]

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser


@admin.register(m.Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("exercise", "seq", "kind", "created_at")
    list_filter = ("kind",)
    search_fields = ("exercise__name", "exercise__code")


@admin.register(m.Decision)
class DecisionAdmin(ReadOnlyAdmin):
    list_display = ("team", "prompt", "option")
    search_fields = ("team__organization__name", "prompt__key")


@admin.register(m.Share)
class ShareAdmin(ReadOnlyAdmin):
    list_display = ("from_team", "tlp")


@admin.register(m.Observation)
class ObservationAdmin(ReadOnlyAdmin):
    list_display = ("team", "rating")


@admin.register(m.Role)
class RoleAdmin(ReadOnlyAdmin):
    list_display = ("label", "key", "sector", "scenario")
    list_filter = ("sector",)
    search_fields = ("label", "key", "scenario__title")


@admin.register(m.Option)
class OptionAdmin(ReadOnlyAdmin):
    list_display = ("label", "key", "prompt")
    search_fields = ("label", "key", "prompt__key")


@admin.register(m.InjectRelease)
class InjectReleaseAdmin(ReadOnlyAdmin):
    list_display = ("exercise", "inject", "released_at", "clock_seconds")
    search_fields = ("exercise__name", "inject__key")


@admin.register(m.PromptWindow)
class PromptWindowAdmin(ReadOnlyAdmin):
    list_display = ("exercise", "prompt", "opened_at", "closed_at")
    search_fields = ("exercise__name", "prompt__key")
