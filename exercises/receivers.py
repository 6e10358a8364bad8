"""Sockets end with the session: when a user logs out or their password changes, every
open exercise socket of that user closes (code 4401), on every server process (the
channel layer carries ``session.end`` to the user's group, ``broadcast.end_sessions``).

A password change is seen on the ``User`` row itself, so every way of changing it counts:
the password change page, the admin, ``manage.py changepassword``, ``set_password`` and
``save`` in code. A socket that reconnects after a password change authenticates again,
and Channels refuses a session whose password hash no longer matches.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from exercises import broadcast


@receiver(user_logged_out)
def close_sockets_on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        broadcast.end_sessions(user.pk)


@receiver(pre_save, sender=settings.AUTH_USER_MODEL)
def note_password_change(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    """Compare the stored hash before the row is written (post_save cannot). A save that
    names its fields without ``password`` (a login's ``last_login``) costs no query."""
    update_fields = kwargs.get("update_fields")
    if raw or instance.pk is None or (update_fields and "password" not in update_fields):
        return
    stored = sender.objects.filter(pk=instance.pk).values_list("password", flat=True).first()
    instance._password_changed = stored is not None and stored != instance.password


@receiver(post_save, sender=settings.AUTH_USER_MODEL)
def close_sockets_on_password_change(sender: Any, instance: Any, **kwargs: Any) -> None:
    if getattr(instance, "_password_changed", False):
        instance._password_changed = False
        broadcast.end_sessions(instance.pk)
