"""When the database goes away for a moment, people get a clear "try again" answer, not a crash page.

Each request opens its connection anew (or checks it, with CONN_MAX_AGE), so the next request after the
database is back simply works: there is nothing to reset.
"""

import logging

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from factory.api import is_api_request

logger = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 30


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.error("database unavailable: %s %s: %s", request.method, request.path, exception)
        message = _("The factory's database is not answering right now. Nothing was changed; try again in a minute.")
        if is_api_request(request):
            response = JsonResponse({"detail": message}, status=503)
        else:
            # No context processors: they would query the database that is away.
            response = HttpResponse(render_to_string("503.html", {"message": message}), status=503)
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
