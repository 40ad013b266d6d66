import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

# Staff pages of the control center. Each later page is added here, so that its access is pinned.
STAFF_PAGES = [
    "/",
    "/orders/",
    "/orders/new/",
    "/dispatch/",
    "/dispatch/jobs/",
    "/security/reviews/",
    "/security/reviews/history/",
    "/aftersales/tickets/",
    "/aftersales/tickets/new/",
    "/aftersales/tickets/1/",
]


@pytest.mark.parametrize("path", [*STAFF_PAGES, "/portal/"])
def test_anonymous_visitor_is_sent_to_login(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("path", [page for page in STAFF_PAGES if page != "/"])
def test_client_user_is_refused_staff_pages(client, client_a, path):
    client.force_login(client_a)

    assert client.get(path).status_code in (403, 404)


def test_client_user_landing_on_the_start_page_goes_to_their_portal(client, client_a):
    client.force_login(client_a)

    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == reverse("portal:home")


def test_staff_user_is_refused_the_client_portal(client, ops_user):
    client.force_login(ops_user)

    assert client.get("/portal/").status_code == 403


def test_user_without_role_is_told_to_ask_an_admin(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("newcomer", password="x-pass-123"))

    response = client.get("/")

    assert response.status_code == 403
    assert b"no role yet" in response.content


def test_navigation_shows_each_role_only_its_sections(client, ops_user, client_a):
    client.force_login(ops_user)
    staff_page = client.get("/").content.decode()
    client.force_login(client_a)
    portal_page = client.get("/portal/").content.decode()

    assert "Operations center" in staff_page
    assert "My orders" not in staff_page
    assert "My orders" in portal_page
    assert "Operations center" not in portal_page
    assert "Organization A" in portal_page


def test_login_page_signs_in_and_lands_on_the_dashboard(client, ops_user):
    response = client.post(reverse("login"), {"username": "ops-user", "password": "test-pass-123"}, follow=True)

    assert response.redirect_chain[-1][0] == reverse("home")
    assert "Operations center" in response.content.decode()


def test_wrong_password_is_refused_with_a_message(client, ops_user):
    response = client.post(reverse("login"), {"username": "ops-user", "password": "wrong"})

    assert response.status_code == 200
    assert "did not match" in response.content.decode()


def test_logout_is_a_post_that_ends_the_session(client, ops_user):
    client.force_login(ops_user)

    client.post(reverse("logout"))

    assert client.get("/").status_code == 302


def test_admin_lists_client_organizations(client, admin_user, org_a):
    client.force_login(admin_user)

    response = client.get(reverse("admin:orders_clientorganization_changelist"))

    assert response.status_code == 200
    assert "Organization A" in response.content.decode()


def test_staff_roles_exist_on_a_fresh_database(django_user_model):
    from django.contrib.auth.models import Group

    assert set(Group.objects.values_list("name", flat=True)) >= {"operations", "dispatch", "security", "aftersales"}
