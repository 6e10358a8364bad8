"""Django's Redis cache with one client, and so one connection pool, per process.

Django keeps a cache object per thread, and its Redis client a connection pool per cache
object. Under ASGI every request runs in a thread of its own, so every request that used
the cache (each decision takes a rate-limit token, ``exercises/engine/rate_limits.py``)
opened a new TCP connection to Redis, with its handshake: a tenth of a Daphne process's
samples during bench/bench_path.py's decision phase. redis-py's pools are thread-safe
(and reset themselves in a forked child), so the process shares one.
"""

from __future__ import annotations

import threading

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.utils.functional import cached_property

_clients: dict[str, RedisCacheClient] = {}
_lock = threading.Lock()


class SharedPoolRedisCache(RedisCache):
    @cached_property
    def _cache(self) -> RedisCacheClient:
        key = repr((self._servers, sorted(self._options.items())))
        with _lock:
            if key not in _clients:
                _clients[key] = self._class(self._servers, **self._options)
            return _clients[key]
