"""Invitation pages: sending (organization admins, facilitators), the roster import and the
emailed link. Views only translate: access → form → service → render."""

from __future__ import annotations

import logging
import smtplib

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from exercises.models import Exercise
from onboarding import access
from onboarding.forms import AccountForm, EmailInviteForm, RosterForm, SeatInviteForm
from onboarding.models import EmailInvitation
from onboarding.roster import Entry, RosterError, plan_roster, read_roster, roster_invite
from onboarding.services import (
    InvitationError,
    InvitationUnusable,
    account_create_and_accept,
    existing_account,
    invitation_accept,
    invitation_decline,
    invitation_issue,
    invitation_redeemable,
    invitation_send,
)

_ROSTER_SESSION = "onboarding:roster:{}"
logger = logging.getLogger(__name__)


def _send(request: HttpRequest, invitation: EmailInvitation, token: str) -> bool:
    """Email the link; False (logged) when the mail server refuses or cannot be reached:
    the invitation exists, and inviting the address again sends a fresh link."""
    link = request.build_absolute_uri(reverse("onboarding:redeem", args=[token]))
    try:
        invitation_send(invitation=invitation, link=link)
    except (smtplib.SMTPException, OSError):
        logger.exception("Could not email the invitation %s", invitation.code)
        return False
    return True


def _report_sent(request: HttpRequest, sent: list[bool]) -> None:
    if all(sent):
        messages.success(request, f"{len(sent)} invitation{pluralize(len(sent))} sent.")
    else:
        failed = sent.count(False)
        messages.error(
            request,
            f"{len(sent) - failed} invitation{pluralize(len(sent) - failed)} sent; "
            f"{failed} could not be emailed "
            "(see the server log): invite those people again.",
        )


# ---------------------------------------------------------------- sending


@login_required
@require_POST
def organization_invite(request: HttpRequest, code: str) -> HttpResponse:
    organization = access.organization_inviter(request.user, code)
    form = EmailInviteForm(request.POST)
    if form.is_valid():
        invitation, token = invitation_issue(
            organization=organization, invited_by=request.user, **form.cleaned_data
        )
        _report_sent(request, [_send(request, invitation, token)])
    else:
        for errors in form.errors.values():
            messages.error(request, " ".join(errors))
    return redirect("accounts:organization", code=organization.code)


@login_required
def exercise_invitations(request: HttpRequest, code: str) -> HttpResponse:
    exercise = access.exercise_inviter(request.user, code)
    return render(request, "onboarding/exercise_invitations.html", _context(exercise))


def _context(exercise: Exercise, **forms) -> dict:
    return {
        "exercise": exercise,
        "invitations": exercise.invitations.select_related(
            "organization", "team__role", "user"
        ).order_by("organization__name", "name", "email"),
        "invite_form": forms.get("invite_form") or SeatInviteForm(exercise=exercise),
        "roster_form": forms.get("roster_form") or RosterForm(),
    }


@login_required
@require_POST
def exercise_invite(request: HttpRequest, code: str) -> HttpResponse:
    exercise = access.exercise_inviter(request.user, code)
    form = SeatInviteForm(request.POST, exercise=exercise)
    if form.is_valid():
        try:
            invitation, token = invitation_issue(
                exercise=exercise, invited_by=request.user, **form.cleaned_data
            )
        except InvitationError as exc:
            form.add_error(None, str(exc))
        else:
            _report_sent(request, [_send(request, invitation, token)])
            return redirect("onboarding:exercise_invitations", code=exercise.code)
    context = _context(exercise, invite_form=form)
    return render(request, "onboarding/exercise_invitations.html", context, status=400)


@login_required
@require_POST
def roster_preview(request: HttpRequest, code: str) -> HttpResponse:
    """Read the upload and show who would be invited; nothing is created yet."""
    exercise = access.exercise_inviter(request.user, code)
    form = RosterForm(request.POST, request.FILES)
    if form.is_valid():
        fmt, data = form.cleaned_data["roster"]
        try:
            entries = read_roster(data, fmt)
        except RosterError as exc:
            form.add_error("roster", f"The roster cannot be read: {exc}.")
        else:
            plan_roster(exercise=exercise, entries=entries, actor=request.user)
            request.session[_ROSTER_SESSION.format(exercise.code)] = [e.as_dict() for e in entries]
            context = {"exercise": exercise, "entries": entries}
            context["has_errors"] = any(entry.errors for entry in entries)
            return render(request, "onboarding/roster_preview.html", context)
    context = _context(exercise, roster_form=form)
    return render(request, "onboarding/exercise_invitations.html", context, status=400)


@login_required
@require_POST
def roster_send(request: HttpRequest, code: str) -> HttpResponse:
    """Invite everyone of the previewed roster in one step."""
    exercise = access.exercise_inviter(request.user, code)
    stored = request.session.pop(_ROSTER_SESSION.format(exercise.code), None)
    if not stored:
        messages.error(request, "Upload the roster again: no previewed roster was found.")
        return redirect("onboarding:exercise_invitations", code=exercise.code)
    entries = [Entry(**{**row, "errors": []}) for row in stored]
    try:
        issued = roster_invite(exercise=exercise, entries=entries, actor=request.user)
    except InvitationError as exc:
        messages.error(request, str(exc))
    else:
        _report_sent(request, [_send(request, invitation, token) for invitation, token in issued])
    return redirect("onboarding:exercise_invitations", code=exercise.code)


# ---------------------------------------------------------------- the emailed link


@never_cache
def redeem(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the email: set a password (new account) or sign in, then accept."""
    try:
        invitation = invitation_redeemable(token)
    except InvitationUnusable as exc:
        status = 404 if exc.reason == "unknown" else 410
        return render(request, "onboarding/unusable.html", {"message": str(exc)}, status=status)
    account = existing_account(invitation)
    form = None
    if not request.user.is_authenticated and account is None:
        form = AccountForm(request.POST or None, email=invitation.email)
    if request.method == "POST":
        try:
            user = _accept(request, invitation, form)
        except InvitationError as exc:
            messages.error(request, str(exc))
        else:
            if user is not None:
                return redirect(_destination(invitation))
    context = {"invitation": invitation, "form": form, "has_account": account is not None}
    return render(
        request, "onboarding/redeem.html", context, status=400 if form and form.errors else 200
    )


def _accept(request: HttpRequest, invitation: EmailInvitation, form: AccountForm | None):
    """The accepting user, or None when the new-account form has errors."""
    if request.user.is_authenticated:
        invitation_accept(invitation=invitation, user=request.user)
        return request.user
    if form is None:
        raise InvitationError("Sign in with your account to accept.")
    if not form.is_valid():
        return None
    user = account_create_and_accept(
        invitation=invitation,
        password=form.cleaned_data["password1"],
        display_name=form.cleaned_data["display_name"],
    )
    login(request, user, backend="accounts.backends.UserBackend")
    return user


def _destination(invitation: EmailInvitation) -> str:
    if invitation.exercise is not None:
        return reverse("exercises:exercise", args=[invitation.exercise.code])
    return reverse("accounts:organization", args=[invitation.organization.code])


@require_POST
def decline(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitation = invitation_redeemable(token)
        invitation_decline(invitation=invitation)
    except InvitationUnusable as exc:
        status = 404 if exc.reason == "unknown" else 410
        return render(request, "onboarding/unusable.html", {"message": str(exc)}, status=status)
    return render(request, "onboarding/declined.html", {"invitation": invitation})
