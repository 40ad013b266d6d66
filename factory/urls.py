from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from factory import views

# Apps' URLconfs are named, not imported: the project package imports no app (pyproject.toml's import contracts).
admin.site.site_header = _("AI Factory Control Center")
admin.site.site_title = _("AI Factory admin")

handler403 = "factory.views.permission_denied"
# Under /api/ these answer JSON; elsewhere Django's pages (405s come from DRF's views, JSON already).
handler404 = "factory.views.page_not_found"
handler500 = "factory.views.server_error"

api_v1 = [
    path("auth/token/", views.ObtainToken.as_view(), name="auth-token"),
]

urlpatterns = [
    path("", include("dashboard.urls")),
    path("orders/", include("orders.urls")),
    path("dispatch/", include("dispatch.urls")),
    path("portal/tickets/", include("aftersales.portal_urls")),
    path("portal/statements/", include("statements.portal_urls")),
    path("portal/webhooks/", include("webhooks.portal_urls")),
    path("portal/", include("orders.portal_urls")),
    path("security/", include("security.urls")),
    path("aftersales/", include("aftersales.urls")),
    path("statements/", include("statements.urls")),
    path("track/", include("orders.tracking_urls")),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True, authentication_form=views.SignInForm),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("notifications.i18n_urls")),
    path("notifications/", include("notifications.urls")),
    path("healthz", views.healthz, name="healthz"),
    path("livez", views.livez, name="livez"),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/v1/", include("orders.api_urls")),
    path("api/v1/", include("dispatch.api_urls")),
    path("api/v1/", include("security.api_urls")),
    path("api/v1/", include("aftersales.api_urls")),
    path("api/v1/", include("webhooks.api_urls")),
    path("api/v1/", include("notifications.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger UI's start-up script as a file: the Content Security Policy allows no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    # Last: any other path under /api/ (an unknown route, a non-integer id) is the API's JSON 404, with DEBUG too,
    # whose technical 404 page would otherwise answer HTML.
    re_path(r"^api/", views.api_not_found),
]

if settings.DEBUG:
    # Lets a developer read the error pages as users will see them.
    urlpatterns += [path("__errors__/<int:code>/", views.error_preview)]
