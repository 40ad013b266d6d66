"""Shapes of the security API (API.md "Security"). Input serializers only parse; the rules are the services'."""

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from factory.api import InputSerializer
from factory.limits import NOTE_MAX
from security.models import Review, Severity

# --- Output -----------------------------------------------------------------------------------------


class ReviewChecklistAnswerSerializer(serializers.Serializer):
    position = serializers.IntegerField(read_only=True)
    item = serializers.CharField(read_only=True, help_text=_("The question, as it stood when the review opened."))
    passed = serializers.BooleanField(allow_null=True, read_only=True, help_text=_("null until answered."))
    note = serializers.CharField(read_only=True)


class ReviewFindingSerializer(InputSerializer):
    severity = serializers.ChoiceField(choices=Severity.choices)
    text = serializers.CharField(max_length=NOTE_MAX)


class ReviewSerializer(serializers.ModelSerializer):
    order = serializers.IntegerField(source="order_id", read_only=True)
    order_reference = serializers.CharField(source="order.reference", read_only=True)
    checklist = ReviewChecklistAnswerSerializer(source="answers", many=True, read_only=True)
    findings = ReviewFindingSerializer(many=True, read_only=True)
    reviewer = serializers.CharField(
        source="reviewer.username",
        read_only=True,
        allow_null=True,
        default=None,
        help_text=_("Who decided the review (the last approval, or the rejection); null while pending."),
    )
    gate_passage = serializers.IntegerField(
        source="passage", read_only=True, help_text=_("1 for the gate's first review, 2 after one rework, …")
    )
    approvals_given = serializers.IntegerField(read_only=True)
    approvals = serializers.SerializerMethodField(help_text=_("Usernames of the reviewers who approved, in order."))

    class Meta:
        model = Review
        fields = [
            "id",
            "order",
            "order_reference",
            "workshop",
            "status",
            "sensitive",
            "gate_passage",
            "approvals_required",
            "approvals_given",
            "approvals",
            "checklist",
            "findings",
            "reviewer",
            "opened_at",
            "decided_at",
        ]
        read_only_fields = fields

    def get_approvals(self, review) -> list[str]:
        return [approval.reviewer.username for approval in review.approvals.all()]


# --- Input ------------------------------------------------------------------------------------------


class ChecklistAnswerInputSerializer(InputSerializer):
    position = serializers.IntegerField(
        min_value=1, required=False, help_text=_("The item's position; when left out, its place in the list (1-based).")
    )
    passed = serializers.BooleanField(allow_null=True)
    note = serializers.CharField(max_length=NOTE_MAX, required=False, allow_blank=True, default="")


class ReviewApproveInputSerializer(InputSerializer):
    checklist = ChecklistAnswerInputSerializer(many=True, help_text=_("An answer for every item; each must pass."))

    def validate_checklist(self, rows):
        return _numbered(rows)


class ReviewRejectInputSerializer(InputSerializer):
    findings = ReviewFindingSerializer(many=True, allow_empty=True, help_text=_("At least one finding."))
    rework_steps = serializers.ListField(
        child=serializers.IntegerField(),
        allow_empty=True,
        help_text=_("Ids of the steps of the workshop under review to redo (at least one)."),
    )
    checklist = ChecklistAnswerInputSerializer(
        many=True, required=False, help_text=_("Optional: when given, every item must be answered.")
    )

    def validate_checklist(self, rows):
        return _numbered(rows)


def _numbered(rows) -> list[dict]:
    """Give rows without a position their place in the list; the same position twice is refused."""
    numbered = [{**row, "position": row.get("position") or index} for index, row in enumerate(rows, start=1)]
    positions = [row["position"] for row in numbered]
    if len(positions) != len(set(positions)):
        raise serializers.ValidationError(_("Answer each checklist item once."))
    return numbered


def answers_by_position(rows) -> dict:
    """{position: {"passed", "note"}} as security.services takes them."""
    return {row["position"]: {"passed": row["passed"], "note": row.get("note", "")} for row in rows or []}
