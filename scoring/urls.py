"""After-action pages: scores, gaps, improvement plan, exports, comparisons."""

from __future__ import annotations

from django.urls import path
from django.views.decorators.cache import never_cache

from scoring import views

app_name = "scoring"

# Every page here shows report data (scores, decisions, TLP-marked shares) or downloads
# it: Cache-Control: no-store on all of them, so no browser or proxy keeps a copy.

urlpatterns = [
    path("", never_cache(views.report_list), name="list"),
    path("plan/", never_cache(views.plan_index), name="plan"),
    path("compare/", never_cache(views.compare), name="compare"),
    path("trends/", never_cache(views.trends_page), name="trends"),
    path("trends/export.<str:fmt>", never_cache(views.trends_export), name="trends-export"),
    path("<str:code>/", never_cache(views.report_detail), name="report"),
    path("<str:code>/recompute/", never_cache(views.report_recompute), name="recompute"),
    path("<str:code>/plan/<str:item>/", never_cache(views.item_edit), name="item-edit"),
    path("<str:code>/plan/<str:item>/row/", never_cache(views.item_row), name="item-row"),
    path("<str:code>/exports/", never_cache(views.export_create), name="export-create"),
    path(
        "<str:code>/sharing.<str:fmt>",
        never_cache(views.sharing_export),
        name="sharing-export",
    ),
    path(
        "<str:code>/exports/<str:export>/", never_cache(views.export_status), name="export-status"
    ),
    path(
        "<str:code>/exports/<str:export>/download/",
        never_cache(views.export_download),
        name="export-download",
    ),
]
