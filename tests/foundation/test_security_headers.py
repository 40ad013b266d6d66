"""The Content Security Policy every page is served with: scripts only from this site's files."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/accounts/login/", "/", "/dispatch/", "/api/v1/orders/"])
def test_every_answer_carries_the_policy(client, ops_user, path):
    client.force_login(ops_user)

    policy = client.get(path)["Content-Security-Policy"]

    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"


def test_no_page_template_has_an_inline_script():
    from pathlib import Path

    templates = Path(__file__).resolve().parents[2] / "templates"
    inline = [
        str(path)
        for path in templates.rglob("*.html")
        for line in path.read_text().splitlines()
        if "<script" in line and "src=" not in line
    ]
    assert inline == []
