"""Fuzzing the API from its own OpenAPI schema (schemathesis): a bounded number of generated requests per
operation, as staff and as a client user; no answer may be a server error, and every answer must match the
schema (status, content type, body and headers)."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
)

from tests.factories import UserFactory, client_user, open_ticket, order_at

pytestmark = [pytest.mark.django_db, pytest.mark.fuzz]

# Generated requests per operation and caller: bounded so the suite stays quick; raise it to dig deeper.
EXAMPLES = 12
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance, response_headers_conformance]


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Requests go through the real WSGI handler, which closes old database connections when a request ends:
    that would close the test's transaction. Django's test client switches this off the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api(org_a, ops_user):
    """The schema as the running app serves it, with a little real data behind the ids."""
    delivered = order_at("delivered", staff=ops_user, client=org_a)
    open_ticket(order=delivered, actor=ops_user)
    reader = UserFactory(username="fuzz-schema-reader", roles=["operations"])
    return schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application(), headers=_token(reader))


def _token(user) -> dict:
    return {"Authorization": f"Token {Token.objects.get_or_create(user=user)[0].key}"}


def _fuzz(api, headers) -> tuple[int, int]:
    """Every operation with EXAMPLES generated requests; returns (operations, requests sent)."""
    sent = 0
    operations = [result.ok() for result in api.get_all_operations()]
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case):
            nonlocal sent
            sent += 1
            case.call_and_validate(headers=headers, checks=CHECKS)

        run()
    return len(operations), sent


def test_as_staff_no_server_error_and_answers_match_the_schema(api, admin_user):
    operations, sent = _fuzz(api, _token(admin_user))

    print(f"\nAPI fuzz as staff: {sent} requests over {operations} operations")
    assert operations > 30


def test_as_a_client_no_server_error_and_answers_match_the_schema(api, org_a):
    operations, sent = _fuzz(api, _token(client_user(organization=org_a, username="fuzz-client")))

    print(f"\nAPI fuzz as a client: {sent} requests over {operations} operations")
