"""Deployment security: CSP, login throttling, and a clean ``check --deploy``."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.config.test_settings import run_with_env
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_it_sends_a_strict_content_security_policy(client, bob):
    client.force_login(bob)
    response = client.get(reverse("home"))
    policy = response.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert "'nonce-" in directives["script-src"]
    assert "unsafe-eval" not in policy
    assert "unsafe-inline" not in directives["script-src"]
    assert directives["frame-ancestors"] == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_it_tells_htmx_not_to_eval_or_inject_styles(client, bob):
    client.force_login(bob)
    page = client.get(reverse("home")).content.decode()
    assert '"allowEval": false' in page
    assert '"includeIndicatorStyles": false' in page


def test_it_locks_out_a_username_after_repeated_failures(client, bob, settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 3
    url = reverse("accounts:login")
    for _ in range(3):
        client.post(url, {"username": "bob", "password": "wrong"})
    locked = client.post(url, {"username": "bob", "password": PASSWORD})
    assert locked.status_code == 429
    assert "Too many failed log-in attempts" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_it_still_lets_other_users_in_during_a_lockout(client, bob, carol, settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 2
    url = reverse("accounts:login")
    for _ in range(2):
        client.post(url, {"username": "bob", "password": "wrong"})
    response = client.post(url, {"username": "carol", "password": PASSWORD})
    assert response.status_code == 302


def test_it_passes_the_deployment_checklist_when_configured_for_production():
    result = run_with_env(
        "import django, sys; django.setup(); from django.core.management import call_command; "
        "call_command('check', '--deploy', '--fail-level', 'WARNING')",
        DEBUG="0",
        SECRET_KEY="x7#kP2-production-grade-secret-key-with-plenty-of-entropy-93vQ!zL0",
        SECURE_COOKIES="1",
        SECURE_HSTS_SECONDS="31536000",
        SECURE_SSL_REDIRECT="1",
        SECURE_HSTS_PRELOAD="1",
        ALLOWED_HOSTS="ttx.example.org",
    )
    assert result.returncode == 0, result.stderr


def test_it_refuses_a_bad_throttling_setting_with_one_line():
    result = run_with_env("import django; django.setup()", LOGIN_FAILURE_LIMIT="many")
    assert result.returncode != 0
    assert "LOGIN_FAILURE_LIMIT='many' is not a whole number" in result.stderr
