"""Django's Redis cache, keeping one redis-py client per connection pool, plus `count_and_get`:
a rate-limit counter and a cached value in one round trip, and `count_in_window`: the hits of a
sliding window.

Django builds a new `redis.Redis` object for every cache call; with redis-py 8 that costs more
than the round trip itself (it rebuilds its response-callback table). The client is thread-safe
and only wraps the pool, so one per pool is enough."""

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class ReusingRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(connection_pool=self._get_connection_pool(write))
        return client

    def count_and_get(self, counter: str, ttl: int, key: str | None):
        pipeline = self.get_client(write=True).pipeline(transaction=False)
        pipeline.incr(counter)
        pipeline.expire(counter, ttl, nx=True)  # the window starts at its first hit
        if key is not None:
            pipeline.get(key)
        hits, _, *value = pipeline.execute()
        return hits, self._serializer.loads(value[0]) if value and value[0] is not None else None

    def count_and_sum(self, counter: str, ttl: int, keys: list[str]) -> int:
        pipeline = self.get_client(write=True).pipeline(transaction=False)
        pipeline.incr(counter)
        pipeline.expire(counter, ttl, nx=True)
        pipeline.mget(keys)
        hits, _, others = pipeline.execute()
        return hits + sum(int(value) for value in others if value is not None)


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusingRedisCacheClient

    def count_and_get(self, counter: str, ttl: int, key: str | None):
        key = None if key is None else self.make_and_validate_key(key)
        return self._cache.count_and_get(self.make_and_validate_key(counter), ttl, key)

    def count_and_sum(self, counter: str, ttl: int, keys: list[str]) -> int:
        keys = [self.make_and_validate_key(key) for key in keys]
        return self._cache.count_and_sum(self.make_and_validate_key(counter), ttl, keys)


def count_and_get(counter: str, ttl: int, key: str | None = None) -> tuple[int, object]:
    """Add one to the integer `counter` (which lives `ttl` seconds from its first hit) and read
    `key` if given (None when absent). One round trip on Redis; other caches make separate calls."""
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        return cache.count_and_get(counter, ttl, key)
    try:
        hits = cache.incr(counter)
    except ValueError:  # the counter's first hit
        hits = 1 if cache.add(counter, 1, ttl) else cache.incr(counter)
    return hits, None if key is None else cache.get(key)


def count_in_window(counter: str, *, window: int, now: float, parts: int = 15) -> int:
    """Count one hit on `counter` and return its hits in the `window` seconds up to `now`, this one
    included: a sliding window that never undercounts. The window is kept in `parts` slices; the
    sum runs over every slice the last `window` seconds touch (so a hit is forgotten between
    `window` and `window` + one slice later) and the next slice (a process whose clock runs a
    little ahead). Each hit is added before the sum is read, so of hits racing each other the last
    to read sees them all: a limit checked against this sum never lets more than that many hits
    through in any `window` seconds, across fixed-window boundaries too. One round trip on Redis;
    the file and local-memory caches make two calls (their increments are not atomic across
    processes)."""
    size = window / parts
    current = int(now // size)
    others = [f"{counter}:{index}" for index in range(current - parts, current + 2) if index != current]
    ttl = window + 2 * int(size + 1)
    cache = caches["default"]
    if isinstance(cache, RedisCache):
        return cache.count_and_sum(f"{counter}:{current}", ttl, others)
    hits, _ = count_and_get(f"{counter}:{current}", ttl)
    return hits + sum(int(value) for value in cache.get_many(others).values())
