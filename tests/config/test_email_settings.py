"""Email settings: the file outbox by default, SMTP from EMAIL_URL or EMAIL_HOST, and
strict parsing that names the bad variable."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import read_email_host, read_email_url
from tests.config.test_settings import run_with_env

PROBE = (
    "import json, django; from django.conf import settings as s; django.setup(); "
    "print(json.dumps([s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_HOST_USER, "
    "s.EMAIL_USE_TLS, str(s.EMAIL_FILE_PATH)]))"
)


def test_the_embedded_default_writes_mail_files_under_the_data_dir():
    result = run_with_env(PROBE)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        '["django.core.mail.backends.filebased.EmailBackend", "localhost", 25, "", false, '
        '"/tmp/cascade-settings-test/mail"]'
    )


def test_an_email_url_switches_to_smtp():
    result = run_with_env(PROBE, EMAIL_URL="smtp+tls://ops%40x.org:s3cret@mail.x.org:2587")
    assert result.returncode == 0, result.stderr
    assert (
        '"django.core.mail.backends.smtp.EmailBackend", "mail.x.org", 2587, "ops@x.org", true'
        in (result.stdout)
    )


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.x.org", ("mail.x.org", 25, False, False)),
        ("smtp+tls://mail.x.org", ("mail.x.org", 587, True, False)),
        ("smtps://u:p@mail.x.org", ("mail.x.org", 465, False, True)),
    ],
)
def test_it_reads_email_urls(monkeypatch, url, expected):
    monkeypatch.setenv("EMAIL_URL", url)
    got = read_email_url()
    assert (got["EMAIL_HOST"], got["EMAIL_PORT"], got["EMAIL_USE_TLS"], got["EMAIL_USE_SSL"]) == (
        expected
    )


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://mail.x.org", "must be an smtp://"),
        ("smtp://", "must name a host"),
        ("smtp://mail.x.org:99999", "invalid port"),
    ],
)
def test_it_refuses_bad_email_urls(monkeypatch, url, message):
    monkeypatch.setenv("EMAIL_URL", url)
    with pytest.raises(ImproperlyConfigured, match=message):
        read_email_url()


def test_it_reads_email_host_and_refuses_tls_with_ssl(monkeypatch):
    monkeypatch.setenv("EMAIL_HOST", "mail.x.org")
    monkeypatch.setenv("EMAIL_USE_TLS", "yes")
    assert read_email_host()["EMAIL_PORT"] == 587
    monkeypatch.setenv("EMAIL_USE_SSL", "1")
    with pytest.raises(ImproperlyConfigured, match="cannot both"):
        read_email_host()
    monkeypatch.delenv("EMAIL_USE_SSL")
    monkeypatch.setenv("EMAIL_PORT", "seven")
    with pytest.raises(ImproperlyConfigured, match="EMAIL_PORT"):
        read_email_host()


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"OIDC_CLIENT_ID": "c"}, "OIDC_CLIENT_SECRET must be set with OIDC_CLIENT_ID."),
        (
            {"OIDC_CLIENT_ID": "c", "OIDC_CLIENT_SECRET": "s"},
            "OIDC_AUTHORIZATION_ENDPOINT must be set.",
        ),
        (
            {
                "OIDC_CLIENT_ID": "c",
                "OIDC_CLIENT_SECRET": "s",
                "OIDC_AUTHORIZATION_ENDPOINT": "idp/auth",
            },
            "OIDC_AUTHORIZATION_ENDPOINT must be an https:// URL naming a host",
        ),
    ],
)
def test_single_sign_on_settings_fail_with_one_clear_line(env, message):
    result = run_with_env("import django; django.setup()", **env)
    assert result.returncode != 0
    assert message in result.stderr


def test_single_sign_on_adds_its_backend_when_configured():
    endpoints = {
        f"OIDC_{name}_ENDPOINT": f"https://idp.example/{name.lower()}"
        for name in ("AUTHORIZATION", "TOKEN", "USERINFO", "JWKS")
    }
    probe = (
        "import django; from django.conf import settings as s; django.setup(); "
        "print(s.AUTHENTICATION_BACKENDS[-1], s.OIDC_OP_TOKEN_ENDPOINT)"
    )
    result = run_with_env(probe, OIDC_CLIENT_ID="c", OIDC_CLIENT_SECRET="s", **endpoints)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "accounts.oidc.OrganizationClaimBackend",
        "https://idp.example/token",
    ]


def test_it_refuses_both_ways_at_once():
    result = run_with_env(PROBE, EMAIL_URL="smtp://a.org", EMAIL_HOST="b.org")
    assert result.returncode != 0
    assert "Set EMAIL_URL or EMAIL_HOST, not both." in result.stderr
