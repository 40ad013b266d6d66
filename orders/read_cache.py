"""Short-lived copies of the two most-read answers about an order: its public tracking page and its API
representation (`GET /track/<token>/`, `GET /api/v1/orders/<id>/`), kept with factory.kept.

A copy lives at most ORDER_READ_CACHE_SECONDS, and every change to the order refuses it at once:

- services that change orders mark them when they lock them (orders.services._lock, steps_finish);
- the dispatch tick's bulk writes (compute used, ETAs) mark the orders they touch;
- a renewed or revoked link marks the old token (the service locks the order while it still holds it), so
  a revoked link answers 404 at once;
- the admin marks an order it saves.

Only a bulk SQL update waits out the copy's lifetime.
"""

from collections.abc import Iterable

from django.conf import settings

from factory import kept

TRACKING_PAGE = "track"
ORDER_API = "api"
# In every copy's key: a release that changes what a copy holds bumps it, and never reads an older copy.
_SHAPE = 2  # 2: current_workshop null rather than "" when none


def _enabled() -> bool:
    return settings.ORDER_READ_CACHE_SECONDS > 0


def _mark_key(kind: str, ident) -> str:
    return f"orders:{kind}:{ident}:changed"


reading_starts = kept.reading_starts


def _copy_key(kind: str, ident, language: str) -> str:
    return f"orders:{kind}:{_SHAPE}:{ident}:{language}"


def read_ahead(request, kind: str, ident, language: str) -> None:
    """Have this request's first read of the cache (the caller's kept API token) fetch this copy too."""
    if _enabled():
        kept.read_ahead(request, [_copy_key(kind, ident, language), _mark_key(kind, ident)])


def copy_of(kind: str, ident, language: str, *, request=None):
    """The answer kept for (kind, ident, language), or None when there is none or the order changed since."""
    if not _enabled():
        return None
    return kept.fetch(_copy_key(kind, ident, language), [_mark_key(kind, ident)], request=request)


def keep(kind: str, ident, language: str, value, *, read_at: float) -> None:
    if _enabled():
        kept.keep(_copy_key(kind, ident, language), value, read_at=read_at, seconds=settings.ORDER_READ_CACHE_SECONDS)


def orders_changed(*, order_ids: Iterable[int] = (), tracking_tokens: Iterable[str | None] = ()) -> None:
    """Refuse the kept answers of these orders (by id) and tracking pages (by token)."""
    if _enabled():
        kept.mark_changed(
            [_mark_key(ORDER_API, pk) for pk in order_ids]
            + [_mark_key(TRACKING_PAGE, token) for token in tracking_tokens if token]
        )
