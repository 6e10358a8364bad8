from django.contrib import admin
from django.urls import include, path

from config import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
    path("accounts/", include("accounts.urls")),
    path("", include("onboarding.urls")),
    path("", include("scenarios.urls")),
    path("", include("exercises.urls")),
    path("reports/", include("scoring.urls")),
    path("admin/", admin.site.urls),
]
