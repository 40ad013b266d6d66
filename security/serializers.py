from rest_framework import serializers

from security.models import Review, Severity


class ChecklistAnswerSerializer(serializers.Serializer):
    position = serializers.IntegerField(read_only=True)
    item = serializers.CharField(read_only=True)
    passed = serializers.BooleanField(allow_null=True, read_only=True)
    note = serializers.CharField(read_only=True)


class FindingSerializer(serializers.Serializer):
    severity = serializers.ChoiceField(choices=Severity.choices)
    text = serializers.CharField(max_length=2000)


class ReviewSerializer(serializers.ModelSerializer):
    order = serializers.IntegerField(source="order_id", read_only=True)
    order_reference = serializers.CharField(source="order.reference", read_only=True)
    checklist = ChecklistAnswerSerializer(source="answers", many=True, read_only=True)
    findings = FindingSerializer(many=True, read_only=True)
    reviewer = serializers.CharField(source="reviewer.username", read_only=True, allow_null=True, default=None)
    approvals = serializers.SerializerMethodField()

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
            "approvals",
            "checklist",
            "findings",
            "reviewer",
            "opened_at",
            "decided_at",
        ]

    def get_approvals(self, review) -> list[str]:
        """Usernames of the reviewers who approved, in order."""
        return [approval.reviewer.username for approval in review.approvals.all()]


class AnswerInputSerializer(serializers.Serializer):
    position = serializers.IntegerField(min_value=1)
    passed = serializers.BooleanField(allow_null=True)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class ApproveInputSerializer(serializers.Serializer):
    checklist = AnswerInputSerializer(many=True)


class RejectInputSerializer(serializers.Serializer):
    findings = FindingSerializer(many=True, allow_empty=True)
    rework_steps = serializers.ListField(child=serializers.IntegerField(), allow_empty=True)
    checklist = AnswerInputSerializer(many=True, required=False)


def answers_by_position(rows) -> dict:
    return {row["position"]: {"passed": row["passed"], "note": row.get("note", "")} for row in rows or []}
