"""Project-wide API plumbing: pagination and the error shapes of API.md."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
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


class Pagination(PageNumberPagination):
    page_size = 25
    page_size_query_param = "page_size"
    max_page_size = 200


def exception_handler(exc, context):
    """DRF's handler, plus domain errors answered as pages answer them (factory.errors.http_status)."""
    if isinstance(exc, DjangoValidationError):
        exc = ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages})
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
