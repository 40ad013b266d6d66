"""What /api/schema/ tells a client generator: JSON bodies, how to authenticate, every error status with the one
error model, and the constraints the server enforces. tests/foundation/test_generated_client.py then uses it."""

import pytest
from django.test import Client

TOKEN = "/api/v1/auth/token/"
ERROR = {"$ref": "#/components/schemas/Error"}


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        return Client().get("/api/schema/", {"format": "json"}).json()


def _operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield f"{method.upper()} {path}", operation


def _component(schema, reference: dict) -> dict:
    return schema["components"]["schemas"][reference["$ref"].rsplit("/", 1)[1]]


def test_every_request_body_is_json_and_only_json(schema):
    offered = {
        name: sorted(operation["requestBody"]["content"])
        for name, operation in _operations(schema)
        if "requestBody" in operation
    }

    assert offered
    assert {name: types for name, types in offered.items() if types != ["application/json"]} == {}


def test_every_operation_but_the_token_needs_auth_and_documents_401_with_the_error_model(schema):
    for name, operation in _operations(schema):
        if name == f"POST {TOKEN}":
            continue
        assert {} not in operation["security"], name
        assert operation["responses"]["401"]["content"]["application/json"]["schema"] == ERROR, name


def test_every_error_an_operation_documents_has_the_error_model(schema):
    for name, operation in _operations(schema):
        for status, response in operation["responses"].items():
            if status[0] in "45":
                assert response["content"]["application/json"]["schema"] == ERROR, (name, status)


@pytest.mark.parametrize(
    ("operation", "statuses"),
    [
        ("GET /api/v1/orders/", {"400", "401", "403", "404", "429", "503"}),  # a filter that validates; "Invalid page."
        ("GET /api/v1/orders/{id}/", {"401", "403", "404", "429", "503"}),
        ("POST /api/v1/orders/{id}/cancel/", {"400", "401", "403", "404", "409", "412", "415", "429", "503"}),
        # Clients are refused the pools; a sort, a page.
        ("GET /api/v1/pools/", {"400", "401", "403", "404", "429", "503"}),
        ("GET /api/v1/me/", {"401", "429", "503"}),  # every operation is rate-limited and reads the database
    ],
)
def test_operations_document_the_errors_they_can_answer(schema, operation, statuses):
    method, path = operation.split(" ")
    documented = set(schema["paths"][path][method.lower()]["responses"])

    assert documented - {"200", "201", "304"} == statuses


def test_every_operation_documents_the_database_outage_with_retry_after(schema):
    # The answer factory.middleware gives while the database is away (tests/foundation/test_database_outage.py).
    for name, operation in _operations(schema):
        outage = operation["responses"]["503"]
        assert outage["content"]["application/json"]["schema"] == ERROR, name
        assert outage["headers"]["Retry-After"]["required"] is True, name


def test_every_201_documents_its_location_header(schema):
    created = {
        name: operation["responses"]["201"]
        for name, operation in _operations(schema)
        if "201" in operation["responses"]
    }

    assert set(created) >= {
        "POST /api/v1/orders/",
        "POST /api/v1/orders/{id}/requirement-changes/",
        "POST /api/v1/tickets/",
        "POST /api/v1/tickets/{id}/messages/",
        "POST /api/v1/tickets/{id}/follow-up-order/",
    }
    for name, response in created.items():
        location = response["headers"]["Location"]
        assert (location["required"], location["schema"]) == (True, {"type": "string", "format": "uri"}), name


def test_operations_taking_an_idempotency_key_document_its_reuse_and_its_replay(schema):
    taking = {
        name: operation
        for name, operation in _operations(schema)
        if ("header", "Idempotency-Key") in {(p["in"], p["name"]) for p in operation.get("parameters", [])}
    }

    assert set(taking) == {
        "POST /api/v1/orders/",
        "POST /api/v1/pool-changes/",
        "POST /api/v1/reservations/",
        "POST /api/v1/scenarios/",
        "POST /api/v1/tickets/",
        "POST /api/v1/tickets/{id}/messages/",
        "POST /api/v1/webhooks/",
    }
    for name, operation in taking.items():
        key = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
        assert "422" in key["description"], name
        assert operation["responses"]["422"]["content"]["application/json"]["schema"] == ERROR, name
        assert operation["responses"]["201"]["headers"]["Idempotent-Replayed"]["schema"]["enum"] == ["true"], name
    assert all("422" not in operation["responses"] for name, operation in _operations(schema) if name not in taking)


@pytest.mark.parametrize("objects", ["orders", "tickets", "reviews"])
def test_details_and_their_actions_document_their_conditional_requests(schema, objects):
    paths = schema["paths"]
    detail = paths[f"/api/v1/{objects}/{{id}}/"]["get"]
    actions = [
        methods["post"]
        for path, methods in paths.items()
        if path.startswith(f"/api/v1/{objects}/{{id}}/") and "post" in methods
    ]

    assert ("header", "If-None-Match") in {(p["in"], p["name"]) for p in detail["parameters"]}
    assert detail["responses"]["200"]["headers"]["ETag"]["required"] is True
    assert "ETag" in detail["responses"]["304"]["headers"]
    assert actions
    for action in actions:
        assert ("header", "If-Match") in {(p["in"], p["name"]) for p in action["parameters"]}
        assert action["responses"]["412"]["content"]["application/json"]["schema"] == ERROR


def test_the_token_operation_is_anonymous_and_takes_username_and_password_only(schema):
    operation = schema["paths"][TOKEN]["post"]
    request = _component(schema, operation["requestBody"]["content"]["application/json"]["schema"])
    answer = _component(schema, operation["responses"]["200"]["content"]["application/json"]["schema"])

    assert operation["security"] == [{}]
    assert (set(request["properties"]), set(request["required"])) == ({"username", "password"},) * 2
    assert set(answer["properties"]) == {"token"}


def test_the_token_scheme_is_an_api_key_in_the_authorization_header_with_its_prefix_stated(schema):
    schemes = schema["components"]["securitySchemes"]

    assert {key: schemes["tokenAuth"][key] for key in ("type", "in", "name")} == {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
    }
    assert "`Authorization: Token <token>`" in schemes["tokenAuth"]["description"]
    assert (schemes["cookieAuth"]["type"], schemes["cookieAuth"]["in"]) == ("apiKey", "cookie")


def test_required_strings_of_a_request_may_not_be_blank(schema):
    blank_allowed = []
    for name, component in schema["components"]["schemas"].items():
        for field in component.get("required", []) if name.endswith("Request") else []:
            prop = component["properties"][field]
            if prop.get("type") == "string" and "format" not in prop and prop.get("minLength", 0) < 1:
                blank_allowed.append(f"{name}.{field}")

    assert blank_allowed == []
    assert schema["components"]["schemas"]["TicketCreateRequest"]["properties"]["subject"]["minLength"] == 1


def test_values_the_server_sends_are_in_their_enums_or_null(schema):
    components = schema["components"]["schemas"]
    null_or = {"$ref": "#/components/schemas/NullEnum"}

    for component, field, enum in [
        ("OrderEvent", "workshop", "WorkshopEnum"),
        ("OrderEvent", "from_status", "OrderStatusEnum"),
        ("OrderEvent", "to_status", "OrderStatusEnum"),
        ("Order", "current_workshop", "WorkshopEnum"),
    ]:
        assert components[component]["properties"][field]["oneOf"] == [
            {"$ref": f"#/components/schemas/{enum}"},
            null_or,
        ]
    assert components["Job"]["properties"]["priority"]["allOf"] == [{"$ref": "#/components/schemas/PriorityEnum"}]


def test_the_schema_is_a_valid_openapi_document(schema):
    from openapi_spec_validator import validate

    validate(schema)  # raises, naming what is wrong, on an invalid document


@pytest.mark.parametrize(
    ("component", "field", "accepted", "refused"),
    [
        ("TicketCreateRequest", "subject", ["Printer", "  Ward 3\tscanner\n"], ["", "   ", "Bad\x00name", "Tab\x0b"]),
        ("RateRequest", "comment", ["", "Good work.\r\nThanks"], ["\x7f", "Bell\x07"]),
    ],
)
def test_texts_state_the_rule_every_service_applies_to_them(schema, component, field, accepted, refused):
    """factory.limits.clean_text refuses control characters and, where a text is required, one that is only
    white space: the pattern tells a generated client (and schemathesis) the same."""
    import re

    prop = schema["components"]["schemas"][component]["properties"][field]
    # A text that may be blank is "the text, or empty" (oneOf); the rule is on the text.
    pattern = re.compile(prop["oneOf"][0]["pattern"] if "oneOf" in prop else prop["pattern"])

    assert all(pattern.search(text) for text in accepted)
    assert not any(pattern.search(text) for text in refused)


def test_the_schema_opens_with_the_integrators_guide_in_the_readers_language(django_db_blocker):
    with django_db_blocker.unblock():
        english = Client().get("/api/schema/", {"format": "json"}).json()["info"]["description"]
        chinese = Client().get("/api/schema/", {"format": "json"}, HTTP_ACCEPT_LANGUAGE="zh-hans")
    chinese = chinese.json()["info"]["description"]

    for section in ("## Authentication", "## Errors", "## Lists", "## Creating safely", "## Rate limits"):
        assert section in english
    assert "`Authorization: Token <token>`" in english
    assert "## 认证" in chinese
