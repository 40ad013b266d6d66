"""The after-sales API under /api/v1/ (API.md "After-sales")."""

from rest_framework.routers import SimpleRouter

from aftersales.api import TicketViewSet

router = SimpleRouter()
router.register("tickets", TicketViewSet, basename="api-ticket")

urlpatterns = router.urls
