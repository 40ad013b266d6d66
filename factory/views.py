import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.core.validators import MaxLengthValidator
from django.db import connection
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _lazy
from django.utils.translation import ngettext
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.settings import api_settings

from factory import health, heartbeats, roles
from factory.api import is_api_request
from factory.celery import app as celery_app
from factory.throttling import TokenRate

logger = logging.getLogger(__name__)
HEALTHZ_CACHE_KEY = "healthz:probe"
HEALTHZ_QUEUE = "factory.healthz"  # no worker consumes it: each probe takes back a message it put


def sign_in_locked_out(request, original_response=None, credentials=None):
    """django-axes' answer once sign-ins are locked (429): a page for people, {"detail"} for the API. Both say in
    Retry-After when to try again: a whole cool-off from now, as this attempt started it anew
    (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT)."""
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    minutes = max(1, seconds // 60)
    message = ngettext(
        "Too many failed sign-ins. To protect the account, signing in is locked for %(minutes)d minute; "
        "try again later or ask an administrator to unlock it.",
        "Too many failed sign-ins. To protect the account, signing in is locked for %(minutes)d minutes; "
        "try again later or ask an administrator to unlock it.",
        minutes,
    ) % {"minutes": minutes}
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    roles.access_log.warning("sign-in locked out: username=%r path=%s", username, request.path)
    if is_api_request(request):
        response = JsonResponse({"detail": message}, status=429)
    else:
        response = render(request, "registration/locked_out.html", {"message": message}, status=429)
    response["Retry-After"] = str(seconds)
    return response


def permission_denied(request, exception=None):
    """The 403 page, with the refusal logged (who, where, why)."""
    roles.log_denied(request, exception)
    return render(request, "403.html", {"exception": str(exception) if exception else ""}, status=403)


def page_not_found(request, exception=None):
    """No such page: under /api/, in the API's error shape, so a client parses every answer as JSON."""
    if is_api_request(request):
        return api_not_found(request)
    return defaults.page_not_found(request, exception)


@csrf_exempt  # nothing to protect, and a POST to an unknown API path must still answer the JSON 404
def api_not_found(request, *args, **kwargs):
    """A path under /api/ that no API route takes: an unknown route, or an id that is not an integer."""
    return JsonResponse({"detail": str(NotFound.default_detail)}, status=404)


def server_error(request):
    """A crash: under /api/, still in the API's error shape (DRF leaves unexpected exceptions to Django)."""
    if is_api_request(request):
        return JsonResponse({"detail": str(APIException.default_detail)}, status=500)
    return defaults.server_error(request)


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
            timeout = settings.HEALTHZ_BROKER_TIMEOUT.total_seconds()
            conn.ensure_connection(max_retries=1, timeout=timeout)
            # A message through the broker and back: a connection alone looked fine to the filesystem broker
            # whose folder was gone, and to a Redis that accepted connections but no writes.
            with conn.SimpleQueue(HEALTHZ_QUEUE, no_ack=True) as queue:
                queue.put({"probe": "healthz"})
                queue.get(block=True, timeout=timeout)
        return True
    except Exception:
        logger.exception("healthz: broker check failed")
        return False


def _cache_ok() -> bool:
    try:
        cache.set(HEALTHZ_CACHE_KEY, "ok", timeout=30)
        return cache.get(HEALTHZ_CACHE_KEY) == "ok"
    except Exception:
        logger.exception("healthz: cache check failed")
        return False


@never_cache
@require_GET
def livez(request):
    """For process supervisors: the web process answers. Touches nothing else (see /healthz for that)."""
    return HttpResponse("ok", content_type="text/plain")


@never_cache
@require_GET
def healthz(request):
    """For load balancers and monitors: 200 when the database and the broker answer and the periodic work
    keeps running, else 503.

    The shared cache is reported too, but does not make the factory unavailable: without it, kept copies
    and API tokens are read from the database (factory.kept), slower but correct. Status "degraded" then,
    and also when a periodic task is late (factory.heartbeats), with the names of what is late under
    "late"; a task far behind (a stalled worker, no beat) makes it 503: pages answer, but nothing moves. The
    apps' own parts follow (factory.health): "clusters", the real clusters and which of them does not answer
    (degraded)."""
    checks = {"database": _database_ok(), "broker": _broker_ok()}
    cache_ok = _cache_ok()
    beats = heartbeats.beats() if checks["database"] else []
    late = [beat.task for beat in beats if beat.late]
    down = [beat.task for beat in beats if beat.down]
    healthy = all(checks.values()) and not down
    parts = health.parts() if checks["database"] else {}
    parts_down = {name: part.down for name, part in parts.items() if part.down}
    fine = cache_ok and not late and not parts_down
    body = {"status": "unavailable" if not healthy else "ok" if fine else "degraded"}
    body.update({name: "ok" if ok else "unavailable" for name, ok in checks.items()})
    body["cache"] = "ok" if cache_ok else "unavailable"
    body["late"] = late
    body.update({name: part.report for name, part in parts.items()})
    body["periodic"] = {
        beat.task: {
            "last_run": timezone.localtime(beat.finished_at).isoformat() if beat.finished_at else None,
            "factory_time": timezone.localtime(beat.factory_time).isoformat() if beat.factory_time else None,
            "period_seconds": beat.period_seconds,
        }
        for beat in beats
    }
    return JsonResponse(body, status=200 if healthy else 503)


def error_preview(request, code):
    if code not in (403, 404, 500):
        raise Http404
    return render(request, f"{code}.html", status=code)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text=_lazy("Send it as `Authorization: Token <token>`."))


def _username_max() -> int:
    return get_user_model()._meta.get_field("username").max_length


class SignInForm(AuthenticationForm):
    """Django's sign-in form, refusing a username longer than any account's before anyone is asked about it:
    Django sets the field's max_length too late to validate it, so an over-long name reached django-axes,
    whose attempt log cannot hold it (a 500)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].validators.append(MaxLengthValidator(_username_max()))


class CredentialsSerializer(AuthTokenSerializer):
    """DRF's token request, username and password only, with the username bounded like the sign-in form's
    (see SignInForm)."""

    token = None  # DRF's serializer declares the answer's token among the request's fields

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].max_length = _username_max()
        self.fields["username"].validators.append(MaxLengthValidator(_username_max()))


class ObtainToken(ObtainAuthToken):
    """DRF's token endpoint, answering a locked-out sign-in with the lockout (429), not "wrong password".

    Anonymous: the username and password are the authentication, so no Authorization header or session is
    read; a stale token sent along by a client does not turn valid credentials into a 401.

    django-axes marks the lockout on the request it is given, which here is DRF's wrapper, so its
    middleware cannot see it; this view does.
    """

    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = (TokenRate,)
    parser_classes = api_settings.DEFAULT_PARSER_CLASSES  # DRF's view takes form bodies too
    serializer_class = CredentialsSerializer

    @extend_schema(
        summary=_lazy("Get an API token"),
        description=_lazy(
            "Exchange a username and password for the token to send as `Authorization: Token <token>`. Repeated "
            "failures lock sign-in for that username from that address for a while."
        ),
        request=CredentialsSerializer,
        responses={
            200: TokenSerializer,
            400: OpenApiResponse(description=_lazy("Wrong username or password.")),
            429: OpenApiResponse(
                description=_lazy(
                    "Too many failed sign-ins for this username from this address, which locks it for a while, or too "
                    "many token requests from this address. Retry-After says when to try again."
                )
            ),
        },
    )
    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except ValidationError:
            if getattr(request, "axes_locked_out", False):
                return sign_in_locked_out(request._request, credentials={"username": request.data.get("username")})
            raise
