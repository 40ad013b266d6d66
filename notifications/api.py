"""The notifications API (API.md "Notifications and webhooks"), under /api/v1/notifications/.

Every signed-in person, client or staff, reads and marks their own notices, and only theirs: another person's
notice answers 404, as an unknown id does. Each operation finds its notices through notifications.selectors and
marks them through notifications.services; a notice's title and line are written in the caller's language.
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from notifications import selectors, services
from notifications.filters import NoticeFilter
from notifications.models import Notice
from notifications.serializers import MarkedReadSerializer, NoticeSerializer


@extend_schema_view(
    list=extend_schema(
        summary=_("Your notices"),
        description=_(
            "The caller's own notices, newest first (or `sort=oldest`); `unread=true` for those not read yet. Each "
            "notice's `title` and `line` are in the caller's language (Accept-Language)."
        ),
        responses=NoticeSerializer(many=True),
    ),
)
class NoticeViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    permission_classes = [IsAuthenticated]
    serializer_class = NoticeSerializer
    filterset_class = NoticeFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Notice.objects.none()
        return selectors.inbox(self.request.user)

    @extend_schema(
        summary=_("Mark a notice read"),
        description=_(
            "Answers with the notice, read. A notice read already keeps the time it was first read; another "
            "person's notice answers 404."
        ),
        request=None,
        responses=NoticeSerializer,
    )
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        notice = selectors.notice_of(user=request.user, pk=pk)
        services.notices_mark_read(user=request.user, notice_ids=[notice.pk])
        return Response(NoticeSerializer(selectors.notice_of(user=request.user, pk=notice.pk)).data)

    @extend_schema(
        summary=_("Mark all your notices read"),
        description=_("Every unread notice of the caller is read now; answers how many there were."),
        request=None,
        responses=MarkedReadSerializer,
    )
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request):
        return Response(MarkedReadSerializer({"marked": services.notices_mark_read(user=request.user)}).data)
