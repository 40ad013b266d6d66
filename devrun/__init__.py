"""The developer runtime behind bin/run: the launcher and the embedded Postgres and broker that a DEBUG
run uses when no DATABASE_URL or CELERY_BROKER_URL is set. Production never imports it."""
