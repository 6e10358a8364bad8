"""The session's user read back written out (``accounts.backends.UserBackend``): the
same row the ORM reads, and still nobody for an inactive or deleted account."""

from __future__ import annotations

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from accounts.backends import UserBackend
from accounts.models import User
from tests import factories

pytestmark = pytest.mark.django_db


def test_it_reads_the_same_user_as_the_orm():
    made = factories.make_user("dana", display_name="Dana Bank", email="dana@example.org")
    user = UserBackend().get_user(made.pk)
    expected = User.objects.get(pk=made.pk)
    for field in User._meta.concrete_fields:
        assert getattr(user, field.attname) == getattr(expected, field.attname), field.name
    assert user.get_session_auth_hash() == expected.get_session_auth_hash()


def test_an_inactive_or_missing_user_is_nobody():
    made = factories.make_user(is_active=False)
    assert UserBackend().get_user(made.pk) is None
    assert UserBackend().get_user(made.pk + 1000) is None


def test_a_password_login_is_read_back_through_it(client):
    factories.make_user("erin")
    response = client.post(
        reverse("accounts:login"), {"username": "erin", "password": factories.PASSWORD}
    )
    assert response.status_code == 302
    assert client.session[BACKEND_SESSION_KEY] == "accounts.backends.UserBackend"
    page = client.get(reverse("accounts:invitations"))
    assert page.status_code == 200
    assert page.wsgi_request.user.username == "erin"


def test_it_reads_the_same_permissions_as_the_orm_in_one_query(django_assert_num_queries):
    made = factories.make_user("fay")
    group = Group.objects.create(name="authors")
    group.permissions.add(Permission.objects.get(codename="author_scenario"))
    made.groups.add(group)
    made.user_permissions.add(Permission.objects.get(codename="add_organization"))
    made.user_permissions.add(Permission.objects.get(codename="author_scenario"))  # both ways
    expected = ModelBackend().get_all_permissions(User.objects.get(pk=made.pk))
    assert expected == {"scenarios.author_scenario", "accounts.add_organization"}
    user = User.objects.get(pk=made.pk)
    with django_assert_num_queries(1):
        assert UserBackend().get_all_permissions(user) == expected
        assert user.has_perm("scenarios.author_scenario")
        assert not user.has_perm("exercises.run_exercise")
    assert UserBackend().get_all_permissions(factories.make_user("gus")) == set()
