"""Static files a browser keeps: every URL names its file's content, and the files come with a long lifetime, so
that a repeat visit of a chart page takes plotly.js (4.8 MB) from the browser's cache without asking again."""

import re

import pytest
from django.contrib.staticfiles import finders
from django.templatetags.static import static

from factory.staticstorage import VersionedStaticFilesStorage

pytestmark = pytest.mark.django_db

A_YEAR = 365 * 24 * 3600


def test_a_chart_page_defers_every_script_so_its_text_is_painted_first(client, ops_user):
    client.force_login(ops_user)

    scripts = re.findall(r"<script\b[^>]*\bsrc=[^>]*>", client.get("/").content.decode())

    assert any("plotly.min.js" in script for script in scripts)
    assert [script for script in scripts if " defer " not in script] == []


def test_static_urls_name_their_content_and_browsers_keep_the_files_a_year(client):
    url = static("plotly/plotly.min.js")

    response = client.get(url)

    assert re.fullmatch(r"/static/plotly/plotly\.min\.js\?v=[0-9a-f]{12}", url)
    assert response.status_code == 200
    assert f"max-age={A_YEAR}" in response["Cache-Control"]


def test_an_edited_file_gets_a_new_url(tmp_path, monkeypatch):
    stylesheet = tmp_path / "factory.css"
    stylesheet.write_text("body { color: black; }")
    monkeypatch.setattr(finders, "find", lambda name: str(stylesheet))
    storage = VersionedStaticFilesStorage()
    before = storage.url("factory/css/factory.css")

    stylesheet.write_text("body { color: #1b2430; }")

    assert storage.url("factory/css/factory.css") != before
