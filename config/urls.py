from django.contrib import admin
from django.urls import include, path

from config.health import ping
from webhooks.views import ats_webhook

urlpatterns = [
    # Usage by day for org admins (automations/admin_usage.py), ahead of the admin's own
    # catch-all. Included by name: config imports no app.
    path("admin/usage/", include("automations.admin_usage")),
    path("admin/", admin.site.urls),
    # /status: the parts, for operators and monitors (automations/ops/).
    path("", include("automations.ops.urls")),
    path("ping", ping, name="ping"),
    # Prometheus metrics (automations/metrics_view.py): included by name, config imports no app.
    path("metrics", include("automations.metrics_view")),
    path(
        "webhooks/ats/<str:provider>/<str:connection_id>/",
        ats_webhook,
        name="ats-webhook",
    ),
    # The JSON API, its OpenAPI schema and docs (automations/api/).
    path("api/", include("automations.api.urls")),
    path("", include("automations.urls")),
    # The recruiters' dashboard (automations/dashboard/): "/" is its home.
    path("", include("automations.dashboard.urls")),
    path("", include("delivery.urls")),
]
