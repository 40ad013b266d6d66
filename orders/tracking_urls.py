from django.urls import path

from orders import tracking_views

app_name = "tracking"

urlpatterns = [
    path("<str:token>/", tracking_views.order_tracking, name="order"),
]
