from django.urls import path

from notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("unread/", views.unread, name="unread"),
    path("read/", views.mark_all_read, name="read-all"),
    path("<int:pk>/open/", views.notice_open, name="open"),
    path("settings/", views.preferences, name="preferences"),
]
