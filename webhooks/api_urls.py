"""The webhooks API under /api/v1/ (API.md "Notifications and webhooks")."""

from rest_framework.routers import SimpleRouter

from webhooks.api import DeliveryViewSet, EndpointViewSet

router = SimpleRouter()
router.register("webhooks", EndpointViewSet, basename="api-webhook")
router.register("webhook-deliveries", DeliveryViewSet, basename="api-webhook-delivery")

urlpatterns = router.urls
