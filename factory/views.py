import logging

from django.conf import settings
from django.db import connection
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from factory import roles
from factory.celery import app as celery_app
from orders.access import organization_of

logger = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        logger.exception("healthz: database check failed")
        return False


def _broker_ok() -> bool:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=settings.HEALTHZ_BROKER_TIMEOUT.total_seconds())
            # Some transports (Redis) connect lazily: opening a channel makes them really talk to the broker.
            conn.default_channel  # noqa: B018
        return True
    except Exception:
        logger.exception("healthz: broker check failed")
        return False


@never_cache
@require_GET
def healthz(request):
    """For load balancers and monitors: 200 when the database and the broker answer, else 503."""
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    healthy = all(checks.values())
    body = {"status": "ok" if healthy else "unavailable"}
    body.update({name: "ok" if ok else "unavailable" for name, ok in checks.items()})
    return JsonResponse(body, status=200 if healthy else 503)


def error_preview(request, code):
    if code not in (403, 404, 500):
        raise Http404
    return render(request, f"{code}.html", status=code)


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    roles = serializers.ListField(child=serializers.CharField())
    organization = serializers.CharField(allow_null=True)


class MeView(APIView):
    """Who the API caller is: username, staff roles and client organization."""

    @extend_schema(responses=MeSerializer)
    def get(self, request):
        organization = organization_of(request.user)
        return Response(
            MeSerializer(
                {
                    "username": request.user.get_username(),
                    "roles": sorted(roles.roles_of(request.user)),
                    "organization": organization.name if organization else None,
                }
            ).data
        )
