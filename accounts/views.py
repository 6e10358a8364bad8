from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from accounts.access import (
    invitation_for,
    organization_for_admin,
    organization_for_member,
    require_organization_creator,
)
from accounts.forms import InviteForm, OrganizationForm
from accounts.models import Membership, Organization
from accounts.services import (
    MembershipError,
    invitation_accept,
    invitation_create,
    invitation_decline,
    membership_remove,
    organization_create,
)


class LoginView(auth_views.LoginView):
    """Django's login, with the single sign-on button when OpenID Connect is configured."""

    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["sso_name"] = settings.OIDC_PROVIDER_NAME if settings.OIDC_ENABLED else ""
        return context


def _require_sso() -> None:
    if not settings.OIDC_ENABLED:
        raise Http404("Single sign-on is not configured.")


def sso_start(request: HttpRequest) -> HttpResponse:
    """Off (404) unless configured; then the library sends the browser to the provider."""
    _require_sso()
    return OIDCAuthenticationRequestView.as_view()(request)


def sso_callback(request: HttpRequest) -> HttpResponse:
    _require_sso()
    return OIDCAuthenticationCallbackView.as_view()(request)


@login_required
def organization_list(request: HttpRequest) -> HttpResponse:
    organizations = Organization.objects.filter(memberships__user=request.user).distinct()
    return render(request, "accounts/organization_list.html", {"organizations": organizations})


@login_required
def organization_new(request: HttpRequest) -> HttpResponse:
    require_organization_creator(request.user)
    form = OrganizationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        organization = organization_create(creator=request.user, **form.cleaned_data)
        messages.success(request, f"{organization} created; you are its admin.")
        return redirect("accounts:organization", code=organization.code)
    return render(request, "accounts/organization_new.html", {"form": form})


@login_required
def organization_detail(request: HttpRequest, code: str) -> HttpResponse:
    organization, membership = organization_for_member(request.user, code)
    can_manage = request.user.is_staff or bool(membership and membership.is_admin)
    context = {
        "organization": organization,
        "memberships": organization.memberships.select_related("user"),
        "can_manage": can_manage,
        "form": InviteForm(),
        "invitations": organization.invitations.select_related("user") if can_manage else [],
    }
    return render(request, "accounts/organization_detail.html", context)


@login_required
@require_POST
def member_add(request: HttpRequest, code: str) -> HttpResponse:
    organization = organization_for_admin(request.user, code)
    form = InviteForm(request.POST)
    if form.is_valid():
        invitation_create(organization=organization, invited_by=request.user, **form.cleaned_data)
        # The same answer whether or not the account exists.
        messages.success(
            request,
            f"If “{form.cleaned_data['username']}” has an account, they are invited; "
            "they join once they accept.",
        )
    else:
        for error in form.errors.get("username", []):
            messages.error(request, error)
    return redirect("accounts:organization", code=organization.code)


@login_required
def invitation_list(request: HttpRequest) -> HttpResponse:
    invitations = request.user.invitations.select_related("organization", "invited_by")
    return render(request, "accounts/invitations.html", {"invitations": invitations})


@login_required
@require_POST
def invitation_answer(request: HttpRequest, code: str, *, accept: bool) -> HttpResponse:
    invitation = invitation_for(request.user, code)
    organization = invitation.organization
    if accept:
        invitation_accept(invitation=invitation)
        messages.success(request, f"You are now a member of {organization}.")
        return redirect("accounts:organization", code=organization.code)
    invitation_decline(invitation=invitation)
    messages.success(request, f"You declined the invitation to {organization}.")
    return redirect("accounts:invitations")


@login_required
@require_POST
def member_remove(request: HttpRequest, code: str, membership_id: int) -> HttpResponse:
    organization = organization_for_admin(request.user, code)
    membership = get_object_or_404(Membership, pk=membership_id, organization=organization)
    try:
        membership_remove(membership=membership)
    except MembershipError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{membership.user} left {organization}.")
    return redirect("accounts:organization", code=organization.code)
