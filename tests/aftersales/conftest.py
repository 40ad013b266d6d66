"""Delivered orders of two organizations, and a way to move the factory clock."""

from datetime import timedelta

import pytest

from factory import clock
from tests.factories import order_at


@pytest.fixture
def delivered_a(org_a, client_a, ops_user):
    return order_at("delivered", staff=ops_user, client=org_a, actor=client_a)


@pytest.fixture
def delivered_b(org_b, client_b, ops_user):
    return order_at("delivered", staff=ops_user, client=org_b, actor=client_b)


@pytest.fixture
def move_clock(monkeypatch):
    """move_clock(hours=…) moves the factory clock forward; it stays there for the rest of the test."""
    offset = timedelta(0)
    real_now = clock.now

    def shifted():
        return real_now() + offset

    def move(**delta):
        nonlocal offset
        offset += timedelta(**delta)

    monkeypatch.setattr(clock, "now", shifted)
    return move
