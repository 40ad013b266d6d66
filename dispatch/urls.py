"""The dispatch center's pages under /dispatch/: the center, the jobs list, a page per pool, one URL per action, and
the what-if scenarios (dispatch.scenario_views)."""

from django.urls import path

from dispatch import scenario_views, views

app_name = "dispatch"

urlpatterns = [
    path("", views.center, name="center"),
    path("live/", views.center_live, name="live"),
    path("jobs/", views.job_list, name="jobs"),
    path("fairness/", views.fairness, name="fairness"),
    path("pools/<int:pk>/", views.pool_detail, name="pool"),
    path("pools/<int:pk>/drain/", views.pool_action, {"action": "drain"}, name="pool-drain"),
    path("pools/<int:pk>/offline/", views.pool_action, {"action": "offline"}, name="pool-offline"),
    path("pools/<int:pk>/activate/", views.pool_action, {"action": "activate"}, name="pool-activate"),
    path("pools/<int:pk>/reservations/", views.pool_book, name="pool-book"),
    path("reservations/<int:pk>/cancel/", views.booking_cancel, name="booking-cancel"),
    path("pools/<int:pk>/changes/", views.pool_schedule, name="pool-schedule"),
    path("pool-changes/<int:pk>/cancel/", views.pool_change_cancel, name="pool-change-cancel"),
    path("orders/<int:pk>/priority/", views.order_priority, name="order-priority"),
    path("scenarios/", scenario_views.scenario_list, name="scenarios"),
    path("scenarios/create/", scenario_views.scenario_create, name="scenario-create"),
    path("scenarios/compare/", scenario_views.compare, name="scenario-compare"),
    path("scenarios/<int:pk>/", scenario_views.scenario_detail, name="scenario"),
    path("scenarios/<int:pk>/changes/", scenario_views.scenario_add_change, name="scenario-add-change"),
    path("scenarios/<int:pk>/changes/remove/", scenario_views.scenario_remove_change, name="scenario-remove-change"),
    path("scenarios/<int:pk>/run/", scenario_views.scenario_run_start, name="scenario-run-start"),
    path("scenarios/<int:pk>/archive/", scenario_views.scenario_archive, name="scenario-archive"),
    path("scenarios/runs/<int:pk>/", scenario_views.run_detail, name="scenario-run"),
    path("scenarios/runs/<int:pk>/progress/", scenario_views.run_progress, name="scenario-run-progress"),
    path("scenarios/runs/<int:pk>/promote/", scenario_views.run_promote, name="scenario-run-promote"),
]
