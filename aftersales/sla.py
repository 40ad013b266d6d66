"""The default SLA policies, in factory hours: the tighter the severity, the faster the answer.

Loaded by a data migration and editable in the admin afterwards.
"""

from decimal import Decimal

# severity: (first response within, resolution within) in hours
DEFAULT_POLICIES = {
    "critical": (Decimal(1), Decimal(24)),
    "high": (Decimal(4), Decimal(72)),
    "medium": (Decimal(8), Decimal(120)),
    "low": (Decimal(24), Decimal(240)),
}


def load_default_policies(policy_model) -> None:
    """Create the default policy of every severity that has none (existing policies are left as edited)."""
    for severity, (first_response, resolution) in DEFAULT_POLICIES.items():
        policy_model.objects.get_or_create(
            severity=severity, defaults={"first_response_hours": first_response, "resolution_hours": resolution}
        )
