import json
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import timezone

from factory import clock, heartbeats, views
from factory.models import PeriodicRun

BASE_DIR = Path(settings.BASE_DIR)


def test_livez_answers_without_touching_the_database(client):
    # No django_db mark: any query would raise here.
    response = client.get("/livez")

    assert response.status_code == 200
    assert response.content == b"ok"


@pytest.fixture
def periodic_work_on_time(db):
    """Every periodic task just ran, as with a healthy worker and beat."""
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        heartbeats.record(entry["task"])


def _ran(task: str, periods_ago: float) -> None:
    period = next(e["schedule"] for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == task)
    PeriodicRun.objects.filter(task=task).update(finished_at=timezone.now() - timedelta(seconds=period * periods_ago))


HEALTHY = {"status": "ok", "database": "ok", "broker": "ok", "cache": "ok", "late": []}


@pytest.mark.django_db
def test_healthz_reports_database_broker_and_the_last_run_of_every_periodic_task(client, periodic_work_on_time):
    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert {key: body[key] for key in HEALTHY} == HEALTHY
    tick = body["periodic"]["dispatch.tasks.dispatch_tick"]
    assert tick["period_seconds"] == settings.CELERY_BEAT_SCHEDULE["dispatch-tick"]["schedule"]
    assert datetime.fromisoformat(tick["factory_time"]) <= clock.now()  # the tick's heartbeat, in factory time
    assert set(body["periodic"]) == {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}


@pytest.mark.django_db
def test_a_periodic_task_over_three_periods_late_makes_the_factory_degraded_by_name(client, periodic_work_on_time):
    _ran("dispatch.tasks.dispatch_tick", periods_ago=2.5)
    assert client.get("/healthz").json()["late"] == []

    _ran("dispatch.tasks.dispatch_tick", periods_ago=3.5)
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["late"] == ["dispatch.tasks.dispatch_tick"]


@pytest.mark.django_db
def test_a_periodic_task_over_ten_periods_late_answers_503(client, periodic_work_on_time):
    _ran("dispatch.tasks.forecast_etas", periods_ago=11)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert response.json()["late"] == ["dispatch.tasks.forecast_etas"]


@pytest.mark.django_db
def test_periodic_work_that_never_ran_is_named_as_late(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    assert "dispatch.tasks.dispatch_tick" in response.json()["late"]


@pytest.mark.django_db
def test_a_task_that_never_ran_is_late_only_once_the_others_have_run_for_three_of_its_periods(client):
    heartbeats.record("dispatch.tasks.dispatch_tick")  # the worker and beat just started: the forecast is not due
    others = [e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"] != "dispatch.tasks.forecast_etas"]
    for task in others:
        heartbeats.record(task)
    assert client.get("/healthz").json()["late"] == []

    forecast_period = settings.CELERY_BEAT_SCHEDULE["forecast-etas"]["schedule"]
    long_ago = timezone.now() - timedelta(seconds=3.5 * forecast_period)
    PeriodicRun.objects.update(first_run_at=long_ago, finished_at=long_ago)
    for task in others:
        heartbeats.record(task)  # the others keep running; the forecast never came

    assert client.get("/healthz").json()["late"] == ["dispatch.tasks.forecast_etas"]


@pytest.mark.django_db
def test_a_periodic_task_records_its_run_when_it_succeeds():
    from dispatch.tasks import dispatch_tick

    dispatch_tick.on_success(None, "task-id", (), {})

    run = PeriodicRun.objects.get(task="dispatch.tasks.dispatch_tick")
    assert abs(run.factory_time - clock.now()) < timedelta(minutes=5)


@pytest.mark.django_db
def test_healthz_says_degraded_but_stays_up_when_the_cache_is_unreachable(client, settings, periodic_work_on_time):
    # Pages and the API then read from the database (factory.kept): slower, not down.
    settings.CACHES = {
        "default": {
            "BACKEND": "factory.cache.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }

    response = client.get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert {key: body[key] for key in HEALTHY} == {**HEALTHY, "status": "degraded", "cache": "unavailable"}


@pytest.mark.django_db
def test_healthz_answers_503_when_the_broker_is_unreachable(client, monkeypatch):
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)  # Celery lets this variable override its config
    monkeypatch.setattr(views, "celery_app", Celery(broker="redis://127.0.0.1:1/0", set_as_current=False))

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["broker"] == "unavailable"
    assert response.json()["database"] == "ok"


def test_plotly_js_comes_from_the_installed_package():
    import plotly

    found = finders.find("plotly/plotly.min.js")

    assert found is not None
    assert Path(found).resolve().is_relative_to(Path(plotly.__file__).parent.resolve())


def test_no_page_or_asset_points_outside_the_machine():
    external = re.compile(r"""(src|href)\s*=\s*["']\s*(https?:)?//""", re.IGNORECASE)
    offenders = [
        str(path)
        for folder in ("templates", "factory/static")
        for path in (BASE_DIR / folder).rglob("*")
        if path.is_file() and external.search(path.read_text(errors="ignore"))
    ]

    assert offenders == []


def _manage(*args, **env_overrides):
    # Only this project's variables: a test-only variable such as DJANGO_ALLOW_ASYNC_UNSAFE must not leak in.
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in env_overrides and key != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    env.update({key: value for key, value in env_overrides.items() if value is not None})
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, check=False
    )


PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "p" * 20 + "-Zq8!xT3#mK9$wL2&vN7*rB4^yH6@cJ1+",
    "ALLOWED_HOSTS": "factory.example.test",
    "DATABASE_URL": "postgres://nobody@127.0.0.1:5432/unused",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "CACHE_URL": "redis://127.0.0.1:6379/1",
}


def test_deploy_check_is_clean_with_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_start_names_every_missing_variable():
    result = _manage("check", **{**PRODUCTION_ENV, "SECRET_KEY": None, "CELERY_BROKER_URL": None, "CACHE_URL": None})

    assert result.returncode != 0
    assert "Missing required production settings: SECRET_KEY, CELERY_BROKER_URL, CACHE_URL" in result.stderr


@pytest.mark.django_db
def test_api_token_is_issued_for_valid_credentials(client, ops_user):
    response = client.post(
        "/api/v1/auth/token/", {"username": "ops-user", "password": "test-pass-123"}, content_type="application/json"
    )

    assert response.status_code == 200
    token = response.json()["token"]
    assert client.get("/api/schema/", HTTP_AUTHORIZATION=f"Token {token}").status_code == 200


@pytest.mark.django_db
def test_api_token_is_refused_with_field_messages_for_bad_credentials(client, ops_user):
    response = client.post(
        "/api/v1/auth/token/", {"username": "ops-user", "password": "nope"}, content_type="application/json"
    )

    assert response.status_code == 400
    assert "non_field_errors" in response.json()


@pytest.mark.django_db
def test_api_docs_are_served_offline(client):
    schema = client.get(reverse("api-schema"), HTTP_ACCEPT="application/json")
    docs = client.get(reverse("api-docs")).content.decode()

    assert schema.status_code == 200
    assert json.loads(schema.content)["openapi"].startswith("3.")
    assert "swagger-ui" in docs
    assert not re.search(r"(src|href)=\"(https?:)?//", docs)


@pytest.mark.django_db
def test_anonymous_api_call_answers_401(client):
    response = client.get(reverse("api-me"))

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.django_db
def test_api_tells_a_client_user_their_organization(client, client_a):
    client.force_login(client_a)

    assert client.get(reverse("api-me")).json() == {
        "username": "client-a-user",
        "roles": [],
        "organization": "Organization A",
    }


def test_openapi_schema_is_valid_and_complete():
    """Every endpoint documents its bodies: drf-spectacular warns (and this fails) when it cannot tell."""
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", os.devnull)


def test_no_template_comment_spans_lines():
    """`{# … #}` ends on its own line in Django; one spread over two lines shows up in the page as text."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    broken = [
        f"{path.relative_to(root)}:{number}"
        for directory in ("templates", "factory", "orders", "dispatch", "security", "aftersales")
        for path in (root / directory).rglob("*.html")
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if line.count("{#") > line.count("#}")
    ]

    assert broken == []
