"""Delivered orders of two organizations."""

import pytest

from tests.factories import order_at


@pytest.fixture
def delivered_a(org_a, client_a, ops_user):
    return order_at("delivered", staff=ops_user, client=org_a, actor=client_a)


@pytest.fixture
def delivered_b(org_b, client_b, ops_user):
    return order_at("delivered", staff=ops_user, client=org_b, actor=client_b)
