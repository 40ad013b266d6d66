from factory.errors import DomainError, IllegalTransition, InvalidRequest, NotPermitted


class OrderError(DomainError):
    """Base of the orders app's domain errors."""


class OrderInvalid(OrderError, InvalidRequest):
    """Bad input for an order (answered with 400 / a form error on `field`)."""


class OrderTransitionNotAllowed(OrderError, IllegalTransition):
    """The order, stage or step is not in a state that allows this (answered with 409)."""


class OrderActionNotPermitted(OrderError, NotPermitted):
    """This person may not do this to this order (answered with 403)."""


class QuoteNoLongerHolds(OrderError, IllegalTransition):
    """The factory can no longer promise the date the client was shown (409); `quote` is today's quote."""

    def __init__(self, message, *, quote):
        super().__init__(message)
        self.quote = quote
