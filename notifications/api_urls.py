"""The notifications API under /api/v1/ (API.md "Notifications and webhooks")."""

from rest_framework.routers import SimpleRouter

from notifications.api import NoticeViewSet

router = SimpleRouter()
router.register("notifications", NoticeViewSet, basename="api-notice")

urlpatterns = router.urls
