"""The security API (API.md "Security"), under /api/v1/reviews/.

Reading: the security and operations roles. Deciding (approve, reject): the security role only. Each
decision parses its input, calls one service and answers with the review; domain errors become
400 {"field": [...]}, 403 (e.g. a reviewer who acted on the order as operations staff) or 409 (already
decided) in factory.api.exception_handler.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from factory import roles
from factory.api import ConditionalDetail
from security import permissions, selectors, services
from security.filters import ReviewFilter
from security.serializers import (
    ReviewApproveInputSerializer,
    ReviewRejectInputSerializer,
    ReviewSerializer,
    answers_by_position,
)

# The error statuses and their model are factory.schema's; this says who may not decide.
DECISION_RESPONSES = {
    200: ReviewSerializer,
    403: OpenApiResponse(
        description=_(
            "Not the security role, or a reviewer who may not decide this review (acted on the order as "
            "operations staff, or already approved it)."
        )
    ),
}


def _parse(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


@extend_schema_view(
    list=extend_schema(
        summary=_("List security reviews"),
        description=_("Oldest first unless sorted otherwise. Readable by the security and operations roles."),
    ),
    retrieve=extend_schema(summary=_("One security review"), responses=ReviewSerializer),
)
class ReviewViewSet(ConditionalDetail, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = ReviewSerializer
    filterset_class = ReviewFilter
    permission_classes = [roles.role_permission(*permissions.READ_ROLES)]

    def get_queryset(self):
        return selectors.reviews_with_details()

    def get_permissions(self):
        if self.action in ("approve", "reject"):
            return [roles.role_permission(*permissions.DECIDE_ROLES)()]
        return super().get_permissions()

    def detail_json(self, pk) -> bytes:
        return JSONRenderer().render(self.get_serializer(self.get_object()).data)

    def _answer(self, review):
        return Response(self.get_serializer(self.get_queryset().get(pk=review.pk)).data)

    @extend_schema(
        summary=_("Approve a review (security role)"),
        description=_(
            "Every checklist item answered and passed. Sensitive-data orders need two approvals by two different "
            "reviewers: the first leaves the review pending; the last needed releases the gate."
        ),
        request=ReviewApproveInputSerializer,
        responses=DECISION_RESPONSES,
    )
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        review = self.get_object()
        data = _parse(ReviewApproveInputSerializer, request.data)
        services.review_approve(review=review, reviewer=request.user, answers=answers_by_position(data["checklist"]))
        return self._answer(review)

    @extend_schema(
        summary=_("Reject a review with findings (security role)"),
        description=_(
            "At least one finding and the steps to redo; they go back to production and the gate reopens for a "
            "new review (the next passage) once they are done."
        ),
        request=ReviewRejectInputSerializer,
        responses=DECISION_RESPONSES,
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        review = self.get_object()
        data = _parse(ReviewRejectInputSerializer, request.data)
        services.review_reject(
            review=review,
            reviewer=request.user,
            findings=data["findings"],
            rework_steps=data["rework_steps"],
            answers=answers_by_position(data.get("checklist")) or None,
        )
        return self._answer(review)
