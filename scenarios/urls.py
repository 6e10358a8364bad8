"""Scenario authoring pages (facilitators only), under ``scenarios/``."""

from __future__ import annotations

from django.urls import path

from scenarios import views

app_name = "scenarios"

PARTS = "<str:code>/<slug:kind>/<str:ref>"

urlpatterns = [
    path("scenarios/", views.scenario_list, name="scenario_list"),
    path("scenarios/new/", views.scenario_create, name="scenario_create"),
    path("scenarios/import/", views.scenario_import, name="scenario_import"),
    path("scenarios/<str:code>/", views.scenario_detail, name="scenario_detail"),
    path("scenarios/<str:code>/graph/", views.scenario_graph, name="scenario_graph"),
    path("scenarios/<str:code>/grid/", views.scenario_grid, name="scenario_grid"),
    path("scenarios/<str:code>/grid/_add/", views.grid_add, name="grid_add"),
    path("scenarios/<str:code>/grid/<slug:key>/", views.grid_row, name="grid_row"),
    path("scenarios/<str:code>/preview/", views.scenario_preview, name="scenario_preview"),
    path("scenarios/<str:code>/export/<slug:fmt>/", views.scenario_export, name="scenario_export"),
    path("scenarios/<str:code>/publish/", views.scenario_publish, name="scenario_publish"),
    path("scenarios/<str:code>/new-draft/", views.scenario_new_draft, name="scenario_new_draft"),
    path("scenarios/<str:code>/duplicate/", views.scenario_duplicate, name="scenario_duplicate"),
    path("scenarios/<str:code>/delete/", views.scenario_delete, name="scenario_delete"),
    path("scenarios/<str:code>/details/", views.details_update, name="scenario_details"),
    path(
        "scenarios/<str:code>/roles/add/",
        views.part_create,
        {"kind": "role"},
        name="role_create",
    ),
    path(
        "scenarios/<str:code>/stages/add/",
        views.part_create,
        {"kind": "stage"},
        name="stage_create",
    ),
    # An inject, prompt or transition of the stage ``parent``.
    path(
        "scenarios/<str:code>/stages/<slug:parent>/<slug:kind>/add/",
        views.part_create,
        name="stage_part_create",
    ),
    # An option or consequence of the prompt ``parent``.
    path(
        "scenarios/<str:code>/prompts/<slug:parent>/<slug:kind>/add/",
        views.part_create,
        name="prompt_part_create",
    ),
    path(f"scenarios/{PARTS}/edit/", views.part_edit, name="part_edit"),
    path(f"scenarios/{PARTS}/delete/", views.part_delete, name="part_delete"),
    path(f"scenarios/{PARTS}/duplicate/", views.part_duplicate, name="part_duplicate"),
    path(f"scenarios/{PARTS}/move/<slug:step>/", views.part_move, name="part_move"),
    path(f"scenarios/{PARTS}/order/", views.part_reorder, name="part_reorder"),
    path("scenarios/<str:code>/undo/", views.scenario_undo, name="scenario_undo"),
    path(
        "scenarios/<str:code>/stages/<slug:parent>/prompt/option-row/",
        views.prompt_option_row,
        name="option_row",
    ),
]
