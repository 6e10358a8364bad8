"""Live exercise pages: lobby, control console, team room, evaluator and observer views."""

from __future__ import annotations

from django.urls import path

from exercises import collab_views, views

app_name = "exercises"

urlpatterns = [
    path("exercises/", views.exercise_list, name="exercise_list"),
    path("exercises/new/", views.exercise_new, name="exercise_new"),
    path("exercises/<str:code>/", views.exercise_enter, name="exercise"),
    path("exercises/<str:code>/lobby/", views.lobby, name="lobby"),
    path("exercises/<str:code>/teams/", views.team_add, name="team_add"),
    path("exercises/<str:code>/participants/", views.participant_add, name="participant_add"),
    path("exercises/<str:code>/control/", views.control, name="control"),
    path("exercises/<str:code>/presence/", views.presence_panel, name="presence"),
    path("exercises/<str:code>/control/branch/", views.branch_preview, name="branch_preview"),
    path("exercises/<str:code>/control/due/", views.due_next, name="due_next"),
    path("exercises/<str:code>/start/", views.start, name="start"),
    path("exercises/<str:code>/pause/", views.pause, name="pause"),
    path("exercises/<str:code>/resume/", views.resume, name="resume"),
    path("exercises/<str:code>/advance/", views.advance, name="advance"),
    path("exercises/<str:code>/advance/confirm/", views.advance_confirm, name="advance_confirm"),
    path("exercises/<str:code>/end/", views.end, name="end"),
    path("exercises/<str:code>/hotwash/", views.hotwash, name="hotwash"),
    path(
        "exercises/<str:code>/injects/<slug:inject_key>/release/",
        views.inject_release,
        name="inject_release",
    ),
    path(
        "exercises/<str:code>/prompts/<slug:prompt_key>/<str:verb>/",
        views.prompt_toggle,
        name="prompt_toggle",
    ),
    path("exercises/<str:code>/room/", views.room, name="room"),
    path("exercises/<str:code>/room/prompts/<slug:prompt_key>/", views.decide, name="decide"),
    path("exercises/<str:code>/room/share/", views.share, name="share"),
    path("exercises/<str:code>/room/thread/", collab_views.thread_post, name="thread_post"),
    path("exercises/<str:code>/room/relay/", collab_views.relay_form, name="relay_form"),
    path("exercises/<str:code>/room/relay/send/", collab_views.relay, name="relay"),
    path("exercises/<str:code>/room/reply/", collab_views.reply, name="share_reply"),
    path("exercises/<str:code>/room/summary/", collab_views.summary_form, name="summary_form"),
    path("exercises/<str:code>/room/summary/send/", collab_views.summarize, name="summarize"),
    path("exercises/<str:code>/room/rfis/", collab_views.rfi_ask, name="rfi_ask"),
    path(
        "exercises/<str:code>/rfis/<str:rfi_code>/answer/",
        collab_views.rfi_answer,
        name="rfi_answer",
    ),
    path(
        "exercises/<str:code>/control/threads/<str:team_code>/",
        collab_views.control_thread_post,
        name="control_thread_post",
    ),
    path("exercises/<str:code>/evaluate/", views.evaluate, name="evaluate"),
    path(
        "exercises/<str:code>/evaluate/observations/", views.observe_record, name="observe_record"
    ),
    path(
        "exercises/<str:code>/evaluate/observations/<str:observation_code>/",
        views.observation_revise,
        name="observation_revise",
    ),
    path(
        "exercises/<str:code>/evaluate/observations/<str:observation_code>/delete/",
        views.observation_delete,
        name="observation_delete",
    ),
    path("exercises/<str:code>/observe/", views.observe, name="observe"),
    path("exercises/<str:code>/observe/picture/", views.observer_picture, name="observer_picture"),
    path("join/<str:join_code>/", views.join, name="join"),
]
