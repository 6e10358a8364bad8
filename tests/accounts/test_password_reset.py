"""Password reset by email with Django's own views."""

from __future__ import annotations

import re

from django.core import mail
from django.urls import reverse

from accounts.models import User

NEW_PASSWORD = "another-long-passphrase-77"


def test_the_login_page_links_to_the_reset(client, db):
    page = client.get(reverse("accounts:login"))
    assert reverse("accounts:password_reset").encode() in page.content


def test_a_user_resets_a_forgotten_password_through_the_emailed_link(client, bob):
    bob.email = "bob@nimbus.example"
    bob.save()
    answer = client.post(reverse("accounts:password_reset"), {"email": "bob@nimbus.example"})
    assert answer.url == reverse("accounts:password_reset_done")
    (message,) = mail.outbox
    assert message.to == ["bob@nimbus.example"]
    assert message.subject == "Reset your Cascade password"
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", message.body).group(1)
    form = client.get(link, follow=True)  # Django swaps the token for a session marker
    assert b"Choose a new password" in form.content
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert done.url == reverse("accounts:password_reset_complete")
    assert User.objects.get(pk=bob.pk).check_password(NEW_PASSWORD)
    reused = client.get(link, follow=True)
    assert b"This link cannot be used" in reused.content


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, db):
    answer = client.post(reverse("accounts:password_reset"), {"email": "nobody@x.org"})
    assert answer.url == reverse("accounts:password_reset_done")
    assert mail.outbox == []
