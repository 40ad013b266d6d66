"""The orders API under /api/v1/ (API.md "Orders")."""

from rest_framework.routers import SimpleRouter

from orders.api import OrderViewSet

# SimpleRouter: no API root view at /api/v1/, which other apps' routes share.
router = SimpleRouter()
router.register("orders", OrderViewSet, basename="api-order")

urlpatterns = router.urls
