"""The orders API under /api/v1/ (API.md "Orders"), and who the caller is (me/)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from orders.api import MeView, OrderViewSet

# SimpleRouter: no API root view at /api/v1/, which other apps' routes share.
router = SimpleRouter()
router.register("orders", OrderViewSet, basename="api-order")

urlpatterns = [path("me/", MeView.as_view(), name="api-me"), *router.urls]
