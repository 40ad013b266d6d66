from factory.errors import DomainError, IllegalTransition, InvalidRequest, NotPermitted


class WebhookError(DomainError):
    """Base of the webhooks' domain errors."""


class WebhookInvalid(WebhookError, InvalidRequest):
    """Bad input for an endpoint (400 / form error on `field`)."""


class WebhookTransitionNotAllowed(WebhookError, IllegalTransition):
    """The endpoint's or the delivery's state does not allow this (409)."""


class WebhookActionNotPermitted(WebhookError, NotPermitted):
    """This person may not manage this organization's webhooks (403)."""
