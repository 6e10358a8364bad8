from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.access import organization_for_admin, organization_for_member
from accounts.forms import AddMemberForm, OrganizationForm
from accounts.models import Membership, Organization
from accounts.services import (
    MembershipError,
    membership_add,
    membership_remove,
    organization_create,
)


@login_required
def organization_list(request: HttpRequest) -> HttpResponse:
    organizations = Organization.objects.filter(memberships__user=request.user).distinct()
    return render(request, "accounts/organization_list.html", {"organizations": organizations})


@login_required
def organization_new(request: HttpRequest) -> HttpResponse:
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
        "form": AddMemberForm(),
    }
    return render(request, "accounts/organization_detail.html", context)


@login_required
@require_POST
def member_add(request: HttpRequest, code: str) -> HttpResponse:
    organization = organization_for_admin(request.user, code)
    form = AddMemberForm(request.POST)
    if form.is_valid():
        user = form.cleaned_data["username"]
        membership_add(organization=organization, user=user, is_admin=form.cleaned_data["is_admin"])
        messages.success(request, f"{user} is now a member of {organization}.")
    else:
        for error in form.errors.get("username", []):
            messages.error(request, error)
    return redirect("accounts:organization", code=organization.code)


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
