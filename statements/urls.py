from django.urls import path

from statements import views

app_name = "statements"

urlpatterns = [
    path("<int:pk>/", views.statement_detail, name="detail"),
    path("<int:pk>/pdf/", views.statement_pdf, name="pdf"),
    path("<int:pk>/csv/", views.statement_csv, name="csv"),
    path("issue/<int:pk>/", views.statement_issue, name="issue"),
]
