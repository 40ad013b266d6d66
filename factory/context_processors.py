"""What every page's base layout needs from the ground floor: the factory clock."""

from factory import clock


def clock_context() -> dict:
    return {"factory_now": clock.now(), "clock_speed": clock.speed()}


def public_page() -> dict:
    """What the base layout needs on a public page that looks the same to everyone (and may be kept):
    no navigation, no user menu, no messages."""
    return {"navigation": [], **clock_context()}
