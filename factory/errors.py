"""The base of every app's domain errors. Views turn them into a form error, or a 400, 403, 409 or 422 (http_status)."""


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


class SubmissionKeyReused(DomainError):
    """The submission key came with another request before (factory.submissions): what that one made stays as it
    is and this one is not acted on (answered with 422; a form is shown again as a fresh one)."""


def http_status(error: DomainError) -> int:
    """The status a refused request is answered with, by a page or the API: 403, 409 for an illegal
    transition, 422 for a reused submission key, else 400."""
    if isinstance(error, NotPermitted):
        return 403
    if isinstance(error, SubmissionKeyReused):
        return 422
    if isinstance(error, IllegalTransition):
        return 409
    return 400
