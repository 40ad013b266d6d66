from django.urls import path

from orders import portal_views

app_name = "portal"

urlpatterns = [
    path("", portal_views.portal_home, name="home"),
    path("orders/new/", portal_views.order_new, name="order-new"),
    path("orders/<int:pk>/", portal_views.order_page, name="order"),
    path("orders/<int:pk>/cancel/", portal_views.order_cancel, name="order-cancel"),
    path("orders/<int:pk>/confirm/", portal_views.order_confirm, name="order-confirm"),
    path("orders/<int:pk>/rate/", portal_views.order_rate, name="order-rate"),
    path("orders/<int:pk>/tracking-link/renew/", portal_views.tracking_renew, name="tracking-renew"),
    path("orders/<int:pk>/tracking-link/revoke/", portal_views.tracking_revoke, name="tracking-revoke"),
]
