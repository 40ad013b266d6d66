"""Print the latest factory instant the database holds (ISO), or nothing for an empty factory.

bin/run resumes the demo clock from it (devrun.launcher), so the clock never starts behind what already
happened: the last tick, the latest order or ticket event, the last run of any periodic task. A file
written at a clean stop would be stale after a crash.
"""

from django.core.management.base import BaseCommand
from django.db.models import Max

from aftersales.models import TicketEvent
from dispatch.models import DispatchState
from factory.models import PeriodicRun
from orders.models import OrderEvent


def latest_factory_instant():
    candidates = [
        DispatchState.objects.aggregate(at=Max("last_tick_at"))["at"],
        OrderEvent.objects.aggregate(at=Max("at"))["at"],
        TicketEvent.objects.aggregate(at=Max("at"))["at"],
        PeriodicRun.objects.aggregate(at=Max("factory_time"))["at"],
    ]
    return max((at for at in candidates if at is not None), default=None)


class Command(BaseCommand):
    help = "Print the latest factory instant the database holds (ISO 8601), or nothing when it holds none."

    def handle(self, *args, **options):
        latest = latest_factory_instant()
        if latest is not None:
            self.stdout.write(latest.isoformat())
