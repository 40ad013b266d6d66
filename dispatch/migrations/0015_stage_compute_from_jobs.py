from django.db import migrations

# Stages learned their compute in orders 0011: fill it from the jobs run so far (dispatch.services'
# STAGES_COMPUTE_REBUILD_SQL, as it stood when this was written).
FILL = """
UPDATE orders_orderstage AS stage SET compute_pflops_hours = used.work, compute_cost = used.cost
FROM (
    SELECT step.stage_id, ROUND(SUM(job.done_pflops_hours), 2) AS work, SUM(job.cost) AS cost
    FROM dispatch_job AS job JOIN orders_orderstep AS step ON step.id = job.step_id
    GROUP BY step.stage_id
) AS used
WHERE stage.id = used.stage_id
"""


class Migration(migrations.Migration):
    dependencies = [
        ("dispatch", "0014_scheduled_pool_changes"),
        ("orders", "0011_stage_compute"),
    ]

    operations = [migrations.RunSQL(FILL, migrations.RunSQL.noop)]
