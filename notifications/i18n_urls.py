from django.urls import path

from notifications import views

# In place of django.conf.urls.i18n: the same switch, which also remembers a signed-in person's language.
urlpatterns = [path("setlang/", views.set_language, name="set_language")]
