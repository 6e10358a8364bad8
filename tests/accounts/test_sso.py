"""Single sign-on with OpenID Connect against a stub identity provider started by the test
(HTTP on 127.0.0.1, RS256-signed ID tokens, a JWKS endpoint): no network."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client
from django.urls import reverse

from accounts.models import Invitation, Membership, User
from tests.factories import PASSWORD

CLIENT_ID = "cascade-test"


class StubIdP:
    """Just enough of an OpenID provider for the authorization code flow."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.claims: dict = {}
        self.audience = CLIENT_ID
        self.nonces: dict[str, str] = {}
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _handler(self):
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet test output
                pass

            def _json(self, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                url = urlparse(self.path)
                if url.path == "/authorize":
                    query = {k: v[0] for k, v in parse_qs(url.query).items()}
                    code = secrets.token_urlsafe(16)
                    idp.nonces[code] = query.get("nonce", "")
                    back = urlencode({"code": code, "state": query["state"]})
                    self.send_response(302)
                    self.send_header("Location", f"{query['redirect_uri']}?{back}")
                    self.end_headers()
                elif url.path == "/userinfo":
                    self._json(idp.claims)
                elif url.path == "/jwks":
                    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(idp.key.public_key()))
                    self._json({"keys": [{**jwk, "kid": "k1", "alg": "RS256", "use": "sig"}]})
                else:
                    self.send_error(404)

            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                nonce = idp.nonces.pop(form.get("code", ""), None)
                if self.path != "/token" or nonce is None:
                    self.send_error(400)
                    return
                now = int(time.time())
                id_token = jwt.encode(
                    {"iss": idp.url, "aud": idp.audience, "sub": idp.claims["email"],
                     "nonce": nonce, "iat": now, "exp": now + 300},
                    idp.key, algorithm="RS256", headers={"kid": "k1"},
                )  # fmt: skip
                self._json({"access_token": "at", "id_token": id_token, "token_type": "Bearer"})

        return Handler

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def idp(settings, monkeypatch) -> Iterator[StubIdP]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    stub = StubIdP()
    settings.OIDC_ENABLED = True
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = "secret"
    settings.OIDC_RP_SIGN_ALGO = "RS256"
    settings.OIDC_ISSUER = stub.url
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{stub.url}/authorize"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{stub.url}/token"
    settings.OIDC_OP_USER_ENDPOINT = f"{stub.url}/userinfo"
    settings.OIDC_OP_JWKS_ENDPOINT = f"{stub.url}/jwks"
    settings.AUTHENTICATION_BACKENDS = [
        *settings.AUTHENTICATION_BACKENDS,
        "accounts.oidc.OrganizationClaimBackend",
    ]
    yield stub
    stub.stop()


def sign_in_through(client: Client):
    """Follow the code flow: Cascade → provider → Cascade's callback; its answer."""
    to_provider = client.get(reverse("accounts:sso_start"))
    assert to_provider.status_code == 302
    back = requests.get(to_provider["Location"], allow_redirects=False, timeout=5)
    callback = urlparse(back.headers["Location"])
    assert callback.path == reverse("accounts:sso_callback")
    return client.get(f"{callback.path}?{callback.query}")


def test_a_new_person_signs_in_and_is_offered_the_claimed_organization(idp, org_a, bob):
    idp.claims = {
        "email": "Dan@Nimbus.example",
        "name": "Dan Cloud",
        "organization": "Nimbus Cloud",
    }
    client = Client()
    login_page = client.get(reverse("accounts:login"))
    assert b"Sign in with single sign-on" in login_page.content
    assert sign_in_through(client)["Location"] == "/"
    dan = User.objects.get(email="dan@nimbus.example")
    assert (dan.username, dan.display_name) == ("dan@nimbus.example", "Dan Cloud")
    assert client.get("/").context["user"] == dan
    # The claim is an offer: a member only after accepting.
    assert Invitation.objects.filter(user=dan, organization=org_a, invited_by=None).exists()
    assert not Membership.objects.filter(user=dan).exists()
    # Local accounts keep working.
    assert Client().login(username="bob", password=PASSWORD)


def test_an_existing_account_with_that_address_is_signed_in(idp, bob):
    bob.email = "bob@nimbus.example"
    bob.save()
    idp.claims = {"email": "bob@nimbus.example", "email_verified": True}
    client = Client()
    sign_in_through(client)
    assert client.get("/").context["user"] == bob
    assert User.objects.filter(email__iexact="bob@nimbus.example").count() == 1


@pytest.mark.django_db
def test_a_token_for_another_client_or_an_unverified_address_signs_nobody_in(idp):
    idp.claims = {"email": "eve@x.example"}
    idp.audience = "another-client"
    client = Client()
    assert sign_in_through(client).status_code == 400  # SuspiciousOperation
    assert "_auth_user_id" not in client.session
    idp.audience = CLIENT_ID
    idp.claims = {"email": "eve@x.example", "email_verified": False}
    sign_in_through(client)
    assert "_auth_user_id" not in client.session
    assert not User.objects.filter(email="eve@x.example").exists()


@pytest.mark.django_db
def test_single_sign_on_is_off_unless_configured(client):
    assert client.get(reverse("accounts:sso_start")).status_code == 404
    assert client.get(reverse("accounts:sso_callback")).status_code == 404
    assert b"Sign in with" not in client.get(reverse("accounts:login")).content
