"""The app really talks to PostgreSQL and Redis when configured to."""

from __future__ import annotations

import pytest
from channels.layers import channel_layers
from django.conf import settings
from django.db import connection

from accounts.models import Membership
from accounts.services import organization_create
from tests.factories import make_user


@pytest.mark.django_db
def test_it_stores_organizations_in_postgresql():
    assert connection.vendor == "postgresql"
    organization = organization_create(name="Grid Co", sector="energy", creator=make_user())
    with connection.cursor() as cursor:
        cursor.execute("select version()")
        assert "PostgreSQL" in cursor.fetchone()[0]
    assert Membership.objects.get(organization=organization).is_admin


@pytest.mark.asyncio
async def test_it_carries_group_messages_between_two_redis_layer_instances():
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] in {
        "channels_redis.pubsub.RedisPubSubChannelLayer",
        "channels_redis.core.RedisChannelLayer",
    }
    # Two layer objects stand in for two server processes sharing one Redis.
    sender = channel_layers.make_backend("default")
    receiver = channel_layers.make_backend("default")
    channel = await receiver.new_channel()
    await receiver.group_add("cascade-test-group", channel)
    try:
        await sender.group_send("cascade-test-group", {"type": "probe", "seq": 1})
        message = await receiver.receive(channel)
        assert message == {"type": "probe", "seq": 1}
    finally:
        await receiver.group_discard("cascade-test-group", channel)
        await sender.flush()
