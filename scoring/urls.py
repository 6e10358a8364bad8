"""After-action pages: scores, gaps, improvement plan, exports, comparisons."""

from __future__ import annotations

from django.urls import path

from scoring import views

app_name = "scoring"

urlpatterns = [
    path("", views.report_list, name="list"),
    path("plan/", views.plan_index, name="plan"),
    path("compare/", views.compare, name="compare"),
    path("<str:code>/", views.report_detail, name="report"),
    path("<str:code>/recompute/", views.report_recompute, name="recompute"),
    path("<str:code>/plan/<str:item>/", views.item_edit, name="item-edit"),
    path("<str:code>/plan/<str:item>/row/", views.item_row, name="item-row"),
    path("<str:code>/exports/", views.export_create, name="export-create"),
    path("<str:code>/exports/<str:export>/", views.export_status, name="export-status"),
    path(
        "<str:code>/exports/<str:export>/download/",
        views.export_download,
        name="export-download",
    ),
]
