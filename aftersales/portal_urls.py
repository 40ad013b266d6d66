from django.urls import path

from aftersales import portal_views

app_name = "client_tickets"

urlpatterns = [
    path("", portal_views.ticket_list, name="list"),
    path("new/", portal_views.ticket_new, name="new"),
    path("<int:pk>/", portal_views.ticket_page, name="ticket"),
    path("<int:pk>/messages/", portal_views.ticket_message, name="message"),
    path("<int:pk>/rate/", portal_views.ticket_rate, name="rate"),
    path("<int:pk>/status/", portal_views.ticket_status, name="status"),
]
