"""The security API (API.md "Security"): reviews, and their approval or rejection by the security role."""

import django_filters
from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from factory import roles
from factory.catalog.models import Workshop
from security import selectors, services
from security.models import Approval, Review, ReviewStatus
from security.serializers import (
    ApproveInputSerializer,
    RejectInputSerializer,
    ReviewSerializer,
    answers_by_position,
)


class ReviewFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=ReviewStatus.choices)
    workshop = django_filters.ChoiceFilter(choices=Workshop.choices)
    order = django_filters.NumberFilter(field_name="order_id")

    class Meta:
        model = Review
        fields = ["status", "workshop", "order"]


class ReviewViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Reading: security and operations. Deciding: the security role only."""

    serializer_class = ReviewSerializer
    filterset_class = ReviewFilter
    permission_classes = [roles.role_permission(roles.SECURITY, roles.OPERATIONS)]

    def get_queryset(self):
        return (
            selectors.reviews()
            .prefetch_related(
                "answers", "findings", Prefetch("approvals", queryset=Approval.objects.select_related("reviewer"))
            )
            .order_by("opened_at", "id")
        )

    def get_permissions(self):
        if self.action in ("approve", "reject"):
            return [roles.role_permission(roles.SECURITY)()]
        return super().get_permissions()

    def _answer(self, pk):
        return Response(self.get_serializer(self.get_queryset().get(pk=pk)).data)

    @extend_schema(summary=_("Approve a review (security)"), request=ApproveInputSerializer, responses=ReviewSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        review = self.get_object()
        data = ApproveInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.review_approve(
            review=review, reviewer=request.user, answers=answers_by_position(data.validated_data["checklist"])
        )
        return self._answer(review.pk)

    @extend_schema(
        summary=_("Reject a review with findings (security)"), request=RejectInputSerializer, responses=ReviewSerializer
    )
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        review = self.get_object()
        data = RejectInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.review_reject(
            review=review,
            reviewer=request.user,
            findings=data.validated_data["findings"],
            rework_steps=data.validated_data["rework_steps"],
            answers=answers_by_position(data.validated_data.get("checklist")),
        )
        return self._answer(review.pk)
