from factory.errors import DomainError, IllegalTransition, InvalidRequest, NotPermitted


class ReviewError(DomainError):
    """Base of the security center's domain errors."""


class ReviewInvalid(ReviewError, InvalidRequest):
    """Bad input for a decision (400 / form error on `field`)."""


class ReviewAlreadyDecided(ReviewError, IllegalTransition):
    """The review is no longer pending (409)."""


class ReviewerNotPermitted(ReviewError, NotPermitted):
    """This reviewer may not decide this review (403)."""
