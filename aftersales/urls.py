"""The staff after-sales pages under /aftersales/: the ticket queue, opening a ticket, one ticket and its actions."""

from django.urls import path

from aftersales import views

app_name = "aftersales"

urlpatterns = [
    path("tickets/", views.ticket_queue, name="tickets"),
    path("tickets/new/", views.ticket_new, name="new"),
    path("tickets/<int:pk>/", views.ticket_page, name="ticket"),
    path("tickets/<int:pk>/messages/", views.ticket_message, name="message"),
    path("tickets/<int:pk>/status/", views.ticket_status, name="status"),
    path("tickets/<int:pk>/severity/", views.ticket_severity, name="severity"),
    path("tickets/<int:pk>/follow-up-order/", views.ticket_follow_up, name="follow-up"),
]
