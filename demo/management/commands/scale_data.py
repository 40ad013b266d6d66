"""manage.py scale_data: the scale data set the benchmarks run on (demo.scale.build), refused in production."""

import dataclasses
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo.scale.build import Options, scale_data_build, scale_data_summary

HELP = {
    "orders": "orders (default 10,000)",
    "jobs": "dispatch jobs (default 100,000)",
    "pools": "compute pools (default 50)",
    "days": "days of utilization and queue samples",
    "sample_minutes": "factory minutes between samples",
    "per_year": "orders placed per year (sets the history)",
    "seed": "seed of every draw",
}


class Command(BaseCommand):
    help = "Build the scale data set for the benchmarks (orders, jobs, pools, samples, reviews, tickets)."

    def add_arguments(self, parser):
        for option in dataclasses.fields(Options):
            flag = f"--{option.name.replace('_', '-')}"
            parser.add_argument(flag, type=int, default=option.default, help=HELP[option.name])
        parser.add_argument("--reset", action="store_true", help="empty every factory table first")
        parser.add_argument("--force", action="store_true", help="run even when DEMO_MODE is off")

    def handle(self, *args, **options):
        if not (settings.DEMO_MODE or options["force"]):
            raise CommandError(
                "The scale data set is for benchmark databases: it needs DEMO_MODE=true or --force, never production."
            )
        for name in ("orders", "jobs", "pools", "days", "sample_minutes", "per_year"):
            minimum = 0 if name in ("orders", "jobs") else 1
            if options[name] < minimum:
                raise CommandError(f"--{name.replace('_', '-')} must be at least {minimum}.")
        started = time.perf_counter()
        wanted = Options(**{option.name: options[option.name] for option in dataclasses.fields(Options)})
        report = scale_data_build(wanted, reset=options["reset"])
        if report is None:
            self.stdout.write(f"The scale data set is already there: {scale_data_summary()}. --reset builds it anew.")
            return
        self.stdout.write(report)
        self.stdout.write(
            self.style.SUCCESS(f"Scale data set built: {scale_data_summary()} ({time.perf_counter() - started:.1f} s).")
        )
