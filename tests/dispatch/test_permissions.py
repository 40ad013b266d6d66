"""Only the dispatch role changes a pool's state: dispatch.permissions, enforced by dispatch.services itself, so an
actor without the role is refused (403) by the service, the API and the pool page alike, and nothing changes."""

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from dispatch import services
from dispatch.errors import PoolActionNotPermitted
from dispatch.models import PoolState, PoolStateChange
from tests.factories import compute_pool

pytestmark = pytest.mark.django_db


@pytest.fixture
def pool(db):
    return compute_pool()


def _unchanged(pool):
    pool.refresh_from_db()
    assert pool.state == PoolState.ACTIVE
    assert not PoolStateChange.objects.filter(pool=pool).exists()


@pytest.mark.parametrize("who", ["aftersales_user", "ops_user", "reviewer", "client_a"])
@pytest.mark.parametrize("action", ["drain", "offline"])
def test_only_the_dispatch_role_changes_a_pools_state_through_the_service(request, pool, who, action):
    with pytest.raises(PoolActionNotPermitted):
        services.pool_change_state(pool=pool, action=action, actor=request.getfixturevalue(who), reason="Maintenance")

    _unchanged(pool)


def test_nobody_changes_a_pools_state_as_the_system(pool):
    with pytest.raises(PoolActionNotPermitted):
        services.pool_change_state(pool=pool, action="offline", actor=None, reason="Maintenance")

    _unchanged(pool)


def test_a_dispatcher_takes_a_pool_offline(pool, dispatcher):
    services.pool_change_state(pool=pool, action="offline", actor=dispatcher, reason="Maintenance")

    pool.refresh_from_db()
    assert pool.state == PoolState.OFFLINE


def test_the_api_answers_403_to_an_aftersales_user_taking_a_pool_offline(pool, aftersales_user):
    api = APIClient()
    token, _created = Token.objects.get_or_create(user=aftersales_user)
    api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    response = api.post(f"/api/v1/pools/{pool.pk}/offline/", {"reason": "Maintenance"}, format="json")

    assert response.status_code == 403
    _unchanged(pool)


def test_the_pool_page_answers_403_to_an_operations_user_taking_a_pool_offline(client, pool, ops_user):
    client.force_login(ops_user)

    response = client.post(reverse("dispatch:pool-offline", args=[pool.pk]), {"reason": "Maintenance"})

    assert response.status_code == 403
    _unchanged(pool)
