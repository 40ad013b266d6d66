"""Project-wide API plumbing: pagination, filters, conditional requests and the error shapes of API.md."""

import hashlib
import json
from urllib.parse import urlencode

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponse
from django.urls import reverse
from django.utils.functional import lazy
from django.utils.http import parse_etags
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_filters import BooleanFilter, CharFilter, ChoiceFilter
from django_filters.fields import ChoiceField
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.fields import empty
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from factory import roles
from factory.errors import DomainError, InvalidRequest, http_status

# Creating calls accept it (factory.submissions): the same key twice acts once and answers with the first result.
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description=_(
        "Optional: 8 to 64 letters, digits, - or _. Repeating a call with the same key (e.g. after a timeout) "
        "creates nothing new and answers with what the first call created."
    ),
)


def created(request, data, *, at: str, pk: int, query: dict | None = None) -> Response:
    """201 Created, with `Location`: the absolute URL of the API route named `at` for object `pk` (with `query`),
    where what was created is read (an order, a ticket; the ticket whose thread a message joined; an event, first
    in its timeline sorted newest first). factory.schema documents the header on every 201."""
    location = request.build_absolute_uri(reverse(at, kwargs={"pk": pk}))
    if query:
        location = f"{location}?{urlencode(query)}"
    return Response(data, status=status.HTTP_201_CREATED, headers={"Location": location})


def etag(body: bytes) -> str:
    """A detail answer's ETag: a digest of the JSON answered, so it changes whenever anything it shows changes,
    whichever service, task or admin changed it."""
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def _matches(header: str, tag: str, *, weak: bool) -> bool:
    tags = parse_etags(header)
    if weak:  # If-None-Match compares weakly (RFC 9110 13.1.2)
        tags = [found.removeprefix("W/") for found in tags]
    return tags == ["*"] or tag in tags


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = _(
        "The object changed since the version named in If-Match: read it again (it comes with its new ETag) and "
        "decide whether to retry."
    )
    default_code = "precondition_failed"


def check_if_match(request, current) -> None:
    """412 when the request's If-Match names another version of the object than its detail answers now
    (`current()`, the detail's JSON); nothing to check without If-Match."""
    wanted = request.headers.get("If-Match")
    if wanted is not None and not _matches(wanted, etag(current()), weak=False):
        raise PreconditionFailed()


class ConditionalDetail:
    """For a viewset whose objects clients read and act on: the detail (GET) carries an ETag and answers 304 to a
    matching If-None-Match; an action on the object (POST) with an If-Match that names another version answers
    412 and changes nothing. Without If-Match an action proceeds. The check comes before the action's service,
    outside its lock: two actions in the same instant are still ordered by the services' own state checks (409),
    which is what If-Match cannot settle alone. A subclass says what its detail answers
    (detail_json); factory.schema documents the headers and statuses on every view that `checks_if_match`."""

    checks_if_match = True

    def detail_json(self, pk) -> bytes:
        """The object's detail as JSON, as the caller may see it (404 when they may not)."""
        raise NotImplementedError

    def retrieve(self, request, pk=None):
        body = self.detail_json(pk)
        tag = etag(body)
        if _matches(request.headers.get("If-None-Match", ""), tag, weak=True):
            response = HttpResponse(status=status.HTTP_304_NOT_MODIFIED)
        elif type(request.accepted_renderer) is JSONRenderer and "indent" not in request.accepted_media_type:
            response = HttpResponse(body, content_type=JSONRenderer.media_type)
        else:
            response = Response(json.loads(body))  # the browsable API, or indented JSON
        response["ETag"] = tag
        return response

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authentication and permissions first: 401/403 before 412
        if request.method == "POST" and self.detail:
            check_if_match(request, lambda: self.detail_json(kwargs["pk"]))


def is_api_request(request) -> bool:
    """Whether a request is the API's: its answers, errors included, are JSON in the shape of API.md."""
    return request.path.startswith("/api/")


class NonBlankCharField(serializers.CharField):
    """A required text the services refuse blank. A blank value passes this field so that the service says what
    is missing in the factory's words; the field still does not allow blank, so the schema says minLength 1."""

    def run_validation(self, data=empty):
        if data == "" or (self.trim_whitespace and str(data).strip() == ""):
            return ""
        return super().run_validation(data)


class SortField(ChoiceField):
    """A sort key: an unknown one is refused with the keys the list has."""

    default_error_messages = {
        "invalid_choice": _("“%(value)s” is not a sort key of this list. Sort by one of: %(keys)s."),
    }

    def validate(self, value):
        if value and not self.valid_value(value):
            keys = ", ".join(str(key) for key, _label in self.choices)
            raise DjangoValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice", params={"value": value, "keys": keys}
            )
        super().validate(value)


def _sort_description(sort) -> str:
    keys = "\n".join(f"* `{key}` - {label}" for key, label in sort.extra["choices"])
    said = gettext(
        "How the rows are ordered; `%(default)s` when not given. An unknown key answers 400, and so does "
        "`ordering`: this API sorts with `sort` only."
    )
    return f"{said % {'default': sort.default}}\n\n{keys}"


def _tied_by_id(order: tuple) -> tuple:
    named = {term.lstrip("-") for term in order if isinstance(term, str)}
    return order if named & {"id", "pk"} else (*order, "id")


class Sort(ChoiceFilter):
    """The one sort parameter of every list, `sort`: a filter of the list's filter set, which its page and its
    API operation share. `keys` names each order, {key: (label, order_by terms)}; the rows' id ends every order
    that does not name it, so rows that tie keep one order from page to page. The first key is the default,
    which an absent or empty value gets (a page's form sends it empty). An unknown key answers 400 naming the
    keys; `ordering`, DRF's name that integrators try, answers 400 naming `sort` (FilterBackend), rather than
    being a second way to say the same thing. The schema documents the keys as an enum with the default."""

    field_class = SortField

    def __init__(self, keys: dict, **kwargs):
        self.orders = {key: _tied_by_id(order) for key, (_label, order) in keys.items()}
        self.default = next(iter(keys))
        choices = [(key, label) for key, (label, _order) in keys.items()]
        kwargs.setdefault("label", _("Sort by"))
        super().__init__(choices=choices, empty_label=None, **kwargs)
        description = lazy(_sort_description, str)(self)
        extend_schema_field(
            {"type": "string", "enum": list(keys), "default": self.default, "description": description}
        )(self)

    def filter(self, qs, value):
        return qs.order_by(*self.orders[value or self.default])


class FilterBackend(DjangoFilterBackend):
    """django-filter's, refusing (400, by field) a filter it could not use rather than quietly ignoring it: an
    empty value of any filter but free text, a yes/no that is neither, and `ordering` (a list sorts by its
    `sort`). The pages share the filter sets and keep reading an empty choice as "any", as their forms send it."""

    _BOOLEANS = {"true", "false", "True", "False", "1", "0"}

    def get_filterset(self, request, queryset, view):
        filterset = super().get_filterset(request, queryset, view)
        if filterset is not None:
            errors = {
                name: [message]
                for name, given in filterset.filters.items()
                for value in request.query_params.getlist(name)
                if (message := self._unusable(given, value))
            }
            if "ordering" in request.query_params and isinstance(sort := filterset.filters.get("sort"), Sort):
                keys = ", ".join(sort.orders)
                errors["ordering"] = [gettext("This API sorts with `sort`, one of: %(keys)s.") % {"keys": keys}]
            if errors:
                raise ValidationError(errors)
        return filterset

    def _unusable(self, given, value: str):
        """Why `value` cannot filter by `given`, or None."""
        if isinstance(given, CharFilter):
            return None  # free text: empty means "any"
        if not value.strip():
            return serializers.CharField.default_error_messages["blank"]
        if isinstance(given, BooleanFilter) and value not in self._BOOLEANS:
            return serializers.BooleanField.default_error_messages["invalid"]
        return None


class Pagination(PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 200


def flat_errors(errors) -> dict:
    """DRF's nested errors as API.md's {"field": ["message", ...]} ("findings": ["#1 severity: …"]), the one
    shape of a 400 that factory.schema documents; errors of the input as a whole under "non_field_errors"."""

    def messages(value, prefix=""):
        if isinstance(value, dict):
            # Rows of a list come keyed by their 0-based index; fields by their name.
            return [
                message
                for key, item in value.items()
                for message in messages(item, f"{prefix}#{key + 1} " if isinstance(key, int) else f"{prefix}{key}: ")
            ]
        if isinstance(value, list):
            found = []
            for index, item in enumerate(value, start=1):
                inner = f"{prefix}#{index} " if isinstance(item, dict | list) else prefix
                found += messages(item, inner)
            return found
        return [f"{prefix}{value}"]

    if not isinstance(errors, dict):
        errors = {"non_field_errors": errors}
    return {name: messages(value) for name, value in errors.items()}


def exception_handler(exc, context):
    """DRF's handler, plus domain errors answered as pages answer them (factory.errors.http_status), and every
    invalid input answered in one flat shape (flat_errors)."""
    if isinstance(exc, DjangoValidationError):
        exc = ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, ValidationError):
        exc = ValidationError(flat_errors(exc.detail))
    if isinstance(exc, DomainError):
        message = str(exc.message)
        code = http_status(exc)
        if code == status.HTTP_403_FORBIDDEN:
            roles.log_denied(context.get("request"), message)
        if isinstance(exc, InvalidRequest):
            return Response({exc.field or "non_field_errors": [message]}, status=code)
        return Response({"detail": message}, status=code)
    response = drf_exception_handler(exc, context)
    if response is not None and response.status_code == status.HTTP_403_FORBIDDEN:
        roles.log_denied(context.get("request"), exc)
    return response
