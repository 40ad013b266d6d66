"""The dispatch center's pages under /dispatch/: the center, the jobs list, a page per pool, one URL per action."""

from django.urls import path

from dispatch import views

app_name = "dispatch"

urlpatterns = [
    path("", views.center, name="center"),
    path("live/", views.center_live, name="live"),
    path("jobs/", views.job_list, name="jobs"),
    path("pools/<int:pk>/", views.pool_detail, name="pool"),
    path("pools/<int:pk>/drain/", views.pool_action, {"action": "drain"}, name="pool-drain"),
    path("pools/<int:pk>/offline/", views.pool_action, {"action": "offline"}, name="pool-offline"),
    path("pools/<int:pk>/activate/", views.pool_action, {"action": "activate"}, name="pool-activate"),
    path("orders/<int:pk>/priority/", views.order_priority, name="order-priority"),
]
