"""Everything under /api/ (mounted by config/urls.py): the versioned endpoints, the OpenAPI
schema, the docs page, and a JSON 404 for any other /api/ URL."""

from __future__ import annotations

from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from automations.api.automations import AutomationViewSet
from automations.api.channels import ChannelViewSet
from automations.api.connections import ConnectionViewSet
from automations.api.errors import api_not_found
from automations.api.events import EventViewSet
from automations.api.governance import ApprovalViewSet, AuditEventViewSet, UsageView
from automations.api.me import MeView
from automations.api.notifications import NotificationViewSet
from automations.api.runs import RerunBatchViewSet, RunViewSet
from automations.api.skills import SkillViewSet

app_name = "api"

# The org's slug (accounts.Organization.slug); OrgScoped resolves and checks it.
ORG = r"orgs/(?P<org>[-a-zA-Z0-9_]+)"

# One line per org resource (URL names api:<basename>-list, -detail, -<action>).
router = SimpleRouter()
router.register(rf"{ORG}/automations", AutomationViewSet, basename="automation")
router.register(rf"{ORG}/runs", RunViewSet, basename="run")
router.register(rf"{ORG}/rerun-batches", RerunBatchViewSet, basename="rerun-batch")
router.register(rf"{ORG}/skills", SkillViewSet, basename="skill")
router.register(rf"{ORG}/channels", ChannelViewSet, basename="channel")
router.register(rf"{ORG}/connections", ConnectionViewSet, basename="connection")
router.register(rf"{ORG}/events", EventViewSet, basename="event")
router.register(rf"{ORG}/notifications", NotificationViewSet, basename="notification")
router.register(rf"{ORG}/approvals", ApprovalViewSet, basename="approval")
router.register(rf"{ORG}/audit-events", AuditEventViewSet, basename="audit-event")

v1 = [
    path("me/", MeView.as_view(), name="me"),
    re_path(rf"^{ORG}/usage/$", UsageView.as_view(), name="usage"),
    *router.urls,
]

urlpatterns = [
    path("v1/", include(v1)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view loads its start-up script from a URL of its own: no inline script, so
    # the page passes the CSP (config/security_headers.py).
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    # [\s\S], not ".": a path with a newline in it (%0A) is still an API path.
    re_path(r"^[\s\S]*$", api_not_found),
]
