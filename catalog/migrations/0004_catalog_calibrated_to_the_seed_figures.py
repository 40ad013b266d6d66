"""The catalog calibrated to the real factory's figures on the demo pools: 800 vertical models a year offer about
85 % of the room the demo pools leave after other tenants' load, every step fits a trusted pool of its kind even at
the background's peak, and a step's work is its demand times its nominal hours.

Forward reloads the standard catalog (idempotent; rows admins added are kept). Backward puts the figures the
standard steps had before back (demand, work, nominal hours); nothing else changed.
"""

from decimal import Decimal

from django.db import migrations

from catalog.standard_catalog import load_standard_catalog

# code -> (demand PFLOPS, work PFLOPS·h, nominal hours) before this migration.
PREVIOUS = {
    "data-intake": ("2", "9", "6"),
    "data-format-normalize": ("8", "32", "5"),
    "data-consent-check": ("0.5", "4", "8"),
    "data-license-audit": ("1", "4", "6"),
    "data-dedup": ("12", "58", "6"),
    "data-pii-detect": ("16", "68", "5"),
    "data-deidentify": ("10", "52", "6"),
    "data-reid-risk": ("6", "15", "3"),
    "data-clean": ("14", "96", "8"),
    "data-quality-score": ("20", "66", "4"),
    "data-annotation-guideline": ("0.5", "8", "16"),
    "data-annotate": ("4", "150", "48"),
    "data-annotation-qa": ("2", "14", "8"),
    "data-class-balance": ("4", "7", "2"),
    "data-augment": ("24", "210", "10"),
    "data-multilingual-augment": ("40", "560", "16"),
    "data-synthetic": ("60", "640", "12"),
    "data-split": ("2", "3", "2"),
    "data-heldout-benchmark": ("6", "48", "12"),
    "data-card": ("0.5", "3", "6"),
    "data-versioning": ("2", "3", "2"),
    "data-signoff": ("0.5", "1", "2"),
    "model-base-select": ("20", "90", "6"),
    "model-tokenizer-adapt": ("8", "40", "6"),
    "model-continued-pretrain": ("200", "40000", "220"),
    "model-sft": ("200", "6600", "36"),
    "model-lora": ("64", "700", "12"),
    "model-preference-align": ("240", "10200", "48"),
    "model-hparam-sweep": ("160", "3400", "24"),
    "model-checkpoint-select": ("24", "86", "4"),
    "model-eval-heldout": ("40", "210", "6"),
    "model-expert-review": ("0.5", "8", "16"),
    "model-bias-eval": ("30", "130", "5"),
    "model-robustness-eval": ("36", "190", "6"),
    "model-adversarial-sweep": ("120", "1900", "18"),
    "model-hallucination-eval": ("32", "140", "5"),
    "model-redteam": ("48", "420", "10"),
    "model-quantize": ("24", "80", "4"),
    "model-distill": ("180", "6300", "40"),
    "model-inference-optimize": ("32", "220", "8"),
    "model-package": ("4", "6", "2"),
    "model-card": ("0.5", "2", "4"),
    "agent-knowledge-base": ("10", "80", "10"),
    "agent-chunking": ("4", "10", "3"),
    "agent-embedding": ("24", "130", "6"),
    "agent-rag-index": ("8", "28", "4"),
    "agent-retrieval-eval": ("12", "40", "4"),
    "agent-persona": ("2", "16", "12"),
    "agent-tool-schema": ("0.5", "3", "6"),
    "agent-planning-policy": ("8", "50", "8"),
    "agent-memory": ("6", "18", "4"),
    "agent-multi-agent": ("24", "200", "10"),
    "agent-guardrails": ("6", "30", "6"),
    "agent-tool-use-eval": ("20", "90", "5"),
    "agent-dialogue-eval": ("24", "130", "6"),
    "agent-task-eval": ("30", "220", "8"),
    "agent-prompt-injection": ("16", "60", "4"),
    "agent-redteam": ("32", "340", "12"),
    "agent-latency-cost": ("12", "30", "3"),
    "agent-package": ("1", "2", "2"),
    "int-scaffold": ("1", "3", "4"),
    "int-api-gateway": ("2", "10", "6"),
    "int-sso": ("0.5", "3", "6"),
    "int-ui": ("1", "8", "12"),
    "int-containerize": ("4", "10", "3"),
    "int-deploy-config": ("0.5", "1.5", "3"),
    "int-e2e-test": ("8", "40", "6"),
    "int-staging": ("16", "50", "4"),
    "int-load-test": ("80", "560", "8"),
    "int-pentest": ("4", "40", "12"),
    "int-acceptance": ("0.5", "8", "16"),
    "int-monitoring": ("2", "6", "4"),
    "int-production-deploy": ("24", "80", "4"),
    "int-ops-handbook": ("0.5", "4", "8"),
    "int-delivery-audit": ("0.5", "2", "4"),
}


def reload(apps, schema_editor):
    load_standard_catalog(
        apps.get_model("catalog", "Toolchain"),
        apps.get_model("catalog", "ProcessStep"),
        apps.get_model("catalog", "RoutingStage"),
    )


def restore(apps, schema_editor):
    step_model = apps.get_model("catalog", "ProcessStep")
    for code, (demand, work, hours) in PREVIOUS.items():
        step_model.objects.filter(code=code).update(
            demand_pflops=Decimal(demand), work_pflops_hours=Decimal(work), nominal_hours=Decimal(hours)
        )


class Migration(migrations.Migration):
    dependencies = [("catalog", "0003_continued_pretraining_fits_the_pools")]

    operations = [migrations.RunPython(reload, restore)]
