from django.urls import path

from security import views

app_name = "security"

urlpatterns = [
    path("reviews/", views.review_queue, name="reviews"),
    path("reviews/history/", views.review_history, name="history"),
    path("reviews/<int:pk>/", views.review_page, name="review"),
    path("reviews/<int:pk>/approve/", views.review_approve, name="approve"),
    path("reviews/<int:pk>/reject/", views.review_reject, name="reject"),
]
