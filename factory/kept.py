"""Copies of answers kept in the shared cache, refused as soon as what they were built from changes.

A copy remembers when the rows it was built from were read. A change marks its subject "changed" at that
instant, and a copy read before the mark is never served again. Marks are written at once and again at
commit: at once so that the changing transaction sees its own change, at commit so that a copy another
process built from the rows just before the commit is refused too. A copy also expires on its own, which
bounds what a change made without a mark (a bulk SQL update) can leave behind.

A copy is an optimisation: when the cache cannot be reached, callers build the answer from the database.
The marks compare time.time() of different processes, so the web and worker hosts keep their clocks in sync.
"""

import logging
import time

from django.core.cache import cache
from django.db import transaction
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# A copy lives at most COPY_SECONDS_MAX, whatever its caller asks; a mark outlives every copy it refuses,
# with room for a slow request that read the rows before the change.
COPY_SECONDS_MAX = 540
MARK_SECONDS = COPY_SECONDS_MAX + 60


def reading_starts() -> float:
    """Call before reading the rows a copy is built from; give the result to `keep`."""
    return time.time()


def _django_request(request):
    return getattr(request, "_request", request)  # a DRF Request wraps Django's


def read_ahead(request, keys: list[str]) -> None:
    """Have the next fetch in this request read `keys` as well, so that answers read in turn (the caller's
    kept token, then the kept answer) cost one round trip. Only for requests that change nothing: what was
    read ahead is not read again."""
    request = _django_request(request)
    request._kept_ahead = [*getattr(request, "_kept_ahead", ()), *keys]


def _get_many(keys: list[str], request) -> dict:
    if request is None:
        return cache.get_many(keys)
    request = _django_request(request)
    known = getattr(request, "_kept_found", {})
    wanted = [key for key in keys if key not in known]
    if wanted:
        ahead = [key for key in getattr(request, "_kept_ahead", ()) if key not in known and key not in wanted]
        found = cache.get_many(wanted + ahead)
        known = {**known, **{key: found.get(key) for key in wanted + ahead}}
        request._kept_found = known
    return {key: known[key] for key in keys if known[key] is not None}


def fetch(copy_key: str, mark_keys: list[str], *, request=None):
    """The value kept under `copy_key` (one round trip, or none when `request` read it ahead), or None when
    there is none, when one of `mark_keys` was marked since its rows were read, or when the cache cannot be
    reached."""
    try:
        found = _get_many([copy_key, *mark_keys], request)
    except (RedisError, OSError):
        log.warning("Cache unreachable; answering from the database.", exc_info=True)
        return None
    copy = found.get(copy_key)
    if copy is None:
        return None
    read_at, value = copy
    if any(found.get(key, float("-inf")) >= read_at for key in mark_keys):
        return None
    return value


def keep(copy_key: str, value, *, read_at: float, seconds: int) -> None:
    try:
        cache.set(copy_key, (read_at, value), timeout=min(seconds, COPY_SECONDS_MAX))
    except (RedisError, OSError):
        log.warning("Cache unreachable; the answer is not kept.", exc_info=True)


def _write_marks(mark_keys: list[str]) -> None:
    try:
        cache.set_many(dict.fromkeys(mark_keys, time.time()), timeout=MARK_SECONDS)
    except (RedisError, OSError):
        log.error(
            "Cache unreachable; %d kept answers are refused only once they expire.", len(mark_keys), exc_info=True
        )


def mark_changed(mark_keys: list[str]) -> None:
    """Refuse every copy read before now under these marks: now, and again when the transaction commits."""
    if not mark_keys:
        return
    _write_marks(mark_keys)
    transaction.on_commit(lambda: _write_marks(mark_keys))
