"""Every HTML form of the control center, posted with hostile values: never a 5xx, and a refusal writes nothing.

The forms are found, not listed: every page of the access matrix is read as a superuser and as client A, and
each `<form method="post">` gives its action and field names. Each POST page of the matrix (and the pages that
create orders and tickets) is then sent every field at once set to one hostile value: over-long, with NUL or
other control characters, nested a thousand deep, of the wrong type, empty, or the field twice. Each request
runs in a savepoint rolled back after it, on the matrix's world (org A's delivered order, its ticket, a
pending review, the pools).
"""

from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.db import transaction
from django.test import Client

from tests.foundation.test_access_matrix import EXPECTED, _url, world  # noqa: F401 (world is a fixture)

HOSTILE = {
    "over-long": "x" * 100_001,
    "NUL": "a\x00b",
    "control characters": "\x1b[2J\x07\x7f",
    "nested": "[" * 1000 + "]" * 1000,
    "wrong type": "not-a-number-🙂",
    "empty": "",
}
TWICE = "field twice"
# The pages that create, which the matrix asks with GET only (their POST is the form under test here).
CREATE_PAGES = {"/orders/new/": None, "/aftersales/tickets/new/": None, "/portal/orders/new/": None}
CREATE_PAGES["/portal/tickets/new/"] = None


class _Forms(HTMLParser):
    """The POST forms of a page: action → field names."""

    def __init__(self, path: str):
        super().__init__()
        self.path, self.action, self.forms = path, None, {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "").lower() == "post":
            self.action = (attrs.get("action") or self.path).split("?")[0]
            self.forms.setdefault(self.action, set())
        elif tag in ("input", "textarea", "select", "button") and self.action and attrs.get("name"):
            self.forms[self.action].add(attrs["name"])

        self.forms.get(self.action, set()).discard("csrfmiddlewaretoken")

    def handle_endtag(self, tag):
        if tag == "form":
            self.action = None


def _role_for(template: str) -> str:
    return "client_a" if template.startswith("/portal/") else "admin"


def _targets():
    posts = [key.split(" ", 1)[1] for key in EXPECTED if key.startswith("POST ") and " /api/" not in key]
    return [*posts, *CREATE_PAGES]


def _found_forms(world) -> dict[str, set]:  # noqa: F811
    found: dict[str, set] = {}
    for key in EXPECTED:
        method, template = key.split(" ", 1)
        if method != "GET" or template.startswith(("/api/", "/live/", "/dispatch/live/", "/admin/")):
            continue
        for role in ("admin", "client_a"):
            http = Client(raise_request_exception=False)
            http.force_login(world.users[role])
            path = _url(template, EXPECTED[key][0], world)
            response = http.get(path)
            if response.status_code == 200 and "html" in response.get("Content-Type", ""):
                parser = _Forms(path)
                parser.feed(response.content.decode())
                for action, names in parser.forms.items():
                    found.setdefault(action, set()).update(names)
    return found


def _fingerprint():
    """Every table's row count, and the fields a refused action could have changed in place."""
    counts = tuple(model.objects.count() for model in apps.get_models())
    changes = (
        list(apps.get_model("orders", "Order").objects.order_by("pk").values_list("status", "priority", "title")),
        list(apps.get_model("aftersales", "Ticket").objects.order_by("pk").values_list("status", "severity")),
        list(apps.get_model("dispatch", "ComputePool").objects.order_by("pk").values_list("state")),
        list(apps.get_model("security", "Review").objects.order_by("pk").values_list("status")),
    )
    return counts, changes


@pytest.fixture(scope="module")
def forms(world, django_db_blocker):  # noqa: F811
    with django_db_blocker.unblock():
        return _found_forms(world)


@pytest.mark.django_db
@pytest.mark.parametrize("template", _targets())
def test_hostile_values_in_every_field_never_answer_5xx_and_a_refusal_writes_nothing(world, forms, template):  # noqa: F811
    obj = EXPECTED.get(f"POST {template}", (None,))[0]
    path = _url(template, obj, world)
    names = forms.get(path) or set().union(*forms.values())
    http = Client(raise_request_exception=False)
    http.force_login(world.users[_role_for(template)])
    assert names, f"no form posts to {path}"

    for label, value in [*HOSTILE.items(), (TWICE, None)]:
        data = {name: [value or "a", "b"] for name in names} if label == TWICE else dict.fromkeys(names, value)
        with transaction.atomic():
            before = _fingerprint()
            response = http.post(path, data)
            after = _fingerprint()
            transaction.set_rollback(True)
        assert response.status_code < 500, f"POST {path} with {label} values: {response.status_code}"
        if response.status_code >= 400:
            assert after == before, f"POST {path} with {label} values was refused ({response.status_code}) but wrote"
