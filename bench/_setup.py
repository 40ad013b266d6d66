"""Shared set-up of the benchmarks: Django on a separate `<name>_bench` database, migrated."""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "factory.settings")
os.environ.setdefault("DEBUG", "true")


def django_on_bench_database(suffix: str = "bench") -> str:
    """Point Django at `<database>_<suffix>` (created if missing, migrated) and return its name."""
    import django
    from django.conf import settings

    database = settings.DATABASES["default"]
    bench_name = f"{database['NAME']}_{suffix}"
    import psycopg2

    # The maintenance database, as Django's test runner does: the named one need not exist yet.
    admin = psycopg2.connect(
        dbname="postgres",
        user=database.get("USER") or None,
        password=database.get("PASSWORD") or None,
        host=database.get("HOST") or None,
        port=database.get("PORT") or None,
    )
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [bench_name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{bench_name}"')
    admin.close()
    database["NAME"] = bench_name
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return bench_name
