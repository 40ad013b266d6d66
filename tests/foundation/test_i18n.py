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


def _untranslated(texts) -> list[str]:
    """The texts that read the same in Chinese as in English: no catalog translates them."""
    from django.utils import translation

    missing = []
    for text in texts:
        with translation.override("en"):
            english = str(text)
        with translation.override("zh-hans"):
            chinese = str(text)
        if chinese == english:
            missing.append(english)
    return sorted(set(missing))


def test_every_model_field_and_app_the_admin_shows_has_a_chinese_name():
    from django.apps import apps
    from django.contrib import admin

    # Every model registered in the admin, ours and third-party (django-axes, auth, DRF's tokens), with the fields
    # its forms and columns label: Django looks a lazy name up in every catalog, so ours can translate theirs.
    names = []
    for model in admin.site._registry:
        names += [model._meta.verbose_name, model._meta.verbose_name_plural]
        names.append(apps.get_app_config(model._meta.app_label).verbose_name)
        names += [field.verbose_name for field in model._meta.get_fields() if not field.auto_created]

    assert _untranslated(names) == []


def test_every_simulated_staff_label_has_a_chinese_translation():
    from demo.staff import SIM_STAFF
    from factory.people import SIMULATED_LABELS

    assert {name for _role, name in SIM_STAFF.values()} | {"Client"} <= set(SIMULATED_LABELS)
    assert _untranslated(SIMULATED_LABELS.values()) == []


def test_the_admin_index_names_third_party_and_our_models_in_chinese(client, admin_user):
    client.force_login(admin_user)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})

    page = client.get("/admin/").content.decode()

    assert "访问尝试" in page
    assert "利用率采样" in page
    assert "Access attempts" not in page
    assert "Utilization samples" not in page


def test_a_timeline_names_the_simulated_staff_in_chinese(client, ops_user, org_a, client_a):
    from demo.staff import SIM_OPERATIONS, sim_staff
    from orders import services
    from tests.factories import place_order

    order = place_order(client=org_a, actor=client_a)
    services.order_accept(order=order, actor=sim_staff(SIM_OPERATIONS))
    client.force_login(ops_user)

    english = client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    chinese = client.get(reverse("orders:detail", args=[order.pk])).content.decode()

    assert "Operations (simulated)" in english
    assert "运营" in chinese
    assert "模拟" in chinese
    assert "Operations (simulated)" not in chinese


def test_every_system_note_reads_in_chinese():
    from django.utils import translation

    from factory.notes import SYSTEM_NOTES

    params = {"count": 2, "given": 1, "required": 2}
    with translation.override("zh-hans"):
        english_only = [note.singular for note in SYSTEM_NOTES if note.words(**params) == note.stored(**params)]

    assert english_only == []


def test_the_admin_lists_sign_in_attempts_with_chinese_column_names(client, admin_user):
    from axes.models import AccessAttempt

    AccessAttempt.objects.create(
        username="someone",
        ip_address="10.0.0.7",
        user_agent="curl/8",
        http_accept="*/*",
        path_info="/accounts/login/",
        get_data="",
        post_data="",
        failures_since_start=3,
    )
    client.force_login(admin_user)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})

    page = client.get("/admin/axes/accessattempt/").content.decode()

    assert "IP 地址" in page
    assert "登录失败次数" in page
    assert "IP Address" not in page
    assert "Failed Logins" not in page
