"""The dispatch API under /api/v1/ (API.md "Dispatch"), and the orders' priority action, which moves the order's
jobs too: /api/v1/orders/{id}/priority/ sits beside the orders' router (orders/api_urls.py), whose routes
never match it."""

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from dispatch.api import (
    JobViewSet,
    OrderPriorityView,
    PoolChangeViewSet,
    PoolViewSet,
    ReservationViewSet,
    ScenarioRunViewSet,
    ScenarioViewSet,
)

# SimpleRouter: no API root view at /api/v1/, which other apps' routes share.
router = SimpleRouter()
router.register("pools", PoolViewSet, basename="api-pool")
router.register("jobs", JobViewSet, basename="api-job")
router.register("scenarios", ScenarioViewSet, basename="api-scenario")
router.register("scenario-runs", ScenarioRunViewSet, basename="api-scenario-run")
router.register("reservations", ReservationViewSet, basename="api-reservation")
router.register("pool-changes", PoolChangeViewSet, basename="api-pool-change")

urlpatterns = [
    # The routers' pattern for an id: any id reaches the view, which answers a bad one with a JSON 404 as the
    # orders' own routes do.
    re_path(r"^orders/(?P<pk>[^/.]+)/priority/$", OrderPriorityView.as_view(), name="api-order-priority"),
    *router.urls,
]
