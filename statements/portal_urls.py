from django.urls import path

from statements import views

app_name = "client_statements"

urlpatterns = [path("", views.client_statements, name="list")]
