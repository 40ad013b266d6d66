from factory.errors import DomainError, IllegalTransition, InvalidRequest, NotPermitted


class DispatchError(DomainError):
    """Base of the dispatch center's domain errors."""


class DispatchInvalid(DispatchError, InvalidRequest):
    """Bad input (400 / form error on `field`)."""


class PoolTransitionNotAllowed(DispatchError, IllegalTransition):
    """The pool's current state does not allow this (409)."""


class PoolActionNotPermitted(DispatchError, NotPermitted):
    """This person may not change a pool's state (403)."""


class ScenarioNotPermitted(DispatchError, NotPermitted):
    """This person may not plan scenarios (403)."""


class ScenarioStateConflict(DispatchError, IllegalTransition):
    """The scenario, or the person's runs, do not allow this now (409)."""


class ReservationConflict(DispatchError, IllegalTransition):
    """The pool's time is already booked, or the reservation is past changing (409)."""
