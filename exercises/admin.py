"""Admin for staff: live runs are inspected here, not edited.

Exercises change only through the engine (which writes the timeline), so the admin is
read-only; staff may only delete whole exercises.
"""

from __future__ import annotations

from django.contrib import admin

from exercises import models as m
from scenarios.admin import ReadOnlyAdmin, ReadOnlyInline


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


@admin.register(m.InjectRelease)
class InjectReleaseAdmin(ReadOnlyAdmin):
    list_display = ("exercise", "inject", "released_at", "clock_seconds")
    search_fields = ("exercise__name", "inject__key")


@admin.register(m.PromptWindow)
class PromptWindowAdmin(ReadOnlyAdmin):
    list_display = ("exercise", "prompt", "opened_at", "closed_at")
    search_fields = ("exercise__name", "prompt__key")
