"""What /api/schema/ tells a client generator beyond what drf-spectacular finds by itself.

- Every operation lists the error statuses it can answer, each with the API's one error model (ERROR, the
  shape factory.api.exception_handler sends), by the rules of AutoSchema.error_statuses: a view declares a
  status itself only to say something particular about it, and gets the model with it.
- Every 201 carries a `Location` header (factory.api.created).
- Operations that take an Idempotency-Key document its 422 and, on their 201, the Idempotent-Replayed header.
- Objects that clients read and act on document their conditional requests (ETag, If-None-Match and 304 on the
  detail, If-Match and 412 on its actions: factory.api.ConditionalDetail).
- Every operation documents 503 with Retry-After: the database may be away for a moment (factory.middleware).
- Throttled operations document their rate limit: 429 with Retry-After, and the RateLimit-* headers on the answers
  that come after the call was counted (factory.throttling).
- The two ways to authenticate, with how to send them: generators read the token scheme's prefix from its
  description only, and otherwise default to `Bearer`, which the server refuses.
"""

import copy

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import permissions, serializers

from factory.api import IDEMPOTENCY_KEY, REPLAYED_HEADER, NonBlankCharField
from factory.limits import CONTROL_CHARACTERS

ERROR = "Error"
# drf-spectacular's name for the schema of null, which it pairs with a choice that may be null.
NULL = "NullEnum"
ERROR_SCHEMA = {
    "type": "object",
    "description": _(
        "An error. `detail` says what went wrong when it concerns no one field; invalid input (400) names each "
        "invalid field instead, with its messages (`non_field_errors` for the input as a whole)."
    ),
    "properties": {"detail": {"type": "string"}},
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}
ERROR_DESCRIPTIONS = {
    400: _("Invalid input: each invalid field with its messages."),
    401: _("Not authenticated: no token or session, or an invalid token."),
    403: _("Your role may not do this."),
    404: _("No such object or page, or one you may not see."),
    409: _("The object's current state does not allow this."),
    412: _("The object changed since the version named in If-Match; nothing was done."),
    415: _("The body is not JSON: send Content-Type: application/json."),
    422: _("The Idempotency-Key was already used with a different body; nothing was done."),
    429: _("Too many requests: call again after the seconds in Retry-After."),
    503: _("The factory's database is not answering; nothing was done: call again after the seconds in Retry-After."),
}
LOCATION = {
    "Location": {
        "description": _("The absolute URL where what was created is read."),
        "schema": {"type": "string", "format": "uri"},
        "required": True,
    }
}
# On the 201 of an operation that takes an Idempotency-Key.
REPLAYED = {
    REPLAYED_HEADER: {
        "description": _(
            "`true` when the call repeated an Idempotency-Key: what it answers was created by the first call."
        ),
        "schema": {"type": "string", "enum": ["true"]},
    }
}
# Conditional requests on the views that check If-Match (factory.api.ConditionalDetail).
ETAG = {
    "ETag": {
        "description": _(
            "This version of the object: send it as If-None-Match to read it again only if it changed, or as "
            "If-Match to act on it only if it did not."
        ),
        "schema": {"type": "string"},
        "required": True,
    }
}
# Rate limits (factory.throttling): on every answer given after the call was counted, which is every answer but
# those that may come before it (authentication, permissions, a path no operation takes, a database not
# answering).
_WHOLE_NUMBER = {"type": "integer", "minimum": 0}
RATE_LIMIT = {
    "RateLimit-Limit": {
        "description": _("Calls allowed per window: per user when signed in, per address otherwise."),
        "schema": _WHOLE_NUMBER,
        "required": True,
    },
    "RateLimit-Remaining": {
        "description": _("Calls left in the window, this one counted."),
        "schema": _WHOLE_NUMBER,
        "required": True,
    },
    "RateLimit-Reset": {
        "description": _("Seconds until the oldest call counted leaves the window and gives a call back."),
        "schema": _WHOLE_NUMBER,
        "required": True,
    },
}
_BEFORE_THE_COUNT = {"401", "403", "404", "503"}
RETRY_AFTER = {
    "Retry-After": {
        "description": _("Seconds to wait before calling again."),
        "schema": _WHOLE_NUMBER,
        "required": True,
    }
}
IF_NONE_MATCH = {
    "in": "header",
    "name": "If-None-Match",
    "schema": {"type": "string"},
    "description": _("An ETag this object answered: 304, without a body, while it is still that version."),
}
IF_MATCH = {
    "in": "header",
    "name": "If-Match",
    "schema": {"type": "string"},
    "description": _("The ETag of the version you read: 412, and nothing done, if the object changed since."),
}
NOT_MODIFIED = {
    "description": _("Not modified: the object is still the version named in If-None-Match."),
    "headers": ETAG,
}
# Permissions that check no role: anything else on a view may answer 403.
_NO_ROLE_CHECK = (permissions.AllowAny, permissions.IsAuthenticated)
_PAGING = {"page", "page_size"}
# What factory.limits.clean_text takes, as patterns a generator can follow: no control characters, and for a
# text that may not be blank, something besides white space.
TEXT_PATTERN = f"^[^{CONTROL_CHARACTERS}]*$"
REQUIRED_TEXT_PATTERN = rf"^\s*[^\s{CONTROL_CHARACTERS}][^{CONTROL_CHARACTERS}]*$"
# Free text in a query (a search): Django's forms refuse NUL in any text.
QUERY_TEXT_PATTERN = r"^[^\x00]*$"
_SHAPED = {"enum", "format", "pattern"}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's, with the error statuses of every operation documented in one place."""

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        for parameter in operation.get("parameters", []):
            free_text = parameter["schema"].get("type") == "string" and not parameter["schema"].keys() & _SHAPED
            if parameter["in"] == "query" and free_text:
                parameter["schema"]["pattern"] = QUERY_TEXT_PATTERN
        responses = operation["responses"]
        for code in self.error_statuses(operation):
            responses.setdefault(str(code), {"description": ERROR_DESCRIPTIONS[code]})
        if self._conditional() and self.method == "GET" and getattr(self.view, "action", None) == "retrieve":
            operation.setdefault("parameters", []).append(copy.deepcopy(IF_NONE_MATCH))
            responses["200"].setdefault("headers", {}).update(ETAG)
            responses["304"] = copy.deepcopy(NOT_MODIFIED)
        if self._conditional() and self.method == "POST":
            operation.setdefault("parameters", []).append(copy.deepcopy(IF_MATCH))
        if "201" in responses:
            responses["201"].setdefault("headers", {}).update(LOCATION)  # factory.api.created sends it
            if self._takes_idempotency_key(operation):
                responses["201"]["headers"].update(copy.deepcopy(REPLAYED))
        if self._throttled():
            for code, response in responses.items():
                if code not in _BEFORE_THE_COUNT:
                    response.setdefault("headers", {}).update(RATE_LIMIT)
            responses["429"]["headers"].update(RETRY_AFTER)
        responses["503"].setdefault("headers", {}).update(copy.deepcopy(RETRY_AFTER))
        error = self._error_component()
        for code, response in responses.items():
            if code[0] in "45" and "content" not in response:
                response["content"] = {"application/json": {"schema": error.ref}}
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if schema.get("nullable") and len(schema.get("allOf", ())) == 1 and isinstance(field, serializers.Serializer):
            # An object or null (a run's result before it is done): drf-spectacular writes `nullable` beside an
            # allOf, which OAS 3.0 validators read as the object's own schema refusing null. Said as it says a
            # choice or null instead.
            schema["oneOf"] = [schema.pop("allOf")[0], self._null_component().ref]
        if direction == "request" and self._is_text(field) and "pattern" not in schema:
            schema["pattern"] = TEXT_PATTERN if field.allow_blank else REQUIRED_TEXT_PATTERN
        return schema

    @staticmethod
    def _is_text(field) -> bool:
        """A text someone writes, which every service checks with factory.limits.clean_text (a password is not)."""
        return (
            isinstance(field, serializers.CharField)
            and type(field) in (serializers.CharField, NonBlankCharField)
            and field.style.get("input_type") != "password"
        )

    def error_statuses(self, operation) -> set[int]:
        """The errors an operation can answer, from what it is: who may call it, where it lives, what it takes."""
        query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        on_an_object = "{" in self.path
        found = set()
        if {} not in operation.get("security", [{}]):
            found.add(401)
        if any(not isinstance(check, _NO_ROLE_CHECK) for check in self.view.get_permissions()):
            found.add(403)
        if on_an_object or "page" in query:
            found.add(404)  # no such object, or no such page of a list
        if self.method != "GET" or query - _PAGING:
            found.add(400)  # an invalid body, or a query parameter that validates
        if self.method == "POST" and on_an_object:
            found.add(409)  # an action the object's state may not allow
        if "requestBody" in operation:
            found.add(415)
        if self._conditional() and self.method == "POST":
            found.add(412)
        if self._throttled():
            found.add(429)
        if self._takes_idempotency_key(operation):
            found.add(422)
        found.add(503)  # every operation reads the database (factory.middleware)
        return found

    def _throttled(self) -> bool:
        """Whether this operation's calls are counted against a rate limit (factory.throttling)."""
        return bool(getattr(self.view, "throttle_classes", ()))

    @staticmethod
    def _takes_idempotency_key(operation) -> bool:
        return any(p["in"] == "header" and p["name"] == IDEMPOTENCY_KEY.name for p in operation.get("parameters", []))

    def _conditional(self) -> bool:
        """Whether this operation is on an object of a view that checks If-Match (factory.api.ConditionalDetail)."""
        return "{" in self.path and getattr(self.view, "checks_if_match", False)

    def _null_component(self) -> ResolvedComponent:
        component = ResolvedComponent(name=NULL, type=ResolvedComponent.SCHEMA, object=NULL, schema={"enum": [None]})
        self.registry.register_on_missing(component)
        return component

    def _error_component(self) -> ResolvedComponent:
        schema = copy.deepcopy(ERROR_SCHEMA)  # the generator may change the components it is given
        component = ResolvedComponent(name=ERROR, type=ResolvedComponent.SCHEMA, object=ERROR, schema=schema)
        self.registry.register_on_missing(component)
        return component


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = "factory.authentication.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": _(
                "The word `Token`, a space, then the token from POST /api/v1/auth/token/: "
                "`Authorization: Token <token>`. A `Bearer` prefix is refused (401)."
            ),
        }


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "rest_framework.authentication.SessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": settings.SESSION_COOKIE_NAME,
            "description": _(
                "The browser's session after signing in at /accounts/login/. Calls that change something also "
                "send the CSRF token in the X-CSRFToken header."
            ),
        }
