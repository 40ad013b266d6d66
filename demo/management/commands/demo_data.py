"""manage.py demo_data: the demo factory (demo.story.build), only in demo mode."""

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo.story.build import build_demo


class Command(BaseCommand):
    help = "Create the demo users and data (idempotent: running it again keeps what exists)."

    def handle(self, *args, **options):
        if not settings.DEMO_MODE:
            raise CommandError("Demo data is only created in demo mode (DEMO_MODE=true), never in production.")
        started = time.perf_counter()
        summary = build_demo()
        self.stdout.write(self.style.SUCCESS(f"{summary} ({time.perf_counter() - started:.1f} s)."))
