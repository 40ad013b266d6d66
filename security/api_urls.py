from rest_framework.routers import SimpleRouter

from security.api import ReviewViewSet

router = SimpleRouter()
router.register("reviews", ReviewViewSet, basename="api-review")

urlpatterns = router.urls
