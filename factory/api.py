"""Project-wide API plumbing: pagination, filters, conditional requests and the error shapes of API.md."""

import hashlib
import json
import re
from urllib.parse import urlencode

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.http import HttpResponse
from django.urls import reverse
from django.utils.functional import lazy
from django.utils.http import parse_etags
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django_filters import BooleanFilter, CharFilter, ChoiceFilter, ModelChoiceFilter
from django_filters.fields import ChoiceField
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import APIException, Throttled, ValidationError
from rest_framework.fields import empty
from rest_framework.pagination import PageNumberPagination
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from factory import roles
from factory.errors import DomainError, InvalidRequest, http_status

# Creating calls accept it (factory.submissions): the same key twice acts once and answers with the first result;
# the same key with another body answers 422. factory.schema documents both on every operation that takes it.
IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=False,
    description=_(
        "Optional: 8 to 64 letters, digits, - or _, unique per request you mean to make; keys are each user's own. "
        "Repeating a call with the same key and the same body (e.g. after a timeout) creates nothing new and "
        "answers as the first call did, with what it created and the header `Idempotent-Replayed: true`. The "
        "body is compared by its values: the order of its fields and its spacing do not matter. The same key "
        "with another body answers 422 and changes nothing."
    ),
)
# On the answer to a call that repeated an Idempotency-Key: what it answers was created by the first call.
REPLAYED_HEADER = "Idempotent-Replayed"


def created(request, data, *, at: str, pk: int, query: dict | None = None, replayed: bool = False) -> Response:
    """201 Created, with `Location`: the absolute URL of the API route named `at` for object `pk` (with `query`),
    where what was created is read (an order, a ticket; the ticket whose thread a message joined; an event, first
    in its timeline sorted newest first). factory.schema documents the header on every 201. `replayed`: what was
    created came from an earlier call with the same Idempotency-Key (factory.submissions.replayed), which the
    answer says in its Idempotent-Replayed header."""
    location = request.build_absolute_uri(reverse(at, kwargs={"pk": pk}))
    headers = {"Location": f"{location}?{urlencode(query)}" if query else location}
    if replayed:
        headers[REPLAYED_HEADER] = "true"
    return Response(data, status=status.HTTP_201_CREATED, headers=headers)


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


class ConditionalAction:
    """For a view of actions on one object (POST): an If-Match that names another version of the object than its
    detail answers now (detail_json) answers 412 and changes nothing. Without If-Match an action proceeds.

    The precondition is weighed as RFC 9110 (13.2.1) orders it: only an action that would otherwise succeed is
    refused with 412, so a caller learns of a wrong role (403), a bad body (400) or a state that forbids the
    action (409) first, whatever version it names. The action runs in a transaction with the object locked from
    the moment its version is read; when the version named was not the current one, its changes are rolled back
    and the answer is 412, unless it is the replay of a call already done (an Idempotency-Key sent again).
    factory.schema documents the header and the status on every view that `checks_if_match`."""

    checks_if_match = True
    detail = True  # a viewset says per route; a view of actions is always on one object
    _stale_version = False

    def detail_json(self, pk) -> bytes:
        """The object's detail as JSON, as the caller may see it (404 when they may not)."""
        raise NotImplementedError

    def _conditional_action(self, request) -> bool:
        return request.method == "POST" and self.detail and "If-Match" in request.headers

    def dispatch(self, request, *args, **kwargs):
        if not self._conditional_action(request):
            return super().dispatch(request, *args, **kwargs)
        with transaction.atomic():
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authentication and permissions first
        if self._conditional_action(request):
            pk = kwargs["pk"]
            if str(pk).isdigit():  # another id is answered 404 by the detail below
                model = self.get_queryset().model
                list(model._default_manager.select_for_update().filter(pk=pk).values_list("pk"))
            self._stale_version = not _matches(request.headers["If-Match"], etag(self.detail_json(pk)), weak=False)

    def finalize_response(self, request, response, *args, **kwargs):
        # A replay (factory.submissions) answers an action already done, on the version its first call named.
        replay = response.get(REPLAYED_HEADER) == "true"
        if self._stale_version and status.is_success(response.status_code) and not replay:
            transaction.set_rollback(True)
            response = self.handle_exception(PreconditionFailed())
        return super().finalize_response(request, response, *args, **kwargs)


class ConditionalDetail(ConditionalAction):
    """A viewset's objects, read and acted on: the detail (GET) carries an ETag and answers 304 to a matching
    If-None-Match; its actions check If-Match (ConditionalAction)."""

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


def validated(serializer) -> dict:
    """The serializer's data once valid; a 400 with field messages otherwise (the API's one way to read input)."""
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


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


class InputSerializer(serializers.Serializer):
    """A request body's serializer that takes each field in the JSON type the schema gives it. DRF's fields also
    take look-alikes (12 or 1.5 as a text, "yes" or 1 as a yes/no, "3" or 3.0 as a whole number), which the schema
    does not offer: a client built from it would never send them, and a client that does has a bug to learn of."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            errors = {}
            for name, field in self.fields.items():
                if not field.read_only and name in data:
                    try:
                        _check_json_type(field, data[name])
                    except ValidationError as error:
                        errors[name] = error.detail
            if errors:
                raise ValidationError(errors)
        return super().to_internal_value(data)


def repeated_or_empty(given: list[str]) -> str | None:
    """Why the values a query parameter was given are not one value, or None: DRF would read the last of repeated
    values, and an empty one as left out."""
    if len(given) > 1:
        return _("Give it once.")
    if given and given[0] == "":
        return str(serializers.CharField.default_error_messages["blank"])
    return None


class QuerySerializer(serializers.Serializer):
    """An operation's query parameters (a quote's, a series' hours): each given at most once and not empty, as the
    schema describes them."""

    def to_internal_value(self, data):
        errors = {}
        for name in self.fields:
            given = data.getlist(name) if hasattr(data, "getlist") else [data[name]] if name in data else []
            if message := repeated_or_empty(given):
                errors[name] = [message]
        if errors:
            raise ValidationError(errors)
        return super().to_internal_value(data)


def _check_json_type(field, value) -> None:
    """ValidationError, in the field's own words, when `value` is not of the JSON type the schema gives `field`
    (or, for a text, longer than its maxLength)."""
    whole = isinstance(value, int) and not isinstance(value, bool)
    if value is None:
        return  # null is the field's own question (allow_null)
    if isinstance(field, serializers.ListField) and isinstance(value, list):
        for item in value:
            _check_json_type(field.child, item)
    elif isinstance(field, serializers.BooleanField):
        if not isinstance(value, bool):
            field.fail("invalid")
    elif isinstance(field, serializers.IntegerField):
        if not whole:
            field.fail("invalid")
    elif isinstance(field, serializers.FloatField):
        if not (whole or isinstance(value, float)):
            field.fail("invalid")
    elif isinstance(field, serializers.PrimaryKeyRelatedField):
        if not whole:
            field.fail("incorrect_type", data_type=type(value).__name__)
    elif isinstance(field, serializers.CharField):
        if not isinstance(value, str):
            field.fail("invalid")
        if field.max_length is not None and len(value) > field.max_length:
            # As the schema's maxLength counts: the text as sent, before DRF trims its white space.
            field.fail("max_length", max_length=field.max_length)


_WHOLE_NUMBER = re.compile(r"-?[0-9]+")


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

    def filter_queryset(self, request, queryset, view):
        """An id that names no object the caller may see filters to nothing, as a filter on any other value that
        nothing has: the answer is the same whether the object does not exist or is another client's."""
        filterset = self.get_filterset(request, queryset, view)
        if filterset is None:
            return queryset
        if not filterset.is_valid():
            errors = filterset.form.errors.as_data()
            unknown = {name for name in errors if self._names_an_unknown_object(filterset, name)}
            if unknown == set(errors):
                return queryset.none()
            raise ValidationError({name: [str(m) for e in found for m in e.messages] for name, found in errors.items()})
        return filterset.qs

    @staticmethod
    def _names_an_unknown_object(filterset, name: str) -> bool:
        value = filterset.form.data.get(name, "")
        return isinstance(filterset.filters.get(name), ModelChoiceFilter) and bool(_WHOLE_NUMBER.fullmatch(value))

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
    """Pages of 25 by default, `page_size` up to 200. A `page` or `page_size` that is not a whole number in range
    answers 400 rather than quietly a default (DRF's), so a client's mistake shows; a page past the last is 404."""

    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 200

    def paginate_queryset(self, queryset, request, view=None):
        errors = {
            name: [message]
            for name, maximum in ((self.page_query_param, None), (self.page_size_query_param, self.max_page_size))
            if (message := self._out_of_range(request.query_params.getlist(name), maximum))
        }
        if errors:
            raise ValidationError(errors)
        return super().paginate_queryset(queryset, request, view)

    @staticmethod
    def _out_of_range(given: list[str], maximum: int | None):
        """Why the values given for a paging parameter cannot be used, or None."""
        if not given:
            return None
        if message := repeated_or_empty(given):
            return message
        field = serializers.IntegerField(min_value=1, max_value=maximum)
        try:
            field.run_validation(given[0])
        except ValidationError as error:
            return error.detail[0]
        return None

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["maximum"] = self.max_page_size
                parameter["schema"]["default"] = self.page_size
        return parameters


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


class TooManyRequests(Throttled):
    """A call over its rate limit (factory.throttling): DRF's 429 and Retry-After, saying when to call again in the
    factory's words and the reader's language (DRF's sentence has no Chinese for the wait)."""

    def __init__(self, wait: int):
        message = ngettext(
            "Too many requests: call again in %(seconds)d second.",
            "Too many requests: call again in %(seconds)d seconds.",
            wait,
        ) % {"seconds": wait}
        super().__init__(detail=message)
        self.wait = wait


def exception_handler(exc, context):
    """DRF's handler, plus domain errors answered as pages answer them (factory.errors.http_status), every
    invalid input answered in one flat shape (flat_errors), and a call over its rate limit in our words."""
    if isinstance(exc, Throttled) and exc.wait is not None:
        exc = TooManyRequests(exc.wait)
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
