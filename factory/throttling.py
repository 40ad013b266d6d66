"""The API's rate limits: DRF's throttles, per signed-in user or per address, at the rates of REST_FRAMEWORK's
DEFAULT_THROTTLE_RATES (factory/settings.py, API_RATE_*).

Calls are counted in the default cache: shared by every process when it is Redis; kept in memory by each
process otherwise, which then counts alone. A cache that does not answer lets calls through (logged): the
limits protect the service, which still answers without its cache.

Each throttle that counts a call notes the caller's figures on the request; RateLimitHeadersMiddleware sends
them with the answer, whatever view answered.

Its own module: DRF imports the throttle classes while rest_framework.views is still loading, so this must not
import anything that imports DRF's views (factory.api does).
"""

import logging
import math
from dataclasses import dataclass

from redis.exceptions import RedisError
from rest_framework import throttling
from rest_framework.settings import api_settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Figures:
    """Where a caller stands against a limit after this call: the IETF draft's RateLimit-* headers."""

    limit: int  # calls per window
    remaining: int  # calls left in the window, this one counted
    reset: int  # seconds until the oldest call counted leaves the window, giving one back

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset),
        }


def figures_of(request) -> Figures | None:
    """The figures the throttles noted on this request (Django's or DRF's), or None when none counted it."""
    return getattr(getattr(request, "_request", request), "rate_limit", None)


class _Counting:
    """For DRF's SimpleRateThrottle subclasses: the rate read when the throttle is made (DRF reads the rates once, at
    import, so settings changed later would not count), a cache failure letting the call through, and the figures
    noted on the request: the tightest of all the throttles that counted it."""

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES[self.scope]

    def allow_request(self, request, view):
        try:
            allowed = super().allow_request(request, view)
        except (RedisError, OSError):
            log.warning("Cache unreachable: %s not counted against the %s limit", request.path, self.scope)
            return True
        if getattr(self, "key", None) is not None:
            self._note(request)
        return allowed

    def _note(self, request) -> None:
        oldest = self.history[-1] if self.history else self.now
        figures = Figures(
            limit=self.num_requests,
            remaining=max(0, self.num_requests - len(self.history)),
            # DRF's wait() once the window is full, and so the 429's Retry-After.
            reset=max(1, math.ceil(self.duration - (self.now - oldest))),
        )
        django_request = getattr(request, "_request", request)
        noted = figures_of(django_request)
        if noted is None or figures.remaining < noted.remaining:
            django_request.rate_limit = figures


class UserRate(_Counting, throttling.UserRateThrottle):
    """Signed-in callers, each user on their own ("user"). Anonymous calls are AnonymousRate's."""

    def get_cache_key(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return None
        return super().get_cache_key(request, view)


class AnonymousRate(_Counting, throttling.AnonRateThrottle):
    """Anonymous callers, per address ("anon")."""


class TokenRate(AnonymousRate):
    """The token endpoint, per address ("token"), whoever the caller says they are."""

    scope = "token"


class RateLimitHeadersMiddleware:
    """The figures the throttles noted, as headers of the answer: every API answer that was counted carries them,
    a 429 included (its Retry-After comes from DRF, factory.api.exception_handler)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        figures = figures_of(request)
        if figures is not None:
            for name, value in figures.headers().items():
                response[name] = value
        return response
