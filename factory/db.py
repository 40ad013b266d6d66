"""Database helpers shared by the apps."""

import functools
import logging
import random
import time

from django.contrib.postgres.indexes import GinIndex, OpClass
from django.db import OperationalError, connection, transaction
from django.db.models.functions import Upper
from django.utils.translation import gettext as _

from factory.errors import Busy

logger = logging.getLogger(__name__)

PAGE = 1000


def bulk_update_rows(model, fields: list[str], rows: list[tuple]) -> int:
    """Write `rows` of (pk, value per field) in one `UPDATE … FROM (VALUES …)` statement per 1,000 rows.

    Django's bulk_update builds a CASE expression per row and field, which costs seconds of Python
    for the thousands of jobs a dispatch tick touches; this costs milliseconds.
    """
    if not rows:
        return 0
    meta = model._meta
    columns = [meta.get_field(name).column for name in fields]
    types = [meta.get_field(name).db_type(connection) for name in fields]
    assignments = ", ".join(
        f'"{column}" = v."{column}"::{db_type}' for column, db_type in zip(columns, types, strict=True)
    )
    names = ", ".join(f'"{column}"' for column in columns)
    # Table and column names come from the model's own metadata, never from input.
    sql = (
        f'UPDATE "{meta.db_table}" AS t SET {assignments} '  # noqa: S608
        f'FROM (VALUES {{values}}) AS v("pk", {names}) WHERE t."{meta.pk.column}" = v."pk"'
    )
    placeholder = "(" + ", ".join(["%s"] * (len(fields) + 1)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), PAGE):
            page = rows[start : start + PAGE]
            cursor.execute(
                sql.format(values=", ".join([placeholder] * len(page))), [value for row in page for value in row]
            )
    return len(rows)


# Postgres ends one transaction of a deadlock (40P01) or of a serialization conflict (40001); the same
# change tried again a moment later goes through.
CONFLICT_CODES = {"40P01", "40001"}
CONFLICT_ATTEMPTS = 4


def is_conflict(error: Exception) -> bool:
    return getattr(error.__cause__, "pgcode", None) in CONFLICT_CODES


def atomic_with_retry(func):
    """Run ``func`` in a transaction of its own, again (up to CONFLICT_ATTEMPTS times, after a short random
    pause) when Postgres ends it for a deadlock or a serialization conflict; then refuse it as Busy, never as
    "database down". Inside an outer transaction it is a plain atomic block: the outermost one owns retries.
    """

    @functools.wraps(func)
    def run(*args, **kwargs):
        if connection.in_atomic_block:
            with transaction.atomic():
                return func(*args, **kwargs)
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            try:
                with transaction.atomic():
                    return func(*args, **kwargs)
            except OperationalError as error:
                if not is_conflict(error):
                    raise
                logger.warning("%s: %s (attempt %d of %d)", func.__qualname__, error, attempt, CONFLICT_ATTEMPTS)
                if attempt < CONFLICT_ATTEMPTS:
                    time.sleep(random.uniform(0.01, 0.05) * attempt)  # noqa: S311 (jitter, not cryptography)
        raise Busy(_("Others are changing the same records right now. Try again in a moment."))

    return run


def text_search_index(field: str, *, name: str) -> GinIndex:
    """A trigram index that serves `<field>__icontains` (Django asks `UPPER(field::text) LIKE UPPER('%…%')`): a
    fragment of a reference, a title or a name in any script, a Chinese one too, is found without reading the table.
    Needs the pg_trgm extension (orders.migrations: order_search_trigrams installs it)."""
    return GinIndex(OpClass(Upper(field), name="gin_trgm_ops"), name=name)
