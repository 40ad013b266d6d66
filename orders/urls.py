"""The staff order pages under /orders/: the list, one order's page, placing an order, and one URL per action."""

from django.urls import path

from orders import views

app_name = "orders"

urlpatterns = [
    path("", views.order_list, name="list"),
    path("new/", views.order_create, name="create"),
    path("<int:pk>/", views.order_detail, name="detail"),
    path("<int:pk>/accept/", views.order_accept, name="accept"),
    path("<int:pk>/reject/", views.order_reject, name="reject"),
    path("<int:pk>/start-production/", views.order_start_production, name="start-production"),
    path("<int:pk>/steps/<int:step_pk>/finish/", views.step_finish, name="finish-step"),
    path("<int:pk>/requirement-changes/", views.order_requirement_change, name="requirement-change"),
    path("<int:pk>/deliver/", views.order_deliver, name="deliver"),
    path("<int:pk>/cancel/", views.order_cancel, name="cancel"),
    path("<int:pk>/tracking-link/renew/", views.tracking_renew, name="tracking-renew"),
    path("<int:pk>/tracking-link/revoke/", views.tracking_revoke, name="tracking-revoke"),
]
