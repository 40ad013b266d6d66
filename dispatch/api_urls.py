"""The dispatch API under /api/v1/ (API.md "Dispatch")."""

from rest_framework.routers import SimpleRouter

from dispatch.api import JobViewSet, PoolViewSet

# SimpleRouter: no API root view at /api/v1/, which other apps' routes share.
router = SimpleRouter()
router.register("pools", PoolViewSet, basename="api-pool")
router.register("jobs", JobViewSet, basename="api-job")

urlpatterns = router.urls
