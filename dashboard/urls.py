"""The operations center and the cross-app pages, at the site's root (no namespace: `home` is every page's way back)."""

from django.urls import path

from dashboard import views

urlpatterns = [
    path("", views.operations_center, name="home"),
    path("live/operations/", views.operations_center_live, name="operations-live"),
    path("plan/", views.plan_page, name="plan"),
    path("search/", views.search_page, name="search"),
    path("clients/<int:pk>/", views.client_detail, name="client"),
    path("orders/<int:pk>/compliance/", views.compliance_record, name="compliance-record"),
]
