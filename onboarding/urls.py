from django.urls import path

from onboarding import views

app_name = "onboarding"

urlpatterns = [
    path("invite/<str:token>/", views.redeem, name="redeem"),
    path("invite/<str:token>/decline/", views.decline, name="decline"),
    path(
        "accounts/organizations/<str:code>/invite/",
        views.organization_invite,
        name="organization_invite",
    ),
    path(
        "exercises/<str:code>/invitations/", views.exercise_invitations, name="exercise_invitations"
    ),
    path("exercises/<str:code>/invitations/send/", views.exercise_invite, name="exercise_invite"),
    path("exercises/<str:code>/roster/", views.roster_preview, name="roster_preview"),
    path("exercises/<str:code>/roster/send/", views.roster_send, name="roster_send"),
]
