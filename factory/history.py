"""Rows whose history matters are never deleted: a Postgres trigger refuses DELETE on their tables.

Whatever the path (the ORM, the admin, a shell, raw SQL), an order, its events, a security review or a
ticket with its thread stays. Cancelling, rejecting and closing are the ways to end them. Tests reset the
database with TRUNCATE, which these row triggers do not see.
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION factory_refuse_delete() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'rows of % keep the factory''s history and are never deleted', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
"""


def refuse_deletes(*tables: str) -> list:
    """Migration operations: the shared function, and a BEFORE DELETE trigger on each table."""
    operations = [migrations.RunSQL(FUNCTION, reverse_sql=migrations.RunSQL.noop)]
    for table in tables:
        operations.append(
            migrations.RunSQL(
                f"CREATE TRIGGER {table}_keep_history BEFORE DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION factory_refuse_delete();",
                reverse_sql=f"DROP TRIGGER IF EXISTS {table}_keep_history ON {table};",
            )
        )
    return operations
