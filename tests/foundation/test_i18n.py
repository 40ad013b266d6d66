import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_switching_to_chinese_renders_the_page_in_chinese(client, ops_user):
    client.force_login(ops_user)

    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    response = client.get("/")

    page = response.content.decode()
    assert '<html lang="zh-hans">' in page
    assert "运营中心" in page
    assert "Operations center" not in page


def test_english_is_the_default_language(client):
    page = client.get(reverse("login")).content.decode()

    assert '<html lang="en">' in page
    assert "Sign in" in page


def test_login_page_in_chinese(client):
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})

    assert "登录" in client.get(reverse("login")).content.decode()


def test_every_message_has_a_chinese_translation():
    from pathlib import Path

    import polib
    from django.conf import settings

    catalog = polib.pofile(str(Path(settings.BASE_DIR) / "locale/zh_Hans/LC_MESSAGES/django.po"))

    missing = [entry.msgid for entry in catalog if not entry.obsolete and (not entry.translated() or entry.fuzzy)]
    assert missing == []
