from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from config.health import ping, status
from webhooks.views import ats_webhook

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("status", status, name="status"),
    path("ping", ping, name="ping"),
    path(
        "webhooks/ats/<str:provider>/<str:connection_id>/",
        ats_webhook,
        name="ats-webhook",
    ),
    path("", include("automations.urls")),
    path("", include("delivery.urls")),
]
