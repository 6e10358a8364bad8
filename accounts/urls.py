from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password/",
        auth_views.PasswordChangeView.as_view(success_url="/accounts/password/done/"),
        name="password_change",
    ),
    path(
        "password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("invitations/", views.invitation_list, name="invitations"),
    path(
        "invitations/<str:code>/accept/",
        views.invitation_answer,
        {"accept": True},
        name="invitation_accept",
    ),
    path(
        "invitations/<str:code>/decline/",
        views.invitation_answer,
        {"accept": False},
        name="invitation_decline",
    ),
    path("organizations/", views.organization_list, name="organizations"),
    path("organizations/new/", views.organization_new, name="organization_new"),
    path("organizations/<str:code>/", views.organization_detail, name="organization"),
    path("organizations/<str:code>/members/", views.member_add, name="member_add"),
    path(
        "organizations/<str:code>/members/<int:membership_id>/remove/",
        views.member_remove,
        name="member_remove",
    ),
]
