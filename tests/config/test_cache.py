"""config/cache.py: one Redis client per process, whatever thread asks."""

from __future__ import annotations

import threading

from config.cache import SharedPoolRedisCache


def test_it_shares_one_client_and_pool_between_threads():
    caches = []

    def in_a_thread() -> None:  # as Django does: a cache object per thread
        caches.append(SharedPoolRedisCache("redis://127.0.0.1:6379/0", {}))

    threads = [threading.Thread(target=in_a_thread) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    clients = {id(cache._cache) for cache in caches}  # built lazily, connects to nothing
    assert len(clients) == 1
    pools = {id(cache._cache._get_connection_pool(write=True)) for cache in caches}
    assert len(pools) == 1


def test_it_keeps_apart_caches_on_other_servers():
    first = SharedPoolRedisCache("redis://127.0.0.1:6379/0", {})
    other = SharedPoolRedisCache("redis://127.0.0.1:6379/1", {})
    assert first._cache is not other._cache


def test_it_makes_one_redis_client_per_pool_not_one_per_call():
    """redis-py's constructor fills ~200 response callbacks: not once per cache call."""
    cache = SharedPoolRedisCache("redis://127.0.0.1:6379/0", {})
    client = cache._cache.get_client(write=True)
    assert cache._cache.get_client(write=True) is client
    assert client.connection_pool is cache._cache._get_connection_pool(write=True)
