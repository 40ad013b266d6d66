"""The base of every app's domain errors. Views turn them into a form error, a 400 or a 409."""


class DomainError(Exception):
    """A request the factory refuses, with a message fit to show the person who made it."""

    def __init__(self, message, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidRequest(DomainError):
    """The input is wrong (answered with 400, or as a form error on `field`)."""


class IllegalTransition(DomainError):
    """The object's current state does not allow this (answered with 409)."""


class Busy(IllegalTransition):
    """Others kept changing the same records while this change was tried, a few times over (answered with 409)."""


class NotPermitted(DomainError):
    """The person may not do this (answered with 403)."""


def http_status(error: DomainError) -> int:
    """The status a refused request is answered with, by a page or the API: 403, 409 for an illegal
    transition, else 400."""
    if isinstance(error, NotPermitted):
        return 403
    if isinstance(error, IllegalTransition):
        return 409
    return 400
