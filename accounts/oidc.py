"""Single sign-on with OpenID Connect (mozilla-django-oidc), on only when configured.

The library runs the code flow (state, nonce, token, signature against the provider's
JWKS). This backend adds what Cascade needs on top:

- the ID token must be for this client (``aud``) and, with ``OIDC_ISSUER`` set, from that
  issuer (the library checks neither);
- the address must not be flagged unverified (``email_verified: false``), since accounts
  are matched by address;
- a new account's username is its address and its display name the ``name`` claim;
- the organization named by the ``OIDC_ORGANIZATION_CLAIM`` claim (a name or a list of
  names of existing organizations) becomes a pending *invitation*, never a membership:
  joining still needs the person's acceptance on ``/accounts/invitations/``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from accounts.models import Organization, User
from accounts.services import invitation_create


class OrganizationClaimBackend(OIDCAuthenticationBackend):
    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        payload = super().verify_token(token, **kwargs)
        audience = payload.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("The ID token is for another client.")
        issuer = getattr(settings, "OIDC_ISSUER", "")
        if issuer and payload.get("iss") != issuer:
            raise SuspiciousOperation("The ID token comes from another issuer.")
        return payload

    def verify_claims(self, claims: dict[str, Any]) -> bool:
        return bool(claims.get("email")) and claims.get("email_verified") is not False

    def create_user(self, claims: dict[str, Any]) -> User:
        email = claims["email"].lower()
        with transaction.atomic():
            user = User.objects.create_user(
                username=email, email=email, display_name=str(claims.get("name", ""))[:120]
            )
            self._offer_organizations(user, claims)
        return user

    def update_user(self, user: User, claims: dict[str, Any]) -> User:
        self._offer_organizations(user, claims)
        return user

    def _offer_organizations(self, user: User, claims: dict[str, Any]) -> None:
        """Invite ``user`` to each existing organization the claim names (not a member yet)."""
        names = claims.get(settings.OIDC_ORGANIZATION_CLAIM) or []
        names = [names] if isinstance(names, str) else [n for n in names if isinstance(n, str)]
        for organization in Organization.objects.filter(name__in=names):
            invitation_create(organization=organization, username=user.username, invited_by=None)
