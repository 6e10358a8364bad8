"""Django's Redis cache with one client, and so one connection pool, per process.

Django keeps a cache object per thread, and its Redis client a connection pool per cache
object. Under ASGI every request runs in a thread of its own, so every request that used
the cache (each decision takes a rate-limit token, ``exercises/engine/rate_limits.py``)
opened a new TCP connection to Redis, with its handshake: a tenth of a Daphne process's
samples during bench/bench_path.py's decision phase. redis-py's pools are thread-safe
(and reset themselves in a forked child), so the process shares one.

Django's client also builds a new ``redis.Redis`` for every cache call, and redis-py's
constructor fills a case-insensitive table of ~200 response callbacks each time: 3 of
them per decide POST (session, rate limit, …) were ~5 % of its CPU in cProfile. A
``redis.Redis`` over a pool is thread-safe for plain commands (it takes a connection
from the pool per command), so each pool gets one, made once.
"""

from __future__ import annotations

import threading
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.functional import cached_property
from redis.commands.core import Script


class OneClientPerPool(RedisCacheClient):
    """Django's Redis cache client, with one ``redis.Redis`` per connection pool."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._redis_clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)
        client = self._redis_clients.get(id(pool))
        if client is None:  # two threads may both build one: either will do
            client = self._redis_clients.setdefault(id(pool), self._client(connection_pool=pool))
        return client


_clients: dict[str, RedisCacheClient] = {}
_lock = threading.Lock()


class SharedPoolRedisCache(RedisCache):
    @cached_property
    def _cache(self) -> RedisCacheClient:
        key = repr((self._servers, sorted(self._options.items())))
        with _lock:
            if key not in _clients:
                _clients[key] = OneClientPerPool(self._servers, **self._options)
            return _clients[key]

    def run_script(self, script: Script, key: str, *args: Any) -> Any:
        """Run the Lua ``script`` on the cache's ``key`` (with the cache's prefix and
        version) in one round trip, for a read and a write that the cache API would make
        two calls of (``exercises/engine/rate_limits.py``)."""
        key = self.make_and_validate_key(key)
        return script(keys=[key], args=args, client=self._cache.get_client(key, write=True))
