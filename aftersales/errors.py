from factory.errors import DomainError, IllegalTransition, InvalidRequest, NotPermitted


class TicketError(DomainError):
    """Base of the after-sales domain errors."""


class TicketInvalid(TicketError, InvalidRequest):
    """Bad input for a ticket (400 / form error on `field`)."""


class TicketTransitionNotAllowed(TicketError, IllegalTransition):
    """The ticket's status does not allow this (409)."""


class TicketActionNotPermitted(TicketError, NotPermitted):
    """This person may not do this to this ticket (403)."""
