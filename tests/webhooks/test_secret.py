"""The signing secret is the client's own: checked by webhooks.services whoever registers (the portal, the API, a
script), kept exactly as given to sign with, and never shown again."""

import re

import pytest

from factory.errors import SubmissionKeyReused
from webhooks import services
from webhooks.errors import WebhookInvalid
from webhooks.models import Endpoint

pytestmark = pytest.mark.django_db

SECRET = "the-hospitals-own-secret"


def _register(org, actor, secret, **extra):
    return services.endpoint_register(
        client=org,
        actor=actor,
        url="https://hooks.example.com/factory",
        kinds=["order_accepted"],
        secret=secret,
        **extra,
    )


@pytest.mark.parametrize(
    ("secret", "said"),
    [
        (None, "Give a signing secret"),
        ("", "Give a signing secret"),
        (" " * 30, "Give a signing secret"),
        ("fifteen-letters", "at least 16 characters long (it has 15)"),
        ("x" * 201, "to 200 characters at most (it has 201)"),
        ("nul\x00in-the-secret-here", "Remove the control characters"),
        ("del\x7fin-the-secret-here", "Remove the control characters"),
        ("c1\x85in-the-secret-here", "Remove the control characters"),
        ("tab\tin-the-secret-here", "Remove the control characters"),
    ],
)
def test_a_secret_that_breaks_the_rule_is_refused_on_its_field(org_a, client_a, secret, said):
    with pytest.raises(WebhookInvalid, match=re.escape(said)) as refused:
        _register(org_a, client_a, secret)

    assert refused.value.field == "secret"
    assert not Endpoint.objects.exists()


@pytest.mark.parametrize(
    "secret", ["sixteen-letters!", "x" * 200, "  spaced out, kept whole  ", "密钥也可以是中文的字符串哦哦哦哦"]
)
def test_a_secret_within_the_rule_is_kept_as_given(org_a, client_a, secret):
    assert _register(org_a, client_a, secret).secret == secret


def test_the_same_submission_key_with_another_secret_is_refused(org_a, client_a):
    first = _register(org_a, client_a, SECRET, submission_key="k1")

    assert _register(org_a, client_a, SECRET, submission_key="k1") == first
    with pytest.raises(SubmissionKeyReused):
        _register(org_a, client_a, "another-secret-altogether", submission_key="k1")
    assert SECRET not in first.submission_digest
