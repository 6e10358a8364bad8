"""Exercises URLs: scenario authoring and live runs, each in its own module."""

from exercises import authoring_urls, live_urls

app_name = "exercises"

urlpatterns = [*authoring_urls.urlpatterns, *live_urls.urlpatterns]
