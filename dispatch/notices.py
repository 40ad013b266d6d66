"""What the dispatch center tells its staff without being asked (notifications.kinds): a pool changed state, by a
person, a maintenance window or a scheduled change."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from dispatch.models import PoolState
from factory import roles
from notifications.kinds import STAFF, EmailChoice, Kind, register
from notifications.services import notify, staff_holding

POOL_STATE_CHANGED = "pool_state_changed"

register(
    Kind(
        POOL_STATE_CHANGED,
        STAFF,
        label=_("A compute pool changes state"),
        title=_("Pool %(pool)s is now %(state)s"),
        line=_("It was %(was)s."),
        email=EmailChoice.OFF,
        choices={"state": PoolState, "was": PoolState},
    ),
)


def tell_pool_state(change) -> int:
    """Tell the dispatch staff of a pool's change of state (`dispatch.models.PoolStateChange`)."""
    return notify(
        kind=POOL_STATE_CHANGED,
        event=f"pool-state:{change.pk}",
        recipients=staff_holding(roles.DISPATCH),
        params={"pool": change.pool.name, "state": change.to_state, "was": change.from_state},
        url=reverse("dispatch:pool", args=[change.pool_id]),
    )
