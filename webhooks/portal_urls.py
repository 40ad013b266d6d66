from django.urls import path

from webhooks import portal_views

app_name = "client_webhooks"

urlpatterns = [
    path("", portal_views.endpoint_list, name="list"),
    path("<int:pk>/", portal_views.endpoint_page, name="endpoint"),
    path("<int:pk>/disable/", portal_views.endpoint_disable, name="disable"),
    path("deliveries/<int:pk>/resend/", portal_views.delivery_resend, name="resend"),
]
